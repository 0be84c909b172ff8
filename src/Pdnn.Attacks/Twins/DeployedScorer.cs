using Microsoft.ML;
using Microsoft.ML.Data;
using Pdnn.MLNet.Execution;
using static TorchSharp.torch;

namespace Pdnn.Attacks.Twins;

/// <summary>
/// The deployed ML.NET chain as a query-only model for black-box attacks (differential evolution, Square): each call
/// turns a batch of images into an IDataView, runs the fitted chain (ONNX Runtime, batched, its own randomness) and
/// returns log(Score), so softmax of the result gives back the chain's probabilities. No gradient flows through it.
/// </summary>
public sealed class DeployedScorer(ITransformer chain, string imageColumn, ImageShape shape, string scoreColumn = "Score")
{
    static readonly MLContext Ml = new(seed: 0);

    /// <summary>Images evaluated so far.</summary>
    public long Queries { get; private set; }

    /// <summary>
    /// Starts the chain's random stages at calls of their own for unit <paramref name="unit"/> (a seed), so that what they
    /// draw in it does not depend on the queries made before it (a resumed or sharded evaluation draws the same).
    /// </summary>
    public void StartUnit(int unit)
    {
        foreach (var stage in ChainTwin.Flatten(chain).OfType<BatchedImageTransformer>()) stage.ContinueCallsFrom((long)unit << 24);
    }

    sealed class Row
    {
        public float[] Image { get; set; } = [];
    }

    public Tensor LogProbabilities(Tensor x)
    {
        int n = (int)x.shape[0], size = shape.Size;
        var values = x.detach().cpu().to(ScalarType.Float32).contiguous().data<float>().ToArray();
        var rows = Enumerable.Range(0, n).Select(i => new Row { Image = values[(i * size)..((i + 1) * size)] });
        var schema = SchemaDefinition.Create(typeof(Row));
        schema[nameof(Row.Image)].ColumnName = imageColumn;
        schema[nameof(Row.Image)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, size);
        var scored = chain.Transform(Ml.Data.LoadFromEnumerable(rows, schema));
        if (scored.Schema.GetColumnOrNull(scoreColumn) is not { } column)
            throw new InvalidOperationException($"the chain has no '{scoreColumn}' column to read probabilities from.");
        var scores = new List<float>(n * 10);
        using (var cursor = scored.GetRowCursor([column]))
        {
            var getter = cursor.GetGetter<VBuffer<float>>(column);
            var buffer = default(VBuffer<float>);
            while (cursor.MoveNext())
            {
                getter(ref buffer);
                // log in managed code, floored so that a probability of 0 gives a finite logit.
                foreach (var v in buffer.DenseValues()) scores.Add(MathF.Log(Math.Max(v, 1e-30f)));
            }
        }
        Queries += n;
        return tensor(scores.ToArray(), [n, scores.Count / Math.Max(1, n)]).to(x.device);
    }
}
