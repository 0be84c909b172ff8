using System.Text.Json;
using Pdnn.Data;
using Pdnn.Torch.Storage;
using TorchSharp;
using static TorchSharp.torch;

namespace Pdnn.Torch.Models.Recreation;

/// <summary>
/// A trained recreation R∘δ loaded from its folder (card, weights): NSR (noise, SR generator, resize back) or FIR
/// (10 complementary masks of g-pixel cells, seeded, inpainted and joined). Differentiable; noise comes from torch's RNG.
/// </summary>
public sealed class RecreationModel
{
    RecreationModel(string description, RecreationCard card, nn.Module<Tensor, Tensor> network,
                    Func<Func<Tensor, Tensor>, Func<Tensor, Tensor>> around)
    {
        Description = description; Card = card; this.network = network; this.around = around;
        apply = around(network.forward);
    }

    readonly nn.Module<Tensor, Tensor> network;
    // What surrounds the network (noise and resize for NSR, masks and joining for FIR), given the network as a function:
    // kept apart so a bfloat16 copy of the network can run inside the same float32 arithmetic.
    readonly Func<Func<Tensor, Tensor>, Func<Tensor, Tensor>> around;
    readonly Func<Tensor, Tensor> apply;

    public string Description { get; }
    public RecreationCard Card { get; }

    public Tensor Apply(Tensor x) => apply(x);

    /// <summary>
    /// The same recreation with its network (generator or inpainter) run in bfloat16: noise, masks, resizing and joining
    /// stay float32, and so do the input and output. For training steps on CPUs with AMX, where crafting through the
    /// recreation dominates the time; evaluations keep using <see cref="Apply"/>. The copy is frozen like the original.
    /// </summary>
    public Func<Tensor, Tensor> BFloat16()
    {
        var copy = Network(Card);
        copy.load_state_dict(network.state_dict());
        copy.to(network.parameters().First().device).to(ScalarType.BFloat16).eval();
        foreach (var p in copy.parameters()) p.requires_grad = false;
        return around(x => copy.forward(x.to(ScalarType.BFloat16)).to(ScalarType.Float32));
    }

    // The untrained network a card describes: one place for Load and BFloat16.
    static nn.Module<Tensor, Tensor> Network(RecreationCard card) => card.Kind == "sr-generator"
        ? new SrGenerator(card.Size == "paper" ? SrGeneratorSpec.Paper : SrGeneratorSpec.Lite)
        : new Inpainter(card.Size == "paper" ? InpainterSpec.Paper : InpainterSpec.Lite);

    /// <summary>The card of the recreation folder <paramref name="dir"/>, its path, and its weights' file and SHA-256,
    /// checked against the card.</summary>
    public static (RecreationCard Card, string CardPath, string WeightsPath, string WeightsSha256) ReadCard(string dir)
    {
        var cardPath = new[] { "sr-generator.card.json", "inpainter.card.json" }.Select(f => Path.Combine(dir, f)).FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException($"{dir}: no sr-generator.card.json or inpainter.card.json (a folder written by pdnn train-sr / train-inpainter).");
        var card = JsonSerializer.Deserialize<RecreationCard>(File.ReadAllText(cardPath)) ?? throw new InvalidDataException($"{cardPath}: empty card.");
        if (card.Kind is not ("sr-generator" or "inpainter"))
            throw new InvalidDataException($"{cardPath}: unknown recreation kind '{card.Kind}'.");
        var weights = Path.Combine(dir, card.Kind + ".weights.bin");
        string? sha = File.Exists(weights) ? ClassifierFile.Sha256(weights) : null;
        if (!card.FilesSha256.TryGetValue(Path.GetFileName(weights), out var expected) || sha != expected)
            throw new InvalidDataException($"{weights}: missing, or its SHA-256 does not match {cardPath}.");
        return (card, cardPath, weights, sha!);
    }

    /// <summary>The trained network alone (generator or inpainter, on the CPU) of the recreation folder <paramref name="dir"/>
    /// and its card: what <see cref="Load"/> builds on, and where a run that starts from trained weights (--init) takes them.</summary>
    public static (nn.Module<Tensor, Tensor> Network, RecreationCard Card, string CardPath) LoadNetwork(string dir)
    {
        var (card, cardPath, weights, _) = ReadCard(dir);
        var network = Network(card);
        network.load(weights);
        return (network, card, cardPath);
    }

    /// <summary>Loads the recreation in <paramref name="dir"/> (sr-generator.card.json or inpainter.card.json), checking the weights' SHA-256.</summary>
    public static RecreationModel Load(string dir, Device device, int maskSeed = 0)
    {
        var (network, card, cardPath) = LoadNetwork(dir);
        network.to(device).eval();
        if (card.Kind == "sr-generator")
        {
            double v = card.GaussianVariance ?? throw new InvalidDataException($"{cardPath}: no GaussianVariance."), sp = card.SaltPepper ?? 0;
            return new RecreationModel($"NSR ({card.Size}; Gaussian {v} + salt-and-pepper {sp})", card, network,
                g => x => Recreations.SuperResolve(g, Training.Recreation.RecreationTraining.Corrupt(x, v, sp)));
        }
        int g = card.Cell ?? throw new InvalidDataException($"{cardPath}: no Cell.");
        Tensor? masks = null;
        return new RecreationModel($"FIR ({card.Size}; 10 masks, g={g}, mask seed {maskSeed})", card, network, f => x =>
        {
            // Made at the first call (it knows the image size), kept out of that call's dispose scope.
            masks ??= Recreations.MaskTensor(MaskSet.Draw(10, g, (int)x.shape[2], (int)x.shape[3], new Random(maskSeed)), x.device).DetachFromDisposeScope();
            return Recreations.InpaintAggregate(f, x, masks);
        });
    }
}

/// <summary>φDNN(x) = C(R(δ(x))): a classifier that only ever sees the recreation of its input.</summary>
public sealed class PhiDnn : nn.Module<Tensor, Tensor>
{
    readonly nn.Module<Tensor, Tensor> classifier;

    public PhiDnn(RecreationModel recreation, nn.Module<Tensor, Tensor> classifier) : base("PhiDnn")
    {
        Recreation = recreation;
        this.classifier = classifier;
        RegisterComponents();
    }

    public RecreationModel Recreation { get; }

    public override Tensor forward(Tensor x) => classifier.forward(Recreation.Apply(x));
}
