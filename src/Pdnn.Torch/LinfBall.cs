using TorchSharp;
using static TorchSharp.torch;

namespace Pdnn.Torch;

/// <summary>
/// The L∞ ball of radius ε around clean images, cut to the pixel box [0,1]: the arithmetic every L∞ attack
/// (<c>Pdnn.Attacks</c>) and every adversarial training step (<see cref="Training.Adversarial.TrainingAdversary"/>) shares,
/// so an evaluated attack and a training adversary stay in exactly the same set. Per-step code: the callers pass held
/// scalars (see <see cref="GcSafe"/>), and nothing here converts a number.
/// </summary>
public static class LinfBall
{
    /// <summary>The nearest point to <paramref name="adversarial"/> in the ε-ball around <paramref name="clean"/> and in [0,1].</summary>
    public static Tensor Project(Tensor adversarial, Tensor clean, Scalar epsilon) =>
        minimum(maximum(adversarial, clean.sub(epsilon)), clean.add(epsilon, GcSafe.One)).clamp(GcSafe.Zero, GcSafe.One);

    /// <summary><paramref name="x"/> + <paramref name="size"/> · sign(<paramref name="gradient"/>): an L∞ ascent step.</summary>
    public static Tensor Ascend(Tensor x, Tensor gradient, Scalar size) => x.add(gradient.sign().mul(size), GcSafe.One);

    /// <summary>(2u − 1) · <paramref name="size"/>: maps <paramref name="unit"/> (u uniform in [0, 1)) to uniform offsets in
    /// [−size, size).</summary>
    public static Tensor Spread(Tensor unit, Scalar size) => unit.mul(Two).sub(GcSafe.One).mul(size);

    static readonly Scalar Two = 2;
}
