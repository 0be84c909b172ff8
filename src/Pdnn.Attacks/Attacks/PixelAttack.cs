using Pdnn.Data;
using static TorchSharp.torch;

namespace Pdnn.Attacks.Attacks;

/// <summary>
/// The one-pixel / few-pixel attack of Su et al. 2019, query-only: differential evolution over candidates of k pixels,
/// each (x, y, r, g, b); fitness is the model's probability of the true class (lower is better); DE/rand/1 with F = 0.5
/// and no crossover; an image stops as soon as one of its candidates is misclassified. Not an L∞ attack: the chosen
/// pixels may take any value in [0,1].
/// </summary>
/// <remarks>
/// Batched across images: each generation, the populations of up to <paramref name="imagesPerCall"/> images still
/// searching are stacked and sent to the model together, in calls of at most <paramref name="maxQueryBatch"/> candidates,
/// so a small model is queried at close to its inference throughput. Each image's search draws from a generator of its
/// own, seeded by (seed, pixels, id), and depends only on the model's answers for its own candidates: with a deterministic
/// model it finds the same pixels however many images share a call. A randomised model draws per row of each call, so
/// there the stacking changes its draws (but not their distribution).
/// </remarks>
public sealed class PixelAttack(Func<Tensor, Tensor> model, int pixels = 1, int population = 400, int generations = 100, int seed = 0,
                                int imagesPerCall = int.MaxValue, int maxQueryBatch = 1024) : IReportsProgress
{
    public Action<double>? Progress { get; set; }

    public int Pixels { get; } = pixels >= 1 ? pixels : throw new ArgumentOutOfRangeException(nameof(pixels), $"pixels must be at least 1, got {pixels}.");
    public int Population { get; } = population >= 4 ? population : throw new ArgumentOutOfRangeException(nameof(population), $"DE/rand/1 needs a population of at least 4, got {population}.");
    public int ImagesPerCall { get; } = imagesPerCall >= 1 ? imagesPerCall : throw new ArgumentOutOfRangeException(nameof(imagesPerCall), $"must be at least 1, got {imagesPerCall}.");
    public int MaxQueryBatch { get; } = maxQueryBatch >= 1 ? maxQueryBatch : throw new ArgumentOutOfRangeException(nameof(maxQueryBatch), $"must be at least 1, got {maxQueryBatch}.");
    /// <summary>Model queries (images evaluated) by the last call of <see cref="Perturb(Tensor, Tensor, long[])"/>.</summary>
    public long Queries { get; private set; }
    /// <summary>Model queries per image by the last call of <see cref="Perturb(Tensor, Tensor, long[])"/>.</summary>
    public long[] QueriesPerImage { get; private set; } = [];
    /// <summary>Model calls made by the last call of <see cref="Perturb(Tensor, Tensor, long[])"/>.</summary>
    public long ModelCalls { get; private set; }

    /// <summary>One image's search: its pixels, its generator, its population and how far it got.</summary>
    sealed class Search(int index, long label, float[] pixels, Random random)
    {
        public int Index { get; } = index;
        public long Label { get; } = label;
        public float[] Pixels { get; } = pixels;
        public Random Random { get; } = random;
        public double[][] Members = [];
        public double[] Fitness = [];
        public int Success = -1;
        public long Queries;
    }

    public Tensor Perturb(Tensor images, Tensor labels) => Perturb(images, labels, Attack.Positions(images));

    /// <summary>Adversarial images; <paramref name="ids"/> name the images (see <see cref="Attack.Perturb(Tensor, Tensor, long[])"/>).</summary>
    public Tensor Perturb(Tensor images, Tensor labels, long[] ids)
    {
        int n = (int)images.shape[0];
        if (ids.Length != n) throw new ArgumentException($"{ids.Length} ids for {n} images.", nameof(ids));
        long c = images.shape[1], h = images.shape[2], w = images.shape[3];
        int size = (int)(c * h * w);
        var all = images.detach().cpu().to(ScalarType.Float32).contiguous().data<float>().ToArray(); // read once
        var labelValues = labels.cpu().data<long>().ToArray();
        var searches = Enumerable.Range(0, n).Select(i => new Search(i, labelValues[i], all[(i * size)..((i + 1) * size)],
            new Random(Seeds.Derive(seed, AttackStreams.Pixel, Pixels, ids[i])))).ToList();
        Queries = 0; ModelCalls = 0;
        var device = images.device;
        var groups = searches.Chunk(ImagesPerCall).ToArray();
        for (int g = 0; g < groups.Length; g++)
            Run(groups[g], c, h, w, device, generation => Progress?.Invoke((g + (generation + 1) / (double)Math.Max(1, generations)) / groups.Length));
        QueriesPerImage = searches.Select(s => s.Queries).ToArray();
        var result = new float[n * size];
        foreach (var s in searches)
        {
            int best = s.Success >= 0 ? s.Success : Array.IndexOf(s.Fitness, s.Fitness.Min());
            Apply(s, s.Members[best], result.AsSpan(s.Index * size, size), h, w);
        }
        return tensor(result, [n, c, h, w]).to(device);
    }

    /// <summary>Evolves the populations of <paramref name="group"/> together: one stacked evaluation per generation.</summary>
    void Run(Search[] group, long c, long h, long w, Device device, Action<int> generationDone)
    {
        int dims = 5 * Pixels;
        // Candidate layout: per pixel (row, column, r, g, b), rows/columns as reals in [0, size), colours in [0, 1].
        foreach (var s in group)
            s.Members = Enumerable.Range(0, Population)
                .Select(_ => Enumerable.Range(0, dims).Select(d => s.Random.NextDouble() * (d % 5 == 0 ? h : d % 5 == 1 ? w : 1)).ToArray()).ToArray();
        var first = Evaluate(group, group.Select(s => s.Members).ToArray(), c, h, w, device);
        for (int i = 0; i < group.Length; i++) (group[i].Fitness, group[i].Success) = first[i];
        for (int generation = 0; generation < generations; generation++)
        {
            var active = group.Where(s => s.Success < 0).ToArray();
            if (active.Length == 0) break;
            var trials = active.Select(s => Mutate(s, dims, h, w)).ToArray();
            var evaluated = Evaluate(active, trials, c, h, w, device);
            for (int i = 0; i < active.Length; i++)
            {
                var (s, (trialFitness, trialSuccess)) = (active[i], evaluated[i]);
                for (int j = 0; j < Population; j++)
                    if (trialFitness[j] < s.Fitness[j]) { s.Members[j] = trials[i][j]; s.Fitness[j] = trialFitness[j]; }
                if (trialSuccess >= 0) { s.Members[0] = trials[i][trialSuccess]; s.Success = 0; }
            }
            generationDone(generation);
        }
    }

    /// <summary>DE/rand/1: each trial is a + F·(b − c) for three distinct other members, F = 0.5, clipped to the image.</summary>
    double[][] Mutate(Search s, int dims, long h, long w)
    {
        var trials = new double[Population][];
        for (int j = 0; j < Population; j++)
        {
            int a, b, c;
            do { a = s.Random.Next(Population); } while (a == j);
            do { b = s.Random.Next(Population); } while (b == j || b == a);
            do { c = s.Random.Next(Population); } while (c == j || c == a || c == b);
            trials[j] = Enumerable.Range(0, dims).Select(d => Clip(s.Members[a][d] + 0.5 * (s.Members[b][d] - s.Members[c][d]), d, h, w)).ToArray();
        }
        return trials;
    }

    static double Clip(double v, int d, long h, long w) => d % 5 == 0 ? Math.Clamp(v, 0, h - 1e-6) : d % 5 == 1 ? Math.Clamp(v, 0, w - 1e-6) : Math.Clamp(v, 0, 1);

    /// <summary>The image of <paramref name="s"/> with <paramref name="candidate"/>'s pixels set, written into <paramref name="output"/>.</summary>
    void Apply(Search s, double[] candidate, Span<float> output, long h, long w)
    {
        s.Pixels.CopyTo(output);
        int plane = (int)(h * w), channels = output.Length / plane;
        for (int p = 0; p < Pixels; p++)
        {
            int at = (int)candidate[5 * p] * (int)w + (int)candidate[5 * p + 1];
            for (int ch = 0; ch < 3 && ch < channels; ch++) output[ch * plane + at] = (float)candidate[5 * p + 2 + ch];
        }
    }

    /// <summary>
    /// Per search, the true-class probability of each of its candidates and the index of one that is misclassified (or −1).
    /// The candidates of all searches are stacked and evaluated in calls of at most <see cref="MaxQueryBatch"/>, each built
    /// in managed memory and moved to the device in one copy.
    /// </summary>
    (double[] Fitness, int Success)[] Evaluate(Search[] searches, double[][][] candidates, long c, long h, long w, Device device)
    {
        int size = (int)(c * h * w);
        var rows = searches.SelectMany((s, i) => Enumerable.Range(0, candidates[i].Length).Select(j => (Search: i, Candidate: j))).ToArray();
        var fitness = searches.Select((_, i) => new double[candidates[i].Length]).ToArray();
        var predicted = searches.Select((_, i) => new long[candidates[i].Length]).ToArray();
        using var noGrad = no_grad();
        foreach (var chunk in rows.Chunk(MaxQueryBatch))
        {
            using var scope = NewDisposeScope();
            var values = new float[chunk.Length * size];
            for (int r = 0; r < chunk.Length; r++)
                Apply(searches[chunk[r].Search], candidates[chunk[r].Search][chunk[r].Candidate], values.AsSpan(r * size, size), h, w);
            var labels = tensor(chunk.Select(r => searches[r.Search].Label).ToArray()).to(device);
            var logits = model(tensor(values, [chunk.Length, c, h, w]).to(device));
            ModelCalls++;
            var p = nn.functional.softmax(logits, 1).gather(1, labels.unsqueeze(1)).squeeze(1).cpu().to(ScalarType.Float64).data<double>().ToArray();
            var argmax = logits.argmax(1).cpu().data<long>().ToArray();
            for (int r = 0; r < chunk.Length; r++)
            {
                fitness[chunk[r].Search][chunk[r].Candidate] = p[r];
                predicted[chunk[r].Search][chunk[r].Candidate] = argmax[r];
            }
        }
        for (int i = 0; i < searches.Length; i++)
        {
            searches[i].Queries += candidates[i].Length;
            Queries += candidates[i].Length;
        }
        return searches.Select((s, i) => (fitness[i], Array.FindIndex(predicted[i], q => q != s.Label))).ToArray();
    }
}
