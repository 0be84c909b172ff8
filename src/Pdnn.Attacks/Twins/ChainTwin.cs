using Microsoft.ML;
using Pdnn.MLNet.Execution;
using Pdnn.MLNet.Transforms;
using Pdnn.Onnx.Import;
using Pdnn.Torch.Models.Recreation;
using Pdnn.Torch.Training.Recreation;
using static TorchSharp.torch;

namespace Pdnn.Attacks.Twins;

/// <summary>One stage of a twin: its forward pass, and how gradients cross it.</summary>
public sealed record TwinStage(string Kind, Func<Tensor, Tensor> Forward, bool Randomised, string Backward);

/// <summary>
/// The white-box twin of a fitted φDNN (or baseline) ML.NET chain: the same stages as one differentiable TorchSharp
/// function, built from the chain itself. Model stages (SuperResolve, MaskedInpaintAggregate, RobustClassify) run the
/// very ONNX files the chain runs, as TorchSharp operations (<see cref="OnnxTorchGraph"/>); NoisyCorrupt draws the same
/// noise distribution from torch's RNG inside the forward pass (so EOT can average over it); the non-differentiable
/// pre-processing stages (feature squeezing, median smoothing, JPEG) run the deployed stage's own code on the forward
/// pass and the identity on the backward pass (BPDA). Stages of other kinds are allowed only before the first Pdnn stage
/// (loading, resizing, pixel extraction).
/// </summary>
public sealed class ChainTwin : IDisposable
{
    readonly List<IDisposable> owned = [];

    ChainTwin(List<TwinStage> stages, string inputColumn, ImageShape shape, IReadOnlyList<string> classNames, Device device)
    {
        Stages = stages; InputColumn = inputColumn; Shape = shape; ClassNames = classNames; Device = device;
    }

    public IReadOnlyList<TwinStage> Stages { get; }
    public string InputColumn { get; }
    public ImageShape Shape { get; }
    public IReadOnlyList<string> ClassNames { get; }
    /// <summary>Where the stages' weights live: images given to <see cref="Logits"/> must be there too.</summary>
    public Device Device { get; }
    /// <summary>True when a stage draws fresh randomness at every call: evaluate with EOT.</summary>
    public bool Randomised => Stages.Any(s => s.Randomised);
    /// <summary>A one-line account of the stages and their backward passes.</summary>
    public string Description => string.Join(" → ", Stages.Select(s => $"{s.Kind} ({s.Backward})"));

    /// <summary>Logits of the whole chain for N x C x H x W images in [0,1].</summary>
    public Tensor Logits(Tensor x) => Stages.Aggregate(x, (value, stage) => stage.Forward(value));

    /// <summary>
    /// The chain's classifier C alone (its last stage, RobustClassify), without the recreation or pre-processing in front of
    /// it: what a transfer ("grey-box") attack differentiates before its images go through the whole chain.
    /// </summary>
    public Func<Tensor, Tensor> Classifier => Stages[^1].Forward;

    /// <summary>What the classifier sees: every stage but the last (the recreation, for a φDNN).</summary>
    public Tensor Recreate(Tensor x) => Stages.SkipLast(1).Aggregate(x, (value, stage) => stage.Forward(value));

    /// <summary>The twin of <paramref name="model"/> (a fitted chain or a single stage) on <paramref name="device"/>.</summary>
    public static ChainTwin FromChain(ITransformer model, Device device)
    {
        var transformers = Flatten(model).ToList();
        int first = transformers.FindIndex(t => t is BatchedImageTransformer);
        if (first < 0) throw new ArgumentException("the model has no Pdnn stage (RobustClassify at least); there is nothing to attack.", nameof(model));
        var twin = new List<TwinStage>();
        var owned = new List<IDisposable>();
        var pdnn = transformers.Skip(first).Select(t => t as BatchedImageTransformer
            ?? throw new NotSupportedException($"stage {t.GetType().Name} follows a Pdnn stage; the twin can only differentiate Pdnn stages (put other stages before them).")).ToList();
        string column = pdnn[0].InputColumn;
        for (int i = 0; i < pdnn.Count; i++)
        {
            var stage = pdnn[i];
            if (stage.InputColumn != column)
                throw new NotSupportedException($"stage {i + 1} ({stage.GetType().Name}) reads column '{stage.InputColumn}', not '{column}' written by the stage before it; the twin follows one image column.");
            bool last = i == pdnn.Count - 1;
            if (stage is RobustClassifyTransformer != last)
                throw new NotSupportedException(last ? $"the chain ends with {stage.GetType().Name}; a φDNN ends with RobustClassify." : "RobustClassify must be the last stage.");
            twin.Add(Twin(stage, device, owned));
            if (stage is ImageToImageTransformer image) column = image.OutputColumn;
        }
        var classNames = ((RobustClassifyTransformer)pdnn[^1]).ClassNames;
        var result = new ChainTwin(twin, pdnn[0].InputColumn, pdnn[0].Shape, classNames, device);
        result.owned.AddRange(owned);
        return result;
    }

    /// <summary>The transformers of a fitted chain, nested chains opened, in order.</summary>
    public static IEnumerable<ITransformer> Flatten(ITransformer model) =>
        model is IEnumerable<ITransformer> chain ? chain.SelectMany(Flatten) : [model];

    static TwinStage Twin(BatchedImageTransformer stage, Device device, List<IDisposable> owned)
    {
        OnnxTorchGraph Graph()
        {
            var path = stage.Describe().Model ?? throw new InvalidOperationException($"{stage.GetType().Name} has no ONNX model file.");
            var graph = OnnxTorchGraph.Load(path, device);
            owned.Add(graph);
            return graph;
        }
        switch (stage)
        {
            case NoisyCorruptTransformer noisy:
            {
                var o = noisy.Noise;
                return new TwinStage("NoisyCorrupt", x =>
                {
                    var input = o.ResizeFactor < 1 ? DownUp(x, o.ResizeFactor) : x;
                    return RecreationTraining.Corrupt(input, o.GaussianMean, o.GaussianVariance, o.SaltProbability, o.PepperProbability);
                }, Randomised: true, "exact; noise from torch's RNG");
            }
            case SuperResolveTransformer:
            {
                var generator = Graph();
                return new TwinStage("SuperResolve", x => nn.functional.interpolate(generator.Forward(x), [x.shape[2], x.shape[3]],
                    mode: InterpolationMode.Bilinear, align_corners: false), Randomised: false, "exact");
            }
            case MaskedInpaintAggregateTransformer fir:
            {
                var inpainter = Graph();
                if (!fir.RedrawPerImage)
                {
                    var masks = Recreations.MaskTensor(fir.Masks, device).DetachFromDisposeScope();
                    return new TwinStage("MaskedInpaintAggregate", x => Recreations.InpaintAggregate(inpainter.Forward, x, masks), false, "exact");
                }
                return new TwinStage("MaskedInpaintAggregate (masks redrawn)", x =>
                {
                    // Seeded from torch's generator, like the noise: manual_seed fixes every draw of the twin.
                    var random = new Random((int)randint(int.MaxValue, [1], dtype: ScalarType.Int64).item<long>());
                    var masks = Enumerable.Range(0, (int)x.shape[0]).Select(i =>
                        Recreations.MaskTensor(Pdnn.Data.MaskSet.Draw(fir.MaskCount, fir.GridCell, (int)x.shape[2], (int)x.shape[3], random), x.device)).ToList();
                    return cat(masks.Select((m, i) => Recreations.InpaintAggregate(inpainter.Forward, x.narrow(0, i, 1), m)).ToList(), 0);
                }, Randomised: true, "exact; masks drawn from torch's RNG");
            }
            case RobustClassifyTransformer:
            {
                var classifier = Graph();
                return new TwinStage("RobustClassify", classifier.Forward, false, "exact");
            }
            case ImageToImageTransformer image:
                return new TwinStage(image.Describe().Kind, Bpda.Identity(x => AsDeployed(image, x)), false, "BPDA: identity");
            default:
                throw new NotSupportedException($"stage {stage.GetType().Name} has no twin.");
        }
    }

    /// <summary>NoisyCorrupt's bilinear down-and-up resize.</summary>
    static Tensor DownUp(Tensor x, double factor)
    {
        long h = Math.Max(1, (long)Math.Round(x.shape[2] * factor)), w = Math.Max(1, (long)Math.Round(x.shape[3] * factor));
        var small = nn.functional.interpolate(x, [h, w], mode: InterpolationMode.Bilinear, align_corners: false);
        return nn.functional.interpolate(small, [x.shape[2], x.shape[3]], mode: InterpolationMode.Bilinear, align_corners: false);
    }

    /// <summary>The deployed stage's own computation on a batch, through the CPU and back.</summary>
    static Tensor AsDeployed(ImageToImageTransformer stage, Tensor x)
    {
        int n = (int)x.shape[0];
        var values = x.detach().cpu().to(ScalarType.Float32).contiguous().data<float>().ToArray();
        var output = (float[])stage.ComputeImages(values, n)[0];
        return tensor(output, x.shape).to(x.device);
    }

    public void Dispose()
    {
        foreach (var d in owned) d.Dispose();
    }
}
