using Pdnn.Torch.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Pdnn.Torch.Training;

/// <summary>
/// An exponential moving average of a model's weights, updated after every optimiser step: a ← d·a + (1 − d)·w. What
/// adversarial training gains from it (Gowal et al. 2020, Rebuffi et al. 2021: the average is more robust than the last
/// iterate, whose high-rate steps keep jumping around a flat robust loss) comes at one pass over the weights per step.
/// The decay warms up as min(d, (1 + t) / (10 + t)) at update t, so the first steps do not keep the initialisation for
/// thousands of steps. Batch-norm statistics are averaged the same way; integer buffers (step counters) are copied.
/// </summary>
public sealed class WeightAverage : IDisposable
{
    readonly (Tensor Average, Tensor Live)[] pairs;

    /// <summary>A copy of <paramref name="live"/> (same architecture, on <paramref name="device"/>) that starts at its weights.</summary>
    public WeightAverage(CifarResNet live, ResNetSpec spec, int classes, double decay, Device device)
    {
        Decay = decay is > 0 and < 1 ? decay : throw new ArgumentOutOfRangeException(nameof(decay), $"the average's decay must lie in (0, 1), got {decay}.");
        Model = new CifarResNet(spec, classes);
        Model.load_state_dict(live.state_dict());
        Model.to(device);
        Model.eval(); // only ever evaluated; its batch-norm statistics are the averaged ones
        var liveState = live.state_dict();
        pairs = Model.state_dict().Select(kv => (kv.Value, liveState[kv.Key])).ToArray();
    }

    public double Decay { get; }
    /// <summary>The averaged weights, as a model.</summary>
    public CifarResNet Model { get; }
    /// <summary>Updates so far (the warm-up counts them); a resumed run sets it to the steps already taken.</summary>
    public long Updates { get; set; }

    /// <summary>The decay used at update <paramref name="t"/> (0-based).</summary>
    public static double DecayAt(double decay, long t) => Math.Min(decay, (1.0 + t) / (10.0 + t));

    /// <summary>Moves the average towards the live model's current weights.</summary>
    public void Update()
    {
        using var noGrad = no_grad();
        double d = DecayAt(Decay, Updates);
        using var decay = d.ToScalar();        // held during the calls (GcSafe)
        using var rest = (1 - d).ToScalar();
        foreach (var (average, live) in pairs)
        {
            if (average.is_floating_point()) average.mul_(decay).add_(live, alpha: rest);
            else average.copy_(live);
        }
        Updates++;
    }

    public void Dispose() => Model.Dispose();
}
