using Pdnn.Attacks.Attacks;
using Pdnn.Attacks.Twins;
using Pdnn.Data;
using Pdnn.Figures;
using static TorchSharp.torch;

namespace Pdnn.Evaluation.Reports;

/// <summary>
/// A PNG a reader can look at: a few test images, their PGD adversarial versions, the perturbation (magnified to fill
/// [0,1]), and what the classifier behind the defence sees for each (its recreation); row labels give the predictions.
/// </summary>
public static class ExampleImages
{
    public static void Save(string path, ChainTwin twin, ImageDataset images, AttackSettings settings, int count = 8)
    {
        using var scope = NewDisposeScope();
        int n = Math.Min(count, images.Count), size = twin.Shape.Size;
        var pixels = Enumerable.Range(0, n).SelectMany(i => images.Image(i).ToArray()).Select(b => b / 255f).ToArray();
        // On the twin's device: on a GPU the attack runs there, and only the finished images come back to be drawn.
        var x = tensor(pixels, [n, twin.Shape.Channels, twin.Shape.Height, twin.Shape.Width]).to(twin.Device);
        var y = tensor(Enumerable.Range(0, n).Select(i => (long)images.Labels[i]).ToArray()).to(twin.Device);
        manual_seed(settings.Seed);
        var adversarial = new Pgd(twin.Logits, settings.Epsilon, settings.Epsilon / 4, settings.Steps, seed: settings.Seed).Perturb(x, y);
        using var noGrad = no_grad();
        string Predictions(Tensor t) => string.Join(" ", twin.Logits(t).argmax(1).cpu().data<long>().ToArray().Select(p => twin.ClassNames[(int)p][..3]));
        float[] Image(Tensor t, int i) => t[i].cpu().contiguous().data<float>().ToArray();
        var magnified = ((adversarial - x) / (2 * Math.Max(settings.Epsilon, 1e-6)) + 0.5).clamp(0, 1);
        var rows = new List<(string, IReadOnlyList<float[]>)>
        {
            ("clean", Enumerable.Range(0, n).Select(i => Image(x, i)).ToList()),
            ($"PGD ε={settings.Epsilon * 255:0.#}/255", Enumerable.Range(0, n).Select(i => Image(adversarial, i)).ToList()),
            ("perturbation", Enumerable.Range(0, n).Select(i => Image(magnified, i)).ToList()),
        };
        if (twin.Stages.Count > 1)
        {
            var cleanSeen = twin.Recreate(x).clamp(0, 1);
            var adversarialSeen = twin.Recreate(adversarial).clamp(0, 1);
            rows.Add(("seen: clean", Enumerable.Range(0, n).Select(i => Image(cleanSeen, i)).ToList()));
            rows.Add(("seen: adversarial", Enumerable.Range(0, n).Select(i => Image(adversarialSeen, i)).ToList()));
        }
        ImageGrid.SavePng(path, rows, twin.Shape.Height, twin.Shape.Width);
        File.WriteAllText(Path.ChangeExtension(path, ".txt"),
            $"columns: {string.Join(" ", Enumerable.Range(0, n).Select(i => images.ClassNames[images.Labels[i]][..3]))} (true classes)\n" +
            $"predicted, clean: {Predictions(x)}\npredicted, PGD: {Predictions(adversarial)}\ntwin: {twin.Description}\n");
    }
}
