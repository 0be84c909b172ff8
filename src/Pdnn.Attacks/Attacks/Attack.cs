using Pdnn.Data;
using Pdnn.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace Pdnn.Attacks.Attacks;

/// <summary>
/// The base of every L∞ attack: a model as a function from images (N x C x H x W in [0,1]) to logits, a budget ε, and the
/// projection back into the ε-ball around the clean images and into [0,1]. Attacks never see normalised values: the
/// models normalise inside.
/// </summary>
public abstract class Attack(Func<Tensor, Tensor> model, double epsilon) : IReportsProgress
{
    public Action<double>? Progress { get; set; }

    protected Func<Tensor, Tensor> Model { get; } = model;
    public double Epsilon { get; } = epsilon >= 0 ? epsilon : throw new ArgumentOutOfRangeException(nameof(epsilon), $"ε must be >= 0, got {epsilon}.");

    /// <summary>
    /// Adversarial images for <paramref name="images"/> with true <paramref name="labels"/>; same shape, in the ε-ball and
    /// [0,1]. <paramref name="ids"/> names each image (its position in the evaluated sample): an attack's random draws for
    /// an image derive from its id, not from its position in the batch, so a resumed or sharded evaluation draws the same.
    /// </summary>
    public abstract Tensor Perturb(Tensor images, Tensor labels, long[] ids);

    /// <summary><see cref="Perturb(Tensor, Tensor, long[])"/> with the images' positions in the batch as their ids.</summary>
    public Tensor Perturb(Tensor images, Tensor labels) => Perturb(images, labels, Positions(images));

    /// <summary>0, 1, …, n − 1 for a batch of n images.</summary>
    public static long[] Positions(Tensor images) => Enumerable.Range(0, (int)images.shape[0]).Select(i => (long)i).ToArray();

    /// <summary>Clamp into the ε-ball around <paramref name="clean"/> and into [0,1].</summary>
    /// <remarks>Per-step code here passes only scalars it holds (<c>a.add(b, GcSafe.One)</c> for <c>a + b</c>, <c>using</c>
    /// scalars for numbers): TorchSharp 0.107 frees a scalar made by implicit conversion whenever another thread's garbage
    /// collection finds it, even while libtorch still reads it (see GcSafe; GcSafeScalarTests checks every attack).</remarks>
    protected Tensor Project(Tensor adversarial, Tensor clean)
    {
        using var epsilon = Epsilon.ToScalar();
        return LinfBall.Project(adversarial, clean, epsilon);
    }

    /// <summary><paramref name="x"/> + <paramref name="size"/> · sign(<paramref name="gradient"/>): an L∞ ascent step.</summary>
    protected static Tensor Step(Tensor x, Tensor gradient, double size)
    {
        using var scalar = size.ToScalar();
        return LinfBall.Ascend(x, gradient, scalar);
    }

    /// <summary>
    /// A uniform random point of the ε-ball around each image, drawn on the CPU from a generator of its own seeded by
    /// (seed, id, restart): the same start whatever batch (or device) the image is attacked in.
    /// </summary>
    protected Tensor RandomStart(Tensor images, long[] ids, int seed, int restart)
    {
        if (ids.Length != images.shape[0]) throw new ArgumentException($"{ids.Length} ids for {images.shape[0]} images.", nameof(ids));
        using var scope = NewDisposeScope();
        long[] shape = images.shape[1..];
        var noise = stack(ids.Select(id =>
        {
            using var generator = new Generator((ulong)Seeds.Derive(seed, AttackStreams.RandomStart, id, restart));
            return rand(shape, generator: generator);
        }).ToArray()).to(images.device);
        using var epsilon = Epsilon.ToScalar();
        var offset = LinfBall.Spread(noise, epsilon);                              // (2u − 1) ε, uniform in [−ε, ε]
        return Project(images.add(offset, GcSafe.One), images).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The state an iterative attack carries from one step to the next, for <c>DisposeScope.DisposeEverythingBut</c> at
    /// the end of each step: without it every step's intermediate tensors (a dozen image-sized ones for APGD) live until
    /// the attack returns, and memory grows with the steps (Square-1000 on 100 Imagenette images at 64x64 reached 21 GB
    /// and was killed).
    /// </summary>
    protected static Tensor[] Kept(params Tensor?[] state) => state.OfType<Tensor>().Distinct(ReferenceEqualityComparer.Instance).Cast<Tensor>().ToArray();

    /// <summary>The gradient of the mean cross-entropy with respect to the input.</summary>
    protected Tensor LossGradient(Tensor x, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var input = x.detach().requires_grad_(true);
        var loss = nn.functional.cross_entropy(Model(input), labels, reduction: nn.Reduction.Sum);
        var grad = autograd.grad([loss], [input])[0];
        return grad.detach().MoveToOuterDisposeScope();
    }
}

/// <summary>
/// An attack that says how far one call of its Perturb has got, so that a unit of work that takes many minutes (DE at
/// the paper's budget, Square or EOT-PGD through a recreation) shows progress before it ends.
/// </summary>
public interface IReportsProgress
{
    /// <summary>Called during Perturb with the fraction of the call's work done, in (0, 1]; null for none.</summary>
    Action<double>? Progress { get; set; }
}

/// <summary>Seed streams of the attacks' own draws (see <see cref="Seeds.Derive"/>; Pdnn.Data's streams are 1–4).</summary>
static class AttackStreams
{
    public const long RandomStart = 101, Pixel = 102, Square = 103;
}
