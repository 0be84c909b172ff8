using Microsoft.ML;
using Microsoft.ML.Data;
using Pdnn.Attacks.Evaluation;
using Pdnn.Attacks.Twins;
using Pdnn.Torch.Devices;
using static TorchSharp.torch;

namespace Pdnn.Attacks.MLNet;

/// <summary>What an <see cref="AttackEvaluator"/> runs, and on which rows.</summary>
public sealed record AttackEvaluatorOptions
{
    public string ImageColumn { get; init; } = "Image";
    /// <summary>The true class: text (a class name), a key, or an integer class index.</summary>
    public string LabelColumn { get; init; } = "Label";
    /// <summary>Attack names (see <see cref="AttackSuite.Names"/>); default: the paper's four.</summary>
    public IReadOnlyList<string> Attacks { get; init; } = AttackSuite.Paper;
    public AttackSettings Settings { get; init; } = new();
    /// <summary>Evaluate n uniformly random rows (seed <see cref="AttackSettings.Seed"/>), as the paper does; null: every row.</summary>
    public int? SampleSize { get; init; }
    /// <summary>Query-only attacks query the deployed ML.NET chain (true) or the twin (false, faster on a GPU).</summary>
    public bool QueryDeployedChain { get; init; } = true;
    /// <summary>TorchSharp device of the twin: auto, cpu, cuda or cuda:N.</summary>
    public string Device { get; init; } = "auto";
    public int BatchSize { get; init; } = 100;
    /// <summary>Called as work proceeds: (attack, images done, images in all).</summary>
    public Action<string, int, int>? Progress { get; init; }
}

/// <summary>
/// The robustness evaluator as an ML.NET transformer: given a fitted φDNN (or baseline, or plain classifier) chain, it
/// turns an IDataView of images and labels into an IDataView of per-image outcomes — one row per evaluated image with the
/// clean prediction, and, per attack (vector slots named after the attacks), the adversarial prediction, whether it is
/// still correct, the L∞ and L2 norms of the perturbation and the queries spent; plus whether the image survived every
/// attack. The summary (accuracies with Wilson intervals, worst case, sanity flags) is <see cref="LastReport"/>.
/// White-box attacks differentiate the chain's <see cref="ChainTwin"/>; query-only ones query the chain itself.
/// An evaluation is not a pipeline stage: it reads every row, so it is not a row-to-row mapper and is not saved.
/// </summary>
public sealed class AttackEvaluator : ITransformer, IDisposable
{
    readonly ITransformer model;
    readonly AttackEvaluatorOptions options;
    readonly DeployedScorer deployed;

    public AttackEvaluator(ITransformer model, AttackEvaluatorOptions? options = null)
    {
        this.model = model;
        this.options = options ?? new AttackEvaluatorOptions();
        foreach (var name in this.options.Attacks) AttackSuite.Parse(name);
        if (this.options.SampleSize is < 1) throw new ArgumentOutOfRangeException(nameof(options), $"SampleSize must be at least 1, got {this.options.SampleSize}.");
        Device = TorchDevice.Resolve(this.options.Device).Device;
        Twin = ChainTwin.FromChain(model, Device);
        deployed = new DeployedScorer(model, Twin.InputColumn, Twin.Shape);
        Progress = this.options.Progress;
    }

    public ChainTwin Twin { get; }
    /// <summary>Called as work proceeds: (attack, images done, images in all); starts as the options' callback.</summary>
    public Action<string, int, int>? Progress { get; set; }
    public Device Device { get; }
    /// <summary>The report of the last <see cref="Evaluate"/> or <see cref="Transform"/>.</summary>
    public EvaluationReport? LastReport { get; private set; }
    /// <summary>Positions, in the input view, of the rows the last evaluation used (in evaluation order).</summary>
    public IReadOnlyList<long> LastRows { get; private set; } = [];

    public bool IsRowToRowMapper => false;

    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) =>
        throw new NotSupportedException("AttackEvaluator reads every row before it writes one; use Transform or Evaluate.");

    void ICanSaveModel.Save(ModelSaveContext ctx) =>
        throw new NotSupportedException("AttackEvaluator is an evaluation, not a model stage; save the evaluated chain instead (SavePdnn).");

    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        Twin.Shape.CheckColumn(inputSchema, options.ImageColumn);
        LabelReader.Check(inputSchema, options.LabelColumn);
        return OutcomeView.Schema(AttackNames());
    }

    IReadOnlyList<string> AttackNames() =>
        options.Attacks.Select(a => AttackSuite.Create(a, options.Settings, x => x, x => x).Name).ToList();

    /// <summary>Per-image outcomes as a data view (see the class summary); the summary is in <see cref="LastReport"/>.</summary>
    public IDataView Transform(IDataView input) => OutcomeView.Create(Evaluate(input), LastRows, AttackNames(), Twin.ClassNames);

    /// <summary>Runs every attack on the (sampled) rows of <paramref name="input"/> and returns the report.</summary>
    public EvaluationReport Evaluate(IDataView input)
    {
        GetOutputSchema(input.Schema);
        // Only the sampled rows are read and kept (the same draw as ImageDataset.Sample, so the CLI picks the same images).
        var (selected, labels, rows) = LabelReader.Read(input, options.ImageColumn, options.LabelColumn, Twin.Shape, Twin.ClassNames,
                                                        options.SampleSize, options.Settings.Seed);
        using var x = tensor(selected, [rows.Length, Twin.Shape.Channels, Twin.Shape.Height, Twin.Shape.Width]).to(Device);
        using var y = tensor(labels).to(Device);
        manual_seed(options.Settings.Seed);
        Func<Tensor, Tensor> queryOnly = options.QueryDeployedChain ? deployed.LogProbabilities : Twin.Logits;
        var attacks = options.Attacks.Select(a => AttackSuite.Create(a, options.Settings, Twin.Logits, queryOnly)).ToList();
        LastReport = RobustnessEvaluator.Run(Twin.Logits, x, y, attacks, Twin.Randomised, options.BatchSize, Progress);
        LastRows = rows;
        return LastReport;
    }

    public void Dispose() => Twin.Dispose();
}

/// <summary>Extension methods in ML.NET's style.</summary>
public static class AttackEvaluatorCatalog
{
    /// <summary>An evaluator of <paramref name="model"/>'s robustness; see <see cref="AttackEvaluator"/>.</summary>
    public static AttackEvaluator EvaluateRobustness(this TransformsCatalog catalog, ITransformer model, AttackEvaluatorOptions? options = null) =>
        new(model, options);
}
