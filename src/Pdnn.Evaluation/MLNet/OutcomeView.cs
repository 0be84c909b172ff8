using Microsoft.ML;
using Microsoft.ML.Data;

namespace Pdnn.Evaluation.MLNet;

/// <summary>
/// The per-image outcomes of an evaluation as an IDataView: one row per image; per-attack values are vectors whose slots
/// are named after the attacks (ML.NET's SlotNames annotation), so <c>GetColumn&lt;bool[]&gt;("Correct")</c> gives, per
/// image, the outcome of every attack in order.
/// </summary>
static class OutcomeView
{
    sealed class Row
    {
        public long Row_ { get; set; }
        public string Label { get; set; } = "";
        public string CleanPrediction { get; set; } = "";
        public bool CleanCorrect { get; set; }
        public int[] AdversarialPrediction { get; set; } = [];
        public bool[] Correct { get; set; } = [];
        public float[] Linf { get; set; } = [];
        public float[] L2 { get; set; } = [];
        public long[] Queries { get; set; } = [];
        public bool WorstCaseCorrect { get; set; }
    }

    static readonly MLContext Ml = new(seed: 0);

    static SchemaDefinition Definition(IReadOnlyList<string> attacks)
    {
        var definition = SchemaDefinition.Create(typeof(Row));
        definition[nameof(Row.Row_)].ColumnName = "Row";
        var slotNames = new VBuffer<ReadOnlyMemory<char>>(attacks.Count, attacks.Select(a => a.AsMemory()).ToArray());
        var slotType = new VectorDataViewType(TextDataViewType.Instance, attacks.Count);
        foreach (var (name, item) in new (string, PrimitiveDataViewType)[]
        {
            (nameof(Row.AdversarialPrediction), NumberDataViewType.Int32), (nameof(Row.Correct), BooleanDataViewType.Instance),
            (nameof(Row.Linf), NumberDataViewType.Single), (nameof(Row.L2), NumberDataViewType.Single), (nameof(Row.Queries), NumberDataViewType.Int64),
        })
        {
            definition[name].ColumnType = new VectorDataViewType(item, attacks.Count);
            definition[name].AddAnnotation("SlotNames", slotNames, slotType);
        }
        return definition;
    }

    public static DataViewSchema Schema(IReadOnlyList<string> attacks) =>
        Ml.Data.LoadFromEnumerable(Array.Empty<Row>(), Definition(attacks)).Schema;

    public static IDataView Create(EvaluationReport report, IReadOnlyList<long> rows, IReadOnlyList<string> attacks, IReadOnlyList<string> classNames)
    {
        var byImage = report.Outcomes.GroupBy(o => o.Index).OrderBy(g => g.Key).Select(g =>
        {
            var list = attacks.Select(a => g.Single(o => o.Attack == a)).ToList();
            var first = list[0];
            return new Row
            {
                Row_ = rows[first.Index], // the image's id is its position in the sample
                Label = classNames[(int)first.Label],
                CleanPrediction = classNames[(int)first.CleanPrediction],
                CleanCorrect = first.CleanPrediction == first.Label,
                AdversarialPrediction = list.Select(o => (int)o.AdversarialPrediction).ToArray(),
                Correct = list.Select(o => o.Correct).ToArray(),
                Linf = list.Select(o => (float)o.LinfNorm).ToArray(),
                L2 = list.Select(o => (float)o.L2Norm).ToArray(),
                Queries = list.Select(o => o.Queries).ToArray(),
                WorstCaseCorrect = first.CleanPrediction == first.Label && list.All(o => o.Correct),
            };
        }).ToList();
        return Ml.Data.LoadFromEnumerable(byImage, Definition(attacks));
    }
}
