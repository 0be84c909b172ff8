using static TorchSharp.torch;

namespace Pdnn.Torch.Training.Adversarial;

/// <summary>Accuracy of one epoch's model on the held-out images: clean, under FGSM and under PGD-10, at the training ε.</summary>
public sealed record RobustCheck(double Clean, double Fgsm, double Pgd10);

/// <summary>
/// After every epoch, attacks a fixed set of held-out images (never trained on) through the system being trained — the
/// whole φDNN when the classifier learns on recreations — with FGSM and PGD-10 (α = ε/4, random start), in eval mode.
/// Randomness is seeded per epoch, so a resumed run measures what an uninterrupted one would. Catastrophic overfitting
/// shows here first: FGSM accuracy holds or rises while PGD accuracy falls to zero.
/// </summary>
public sealed class RobustnessMonitor(DeviceImages heldOut, double epsilon, int batchSize = 250)
{
    readonly TrainingAdversary fgsm = new(new AdversarialOptions { Kind = AdversaryKind.Fgsm, Epsilon = epsilon });
    readonly TrainingAdversary pgd10 = new(new AdversarialOptions { Kind = AdversaryKind.Pgd, Epsilon = epsilon, Steps = 10, StepSize = epsilon / 4 });

    public int Count => heldOut.Count;

    /// <summary>Measures <paramref name="system"/> (images → logits); <paramref name="model"/> is put in eval mode meanwhile.</summary>
    public RobustCheck Measure(nn.Module model, Func<Tensor, Tensor> system, int seed)
    {
        bool wasTraining = model.training;
        model.eval();
        try
        {
            manual_seed(seed);
            long clean = 0, underFgsm = 0, underPgd = 0;
            for (int start = 0; start < heldOut.Count; start += batchSize)
            {
                using var scope = NewDisposeScope();
                var (x, y) = heldOut.Range(start, Math.Min(batchSize, heldOut.Count - start));
                clean += Correct(system, x, y);
                underFgsm += Correct(system, fgsm.Craft(system, x, y), y);
                underPgd += Correct(system, pgd10.Craft(system, x, y), y);
            }
            double n = heldOut.Count;
            return new RobustCheck(clean / n, underFgsm / n, underPgd / n);
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    static long Correct(Func<Tensor, Tensor> system, Tensor x, Tensor y)
    {
        using var noGrad = no_grad();
        return system(x).argmax(1).eq(y).sum().item<long>();
    }
}
