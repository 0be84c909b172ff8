using static TorchSharp.torch;

namespace Pdnn.Attacks.Attacks;

/// <summary>
/// The one-pixel / few-pixel attack of Su et al. 2019, query-only: differential evolution over candidates of k pixels,
/// each (x, y, r, g, b); fitness is the model's probability of the true class (lower is better); DE/rand/1 with F = 0.5
/// and no crossover; the whole population is evaluated as one batch; it stops as soon as a candidate is misclassified.
/// Not an L∞ attack: the chosen pixels may take any value in [0,1].
/// </summary>
public sealed class PixelAttack(Func<Tensor, Tensor> model, int pixels = 1, int population = 400, int generations = 100, int seed = 0)
{
    public int Pixels { get; } = pixels;
    /// <summary>Model queries (images evaluated) by the last call of <see cref="Perturb"/>.</summary>
    public long Queries { get; private set; }
    /// <summary>Model queries per image by the last call of <see cref="Perturb"/>.</summary>
    public long[] QueriesPerImage { get; private set; } = [];

    public Tensor Perturb(Tensor images, Tensor labels)
    {
        Queries = 0;
        QueriesPerImage = new long[images.shape[0]];
        var results = new List<Tensor>();
        for (int i = 0; i < images.shape[0]; i++)
        {
            long before = Queries;
            results.Add(Attack(images[i], labels[i].item<long>(), new Random(seed + i)));
            QueriesPerImage[i] = Queries - before;
        }
        return stack(results);
    }

    Tensor Attack(Tensor image, long label, Random random)
    {
        long h = image.shape[1], w = image.shape[2];
        int dims = 5 * Pixels;
        var pixels = image.detach().cpu().to(ScalarType.Float32).contiguous().data<float>().ToArray(); // read once per image
        // Candidate layout: per pixel (row, column, r, g, b), rows/columns as reals in [0, size), colours in [0, 1].
        double[] Random01() => Enumerable.Range(0, dims).Select(d => random.NextDouble() * (d % 5 == 0 ? h : d % 5 == 1 ? w : 1)).ToArray();
        var members = Enumerable.Range(0, population).Select(_ => Random01()).ToArray();
        var (fitness, success) = Evaluate(image, pixels, label, members);
        for (int generation = 0; generation < generations && success < 0; generation++)
        {
            var trials = new double[population][];
            for (int j = 0; j < population; j++)
            {
                int a, b, c;
                do { a = random.Next(population); } while (a == j);
                do { b = random.Next(population); } while (b == j || b == a);
                do { c = random.Next(population); } while (c == j || c == a || c == b);
                trials[j] = Enumerable.Range(0, dims).Select(d => Clip(members[a][d] + 0.5 * (members[b][d] - members[c][d]), d, h, w)).ToArray();
            }
            var (trialFitness, trialSuccess) = Evaluate(image, pixels, label, trials);
            for (int j = 0; j < population; j++)
                if (trialFitness[j] < fitness[j]) { members[j] = trials[j]; fitness[j] = trialFitness[j]; }
            if (trialSuccess >= 0) { members[0] = trials[trialSuccess]; success = 0; }
        }
        int bestIndex = success >= 0 ? success : Array.IndexOf(fitness, fitness.Min());
        using var result = Apply(image, pixels, [members[bestIndex]]);
        return result[0].clone();
    }

    static double Clip(double v, int d, long h, long w) => d % 5 == 0 ? Math.Clamp(v, 0, h - 1e-6) : d % 5 == 1 ? Math.Clamp(v, 0, w - 1e-6) : Math.Clamp(v, 0, 1);

    /// <summary>
    /// The candidates applied to the image: P x C x H x W, built in managed memory from the image's
    /// <paramref name="pixels"/> and moved to the device in one copy (not one native call per changed value).
    /// </summary>
    Tensor Apply(Tensor image, float[] pixels, double[][] candidates)
    {
        long c = image.shape[0], h = image.shape[1], w = image.shape[2];
        int size = pixels.Length, plane = (int)(h * w);
        var values = new float[candidates.Length * size];
        for (int j = 0; j < candidates.Length; j++)
        {
            Array.Copy(pixels, 0, values, j * size, size);
            for (int p = 0; p < Pixels; p++)
            {
                int at = (int)candidates[j][5 * p] * (int)w + (int)candidates[j][5 * p + 1];
                for (int ch = 0; ch < 3 && ch < c; ch++)
                    values[j * size + ch * plane + at] = (float)candidates[j][5 * p + 2 + ch];
            }
        }
        return tensor(values, [candidates.Length, c, h, w]).to(image.device);
    }

    /// <summary>True-class probability of each candidate, and the index of one that is misclassified (or −1).</summary>
    (double[] Fitness, int Success) Evaluate(Tensor image, float[] pixels, long label, double[][] candidates)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var logits = model(Apply(image, pixels, candidates));
        Queries += candidates.Length;
        var probabilities = nn.functional.softmax(logits, 1);
        var fitness = probabilities[.., label].cpu().to(ScalarType.Float64).data<double>().ToArray();
        var predicted = logits.argmax(1).cpu().data<long>().ToArray();
        return (fitness, Array.FindIndex(predicted, p => p != label));
    }
}
