using System.Text.Json;
using System.Text.RegularExpressions;
using Pdnn.Evaluation.MLNet;

namespace Pdnn.Evaluation.Reports;

/// <summary>
/// What one defence's evaluation is to do, stored as plan.json beside its journals, so that its results can be derived
/// from the journals alone: by the run itself, or, for a run split into shards, by <c>evaluate-report</c> from every shard.
/// </summary>
public sealed record EvaluationPlan
{
    public required string Defence { get; init; }
    public required string Description { get; init; }
    public required string Twin { get; init; }
    public required string Data { get; init; }
    /// <summary>The command that gives these outcomes (output folder, shard and resume options left out).</summary>
    public required string Command { get; init; }
    public required string Hardware { get; init; }
    public required AttackSettings Settings { get; init; }
    public required IReadOnlyList<AttackKind> Attacks { get; init; }
    public bool Randomised { get; init; }
    /// <summary>Images in the whole sample (every shard together).</summary>
    public int Count { get; init; }
    public int BatchSize { get; init; }
    public Shard Shard { get; init; } = new(0, 1);
    /// <summary>The ε curve: its ε values, its attack's column name, and its images (the sample's first CurveCount).</summary>
    public IReadOnlyList<double> CurveEpsilons { get; init; } = [];
    public string CurveAttack { get; init; } = "";
    public int CurveCount { get; init; }
}

/// <summary>
/// One defence's evaluation folder: plan.json, journal/attacks.csv (the attacks) and journal/curve-k.csv (the k-th ε of the
/// curve), and the results derived from them (results.json, outcomes.csv, summary.md). A run split with --shard writes
/// folders shard-i-of-n/&lt;defence&gt;; <see cref="MergeShards"/> derives from all of them together the same results
/// an unsplit run gives, into &lt;run&gt;/&lt;defence&gt;.
/// </summary>
public static class DefenceRun
{
    static readonly JsonSerializerOptions Json = new() { WriteIndented = true };
    static readonly Regex ShardFolder = new(@"^shard-(\d+)-of-(\d+)$");

    public static string PlanFile(string dir) => Path.Combine(dir, "plan.json");
    public static string AttackJournal(string dir) => Path.Combine(dir, "journal", "attacks.csv");
    public static string CurveJournal(string dir, int k) => Path.Combine(dir, "journal", $"curve-{k}.csv");
    /// <summary>The folder of shard <paramref name="shard"/> of a run in <paramref name="runDir"/>.</summary>
    public static string ShardDir(string runDir, Shard shard) => Path.Combine(runDir, $"shard-{shard.Index}-of-{shard.Count}");

    public static void WritePlan(string dir, EvaluationPlan plan)
    {
        Directory.CreateDirectory(dir);
        File.WriteAllText(PlanFile(dir), JsonSerializer.Serialize(plan, Json));
    }

    public static EvaluationPlan ReadPlan(string dir) =>
        JsonSerializer.Deserialize<EvaluationPlan>(File.ReadAllText(PlanFile(dir)))
        ?? throw new InvalidDataException($"{PlanFile(dir)} is empty.");

    /// <summary>True when <paramref name="dir"/> holds journals of an evaluation that has not finished every unit of its shard.</summary>
    public static bool IsUnfinished(string dir)
    {
        if (!Directory.Exists(Path.Combine(dir, "journal"))) return false;
        if (!File.Exists(PlanFile(dir))) return true; // killed before the attacks finished: the plan is written after them
        var plan = ReadPlan(dir);
        return Missing(plan, [dir], [plan.Shard]).Count > 0;
    }

    /// <summary>Removes the journals and plan of an earlier evaluation in <paramref name="dir"/>, before a new one starts there.</summary>
    public static void Clear(string dir)
    {
        if (Directory.Exists(Path.Combine(dir, "journal"))) Directory.Delete(Path.Combine(dir, "journal"), recursive: true);
        if (File.Exists(PlanFile(dir))) File.Delete(PlanFile(dir));
    }

    /// <summary>
    /// The results of one defence from the plans and journals in <paramref name="dirs"/> (one unsplit run, or every shard of
    /// one run), which together must hold every unit of the plan. The same units give the same results, byte for byte.
    /// </summary>
    public static (DefenceResult Result, AttackSettings Settings) Derive(IReadOnlyList<string> dirs)
    {
        var plans = dirs.Select(d => File.Exists(PlanFile(d)) ? ReadPlan(d) : throw new FileNotFoundException($"{PlanFile(d)} not found: that evaluation did not finish its attacks; resume it with --resume.")).ToList();
        var plan = plans[0];
        foreach (var (other, dir) in plans.Zip(dirs).Skip(1))
            if (other.Defence != plan.Defence || other.Count != plan.Count || other.BatchSize != plan.BatchSize || other.Shard.Count != plan.Shard.Count
                || other.Settings != plan.Settings || !other.Attacks.SequenceEqual(plan.Attacks) || !other.CurveEpsilons.SequenceEqual(plan.CurveEpsilons))
                throw new InvalidDataException($"{dir} and {dirs[0]} are not shards of one evaluation: their plans differ (attacks, budgets, sample or batch size).");
        var shards = plans.Select(p => p.Shard).ToList();
        var absent = Enumerable.Range(0, plan.Shard.Count).Where(i => !shards.Any(s => s.Index == i)).ToList();
        if (absent.Count > 0) throw new InvalidDataException($"{plan.Defence}: shard(s) {string.Join(", ", absent.Select(i => $"{i}/{plan.Shard.Count}"))} missing from {string.Join(", ", dirs)}.");
        var missing = Missing(plan, dirs, shards);
        if (missing.Count > 0)
            throw new InvalidDataException($"{plan.Defence}: unfinished units ({string.Join("; ", missing.Take(5))}{(missing.Count > 5 ? "; …" : "")}); resume the run (or shard) with --resume.");

        double seconds = 0;
        var sittings = new List<string>();
        var main = Units(dirs.Select(AttackJournal), ref seconds, sittings);
        var report = RobustnessEvaluator.Summarise(plan.Attacks, plan.Randomised, main[RobustnessEvaluator.CleanJob], main);
        List<(double Epsilon, double Accuracy)>? curve = null;
        if (plan.CurveEpsilons.Count > 0)
        {
            curve = [];
            double curveClean = 0;
            for (int k = 0; k < plan.CurveEpsilons.Count; k++)
            {
                var units = Units(dirs.Select(d => CurveJournal(d, k)), ref seconds, sittings);
                var point = RobustnessEvaluator.Summarise([new AttackKind(plan.CurveAttack)], plan.Randomised, units[RobustnessEvaluator.CleanJob], units);
                curve.Add((plan.CurveEpsilons[k], point.Attacks[0].Accuracy));
                curveClean = point.Clean.Accuracy;
            }
            double tolerance = plan.Randomised ? Math.Max(0.02, 1 / Math.Sqrt(plan.CurveCount)) : 0.02;
            report = report with { Flags = [.. report.Flags, .. RobustnessEvaluator.EpsilonChecks(curve, curveClean, tolerance).Select(f => "ε curve: " + f)] };
        }
        var hardware = Hardware(plans, sittings);
        return (new DefenceResult(plan.Defence, plan.Description, plan.Twin, report, plan.Data, plan.Command, hardware, seconds, curve), plan.Settings);
    }

    /// <summary>
    /// Merges the shards of the run in <paramref name="runDir"/> (folders shard-i-of-n), if it was split: per defence, the
    /// results of every shard together, written to &lt;runDir&gt;/&lt;defence&gt; as an unsplit run writes them (with the
    /// example images of shard 0). Returns the number of defences merged.
    /// </summary>
    public static int MergeShards(string runDir)
    {
        var shardDirs = Directory.GetDirectories(runDir).Where(d => ShardFolder.IsMatch(Path.GetFileName(d))).Order(StringComparer.Ordinal).ToList();
        if (shardDirs.Count == 0) return 0;
        var counts = shardDirs.Select(d => ShardFolder.Match(Path.GetFileName(d)).Groups[2].Value).Distinct().ToList();
        if (counts.Count > 1) throw new InvalidDataException($"{runDir} holds shards of runs split in different ways (of {string.Join(", of ", counts)}); keep one.");
        var defences = shardDirs.SelectMany(d => Directory.GetDirectories(d).Select(Path.GetFileName)).Distinct().Order(StringComparer.Ordinal).ToList();
        foreach (var defence in defences)
        {
            var dirs = shardDirs.Select(d => Path.Combine(d, defence!)).Where(Directory.Exists).ToList();
            var (result, settings) = Derive(dirs);
            var target = Path.Combine(runDir, defence!);
            EvaluationFiles.Write(target, result, settings);
            foreach (var file in new[] { "examples.png", "examples.txt" })
                if (dirs.Select(d => Path.Combine(d, file)).FirstOrDefault(File.Exists) is { } example) File.Copy(example, Path.Combine(target, file), overwrite: true);
        }
        return defences.Count;
    }

    /// <summary>
    /// Where the outcomes were computed: the hardware of every sitting the journals record (a run resumed on another
    /// machine names both), or, for journals written before sittings were recorded, the hardware in the plans.
    /// </summary>
    static string Hardware(IReadOnlyList<EvaluationPlan> plans, IReadOnlyList<string> sittings) =>
        sittings.All(s => s == OutcomeJournal.UnrecordedSitting)
            ? string.Join("; ", plans.Select(p => p.Hardware).Distinct())
            : string.Join("; ", sittings.Distinct());

    /// <summary>The units of <paramref name="shards"/> that their journals in <paramref name="dirs"/> lack, as "journal: job, batch b".</summary>
    static List<string> Missing(EvaluationPlan plan, IReadOnlyList<string> dirs, IReadOnlyList<Shard> shards)
    {
        var missing = new List<string>();
        void Check(IEnumerable<string> journals, int images, IEnumerable<string> jobs, string what)
        {
            var have = journals.Where(File.Exists).SelectMany(j => OutcomeJournal.Read(j).Units).Select(u => (u.Job, u.Batch)).ToHashSet();
            int batches = (images + plan.BatchSize - 1) / plan.BatchSize;
            foreach (var job in jobs)
                for (int b = 0; b < batches; b++)
                    if (shards.Any(s => s.Holds(b)) && !have.Contains((job, b))) missing.Add($"{what}: {job}, batch {b}");
        }
        Check(dirs.Select(AttackJournal), plan.Count, [RobustnessEvaluator.CleanJob, .. plan.Attacks.Select(a => a.Name)], "attacks");
        for (int k = 0; k < plan.CurveEpsilons.Count; k++)
            Check(dirs.Select(d => CurveJournal(d, k)), plan.CurveCount, [RobustnessEvaluator.CleanJob, plan.CurveAttack], $"ε curve {plan.CurveEpsilons[k] * 255:0.#}/255");
        return missing;
    }

    /// <summary>
    /// Per job, the outcome lines of every unit in <paramref name="journals"/> (which must share one key); adds up their
    /// seconds and collects their sittings (each journal is read once).
    /// </summary>
    static Dictionary<string, IReadOnlyList<OutcomeLine>> Units(IEnumerable<string> journals, ref double seconds, List<string> sittings)
    {
        var read = journals.Select(j => (Path: j, Journal: OutcomeJournal.Read(j))).ToList();
        sittings.AddRange(read.SelectMany(r => r.Journal.Sittings));
        foreach (var (path, (key, _, _)) in read.Skip(1))
            if (key != read[0].Journal.Key)
                throw new InvalidDataException($"{path} and {read[0].Path} were written by evaluations with different models or options; they cannot be merged.");
        var units = read.SelectMany(r => r.Journal.Units).GroupBy(u => (u.Job, u.Batch)).Select(g => g.First()).ToList();
        seconds += units.Sum(u => u.Seconds);
        return units.GroupBy(u => u.Job).ToDictionary(g => g.Key, g => (IReadOnlyList<OutcomeLine>)g.OrderBy(u => u.Batch).SelectMany(u => u.Lines).ToList());
    }
}
