using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using Pdnn.Attacks.Twins;
using Pdnn.MLNet.Execution;
using Pdnn.Torch.Devices;
using static TorchSharp.torch;

namespace Pdnn.Evaluation.MLNet;

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
    /// <summary>
    /// Images per unit of work: batch b holds the sample's images b·BatchSize … (b+1)·BatchSize − 1, and each unit's random
    /// draws derive from (seed, attack, b). Part of what decides the outcomes.
    /// </summary>
    public int BatchSize { get; init; } = 100;
    /// <summary>Called as work proceeds: (attack, images done, images in all).</summary>
    public Action<string, int, int>? Progress { get; init; }
    /// <summary>A file to write the per-image outcomes to as each unit of work finishes (see <see cref="OutcomeJournal"/>); null: none.</summary>
    public string? Journal { get; init; }
    /// <summary>Continue the <see cref="Journal"/> if there is one (running only the units it lacks); else a journal is started afresh.</summary>
    public bool Resume { get; init; }
    /// <summary>Evaluate only this shard's batches of the sample (batch b belongs to shard b mod Count); null: all.</summary>
    public Shard? Shard { get; init; }
}

/// <summary>Shard <paramref name="Index"/> of <paramref name="Count"/> (0-based): the batches b of the sample with b mod Count = Index.</summary>
public sealed record Shard(int Index, int Count)
{
    public bool Holds(int batch) => batch % Count == Index;

    /// <summary>"i/n", e.g. "0/4".</summary>
    public static Shard Parse(string text)
    {
        var parts = text.Split('/');
        if (parts.Length == 2 && int.TryParse(parts[0], out int i) && int.TryParse(parts[1], out int n) && n >= 1 && i >= 0 && i < n) return new Shard(i, n);
        throw new ArgumentException($"--shard '{text}': expected i/n with 0 <= i < n, e.g. 0/4.");
    }

    public override string ToString() => $"{Index}/{Count}";
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
        if (this.options.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(options), $"BatchSize must be at least 1, got {this.options.BatchSize}.");
        if (this.options.Shard is { } shard && (shard.Count < 1 || shard.Index < 0 || shard.Index >= shard.Count))
            throw new ArgumentOutOfRangeException(nameof(options), $"Shard {shard}: expected 0 <= index < count.");
        var device = TorchDevice.Resolve(this.options.Device);
        Device = device.Device;
        Hardware = Pdnn.Torch.Devices.Hardware.Describe(device);
        Twin = ChainTwin.FromChain(model, Device);
        deployed = new DeployedScorer(model, Twin.InputColumn, Twin.Shape);
        Progress = this.options.Progress;
    }

    public ChainTwin Twin { get; }
    /// <summary>Called as work proceeds: (attack, images done, images in all); starts as the options' callback.</summary>
    public Action<string, int, int>? Progress { get; set; }
    public Device Device { get; }
    /// <summary>What this evaluator computes on, in words: recorded in its journal for each sitting that adds to it.</summary>
    public string Hardware { get; }
    /// <summary>The report of the last <see cref="Evaluate"/> or <see cref="Transform"/>.</summary>
    public EvaluationReport? LastReport { get; private set; }
    /// <summary>
    /// Positions, in the input view, of the rows of the last evaluation's sample, in sample order: the row of the image
    /// with id i (<see cref="ImageOutcome.Index"/>) is LastRows[i]. With a shard, only some of them were evaluated.
    /// </summary>
    public IReadOnlyList<long> LastRows { get; private set; } = [];
    /// <summary>The key of the last evaluation: a hash of everything that decides its outcomes (see <see cref="OutcomeJournal"/>).</summary>
    public string LastKey { get; private set; } = "";

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

    IReadOnlyList<string> AttackNames() => CreateAttacks().Select(a => a.Name).ToList();

    /// <summary>
    /// The attacks as this evaluator runs them: white-box ones through the twin, transfer ones on the twin's classifier
    /// alone, query-only ones against the deployed chain (or the twin).
    /// </summary>
    public IReadOnlyList<NamedAttack> CreateAttacks()
    {
        Func<Tensor, Tensor> queryOnly = options.QueryDeployedChain ? deployed.LogProbabilities : Twin.Logits;
        return options.Attacks.Select(a => AttackSuite.Create(a, options.Settings, Twin.Logits, queryOnly, Twin.Classifier)).ToList();
    }

    /// <summary>Per-image outcomes as a data view (see the class summary); the summary is in <see cref="LastReport"/>.</summary>
    public IDataView Transform(IDataView input) => OutcomeView.Create(Evaluate(input), LastRows, AttackNames(), Twin.ClassNames);

    /// <summary>
    /// Runs every attack on the (sampled) rows of <paramref name="input"/> (only the shard's, with a shard) and returns the
    /// report; with a journal, writes each unit's outcomes as it finishes and, resuming, runs only the units it lacks.
    /// </summary>
    public EvaluationReport Evaluate(IDataView input)
    {
        GetOutputSchema(input.Schema);
        // Only the sampled rows are read (the same draw as ImageDataset.Sample, so the CLI picks the same images), into a
        // temporary file; each unit of work reads its batch from it, so memory does not grow with the sample.
        var (sample, sampleLabels, rows) = LabelReader.Read(input, options.ImageColumn, options.LabelColumn, Twin.Shape, Twin.ClassNames,
                                                            options.SampleSize, options.Settings.Seed);
        using var disposeSample = sample;
        LastKey = Key(sample, sampleLabels);
        // Ids are positions in the sample; a shard keeps whole batches of them.
        var ids = Enumerable.Range(0, rows.Length).Where(i => options.Shard?.Holds(i / options.BatchSize) != false).ToArray();
        var shape = Twin.Shape;
        var buffer = new float[Math.Min(options.BatchSize, Math.Max(1, ids.Length)) * shape.Size]; // one batch, reused
        (Tensor, Tensor) Read(int start, int count)
        {
            var held = ids.AsSpan(start, count);
            var pixels = buffer.AsSpan(0, count * shape.Size);
            sample.Read(held, pixels);
            var x = empty([count, shape.Channels, shape.Height, shape.Width], ScalarType.Float32);
            x.bytes = MemoryMarshal.AsBytes(pixels); // a copy into the tensor's own memory
            var y = tensor(held.ToArray().Select(i => sampleLabels[i]).ToArray());
            return (x.to(Device), y.to(Device));
        }
        using var journal = options.Journal is { } path ? OutcomeJournal.Open(path, LastKey, options.Resume, Hardware) : null;
        var units = new EvaluationUnits
        {
            Ids = ids.Select(i => (long)i).ToList(), BatchSize = options.BatchSize, Seed = options.Settings.Seed, Journal = journal,
            Reseed = options.QueryDeployedChain ? deployed.StartUnit : null, SkipMisclassified = options.Settings.SkipMisclassified,
        };
        LastReport = RobustnessEvaluator.Run(Twin.Logits, ids.Length, Read, CreateAttacks(), Twin.Randomised, units, Progress);
        LastRows = rows;
        return LastReport;
    }

    /// <summary>
    /// SHA-256 of what decides the outcomes: each stage (kind, parameters, the SHA-256 of its ONNX model), the attacks and
    /// their budgets, the batch size and query target, and the sampled images and labels. Not the shard, nor the device.
    /// </summary>
    string Key(SampleFile sample, long[] sampleLabels)
    {
        var stages = ChainTwin.Flatten(model).OfType<BatchedImageTransformer>().Select(t => t.Describe()).Select(d => new
        {
            d.Kind, d.BatchSize, Parameters = d.Parameters.OrderBy(p => p.Key).ToList(),
            Model = d.Model is { } file ? Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(file))) : null,
        });
        var text = JsonSerializer.Serialize(new { Stages = stages, options.Attacks, options.Settings, options.BatchSize, options.QueryDeployedChain });
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes(text));
        foreach (var chunk in sample.Chunks()) hash.AppendData(MemoryMarshal.AsBytes(chunk.Span)); // the images in sample order, as one array
        hash.AppendData(MemoryMarshal.AsBytes(sampleLabels.AsSpan()));
        return Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant();
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
