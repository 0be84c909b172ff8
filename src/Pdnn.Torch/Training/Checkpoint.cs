using System.Text.Json;
using TorchSharp;
using TorchSharp.Modules;

namespace Pdnn.Torch.Training;

/// <summary>Where a run stands: enough, with the weights and optimiser state beside it, to continue exactly.</summary>
public sealed record TrainingState
{
    public required string OptionsIdentity { get; init; }
    public required string DataIdentity { get; init; }
    public int Epoch { get; init; }            // the epoch in progress (0-based)
    public int StepInEpoch { get; init; }      // steps of that epoch already taken
    public long GlobalStep { get; init; }
    // Running sums of the epoch in progress, so its summary covers all its steps even across a resume.
    public double EpochLossSum { get; init; }
    public long EpochCorrect { get; init; }
    public int EpochSeen { get; init; }
    public double ElapsedSeconds { get; init; } // wall time over all invocations
    public List<EpochSummary> History { get; init; } = [];
    // Adversarial runs: the epoch with the highest held-out PGD-10 accuracy so far (its weights: best-robust.weights.bin).
    public int? BestRobustEpoch { get; init; }
    public double BestRobustPgd { get; init; } = -1;
    /// <summary>The run stopped for good because the collapse detector fired (--on-collapse stop).</summary>
    public string? StoppedOnCollapse { get; init; }
    // Recreation runs with held-out images: the epoch with the lowest held-out loss so far (its weights: <checkpoint>.best/weights.bin).
    public int? BestHeldOutEpoch { get; init; }
    public double? BestHeldOutLoss { get; init; }
    // Recreation runs with learning-rate drops: how many were made (the rate is the initial one halved as often), and when.
    public int LearningRateDrops { get; init; }
    public int? LastDropEpoch { get; init; }
    /// <summary>Set when a recreation run stopped because its held-out loss had stopped improving (its patience ran out).</summary>
    public string? Converged { get; init; }
    /// <summary>Set when the run ended at its budget (<see cref="TrainOptions.FinishAtBudget"/>): how far it got.</summary>
    public string? FinishedAtBudget { get; init; }
}

/// <summary>
/// A checkpoint folder: weights.bin (model), optimizer.bin (SGD momentum buffers), state.json. Written to a
/// temporary folder and swapped in, so an interruption mid-write leaves the previous checkpoint intact.
/// </summary>
public static class Checkpoint
{
    // Named literals: a recreation run has no accuracy, recorded as NaN.
    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public static bool Exists(string dir) => File.Exists(Path.Combine(dir, "state.json"));

    /// <param name="average">The weight average (<see cref="WeightAverage"/>), if the run keeps one: average.bin.</param>
    public static void Save(string dir, torch.nn.Module model, OptimizerHelper optimizer, TrainingState state, torch.nn.Module? average = null)
    {
        var full = Path.GetFullPath(dir);
        var temp = full + ".writing";
        var old = full + ".old";
        if (Directory.Exists(temp)) Directory.Delete(temp, true);
        Directory.CreateDirectory(temp);
        model.save(Path.Combine(temp, "weights.bin"));
        optimizer.save_state_dict(Path.Combine(temp, "optimizer.bin"));
        average?.save(Path.Combine(temp, AverageFile));
        File.WriteAllText(Path.Combine(temp, "state.json"), JsonSerializer.Serialize(state, Json));
        if (Directory.Exists(old)) Directory.Delete(old, true);
        if (Directory.Exists(full)) Directory.Move(full, old);
        Directory.Move(temp, full);
        if (Directory.Exists(old)) Directory.Delete(old, true);
    }

    /// <summary>Writes <paramref name="model"/>'s weights to <paramref name="file"/> under a temporary name, then moves it
    /// into place, so an interruption leaves the previous file whole.</summary>
    public static void SaveWeights(torch.nn.Module model, string file)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
        model.save(file + ".writing");
        File.Move(file + ".writing", file, overwrite: true);
    }

    /// <summary>The run's state and the model's weights (load them before moving the model to a GPU, then make the optimiser).</summary>
    public static TrainingState LoadWeights(string dir, torch.nn.Module model)
    {
        var state = ReadState(dir);
        model.load(Path.Combine(dir, "weights.bin"));
        return state;
    }

    public static void LoadOptimizer(string dir, OptimizerHelper optimizer) => optimizer.load_state_dict(Path.Combine(dir, "optimizer.bin"));

    const string AverageFile = "average.bin";

    /// <summary>Loads the checkpoint's weight average into <paramref name="average"/>; a checkpoint without one is an error.</summary>
    public static void LoadAverage(string dir, torch.nn.Module average)
    {
        var file = Path.Combine(dir, AverageFile);
        if (!File.Exists(file)) throw new InvalidDataException($"{dir}: the run keeps a weight average, but the checkpoint has no {AverageFile}.");
        average.load(file);
    }

    public static TrainingState ReadState(string dir)
    {
        var file = Path.Combine(dir, "state.json");
        try
        {
            return JsonSerializer.Deserialize<TrainingState>(File.ReadAllText(file), Json)
                   ?? throw new InvalidDataException($"{file}: empty checkpoint state.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{file}: unreadable checkpoint state ({e.Message}).", e);
        }
    }
}
