using System.Globalization;
using System.Text;
using Pdnn.Torch.Storage;

namespace Pdnn.Evaluation;

/// <summary>One image's answer in one unit of work: the prediction (clean, or on the attacked image), the perturbation's norms and the queries spent.</summary>
public sealed record OutcomeLine(long Id, long Label, long Prediction, double Linf = 0, double L2 = 0, long Queries = 0);

/// <summary>A finished unit of work: one job ("clean" or an attack) on one batch of the sample.</summary>
public sealed record JournalUnit(string Job, int Batch, IReadOnlyList<OutcomeLine> Lines, double Seconds);

/// <summary>
/// The per-image outcomes of an evaluation, written as it goes: one block per finished unit of work (a job on a batch),
/// flushed to disk before the next unit starts, so a killed evaluation loses at most the unit it was in. The first line
/// holds a key of everything that decides the outcomes (models, attacks, budgets, sample, batch size, seed); resuming
/// refuses a journal with another key. A block that was cut off (the process was killed while writing it) is dropped,
/// and the file truncated to the last whole block, when it is resumed. Text, one line per image, doubles round-tripped
/// exactly ("R"), so outcomes read back equal the outcomes computed. Each sitting (one process) that adds units first
/// writes a "sitting" line naming the hardware it ran on, so a run finished elsewhere than it started says where each
/// part was computed.
/// </summary>
public sealed class OutcomeJournal : IDisposable
{
    const string Magic = "# pdnn evaluation journal v1";
    /// <summary>The sitting of units written before sittings were recorded (journals of 2026-11-29 and earlier).</summary>
    public const string UnrecordedSitting = "hardware not recorded";
    readonly Dictionary<(string Job, int Batch), JournalUnit> units = [];
    readonly FileStream stream;
    readonly OutputLock writing;
    string? sitting; // written before this sitting's first unit, then null

    OutcomeJournal(string path, string key, FileStream stream, OutputLock writing, IEnumerable<JournalUnit> finished, string? sitting)
    {
        Path = path; Key = key; this.stream = stream; this.writing = writing; this.sitting = sitting;
        foreach (var u in finished) units[(u.Job, u.Batch)] = u;
    }

    public string Path { get; }
    public string Key { get; }
    public IReadOnlyCollection<JournalUnit> Units => units.Values;

    /// <summary>
    /// Opens the journal at <paramref name="path"/>: with <paramref name="resume"/>, continues the one there (if any; its
    /// key must be <paramref name="key"/>), else starts a new one, replacing any file there. <paramref name="sitting"/>:
    /// the hardware this process computes on, recorded before the first unit it adds (a sitting that adds none leaves no trace).
    /// </summary>
    public static OutcomeJournal Open(string path, string key, bool resume, string? sitting = null)
    {
        if (key.Contains('\n')) throw new ArgumentException("a journal key is one line.", nameof(key));
        if (sitting != null && (sitting.Contains('\n') || sitting.Contains('\t'))) throw new ArgumentException("a sitting is one line without tabs.", nameof(sitting));
        // Taken before the journal is read or replaced: a second evaluation into the same --out would otherwise truncate it.
        var writing = OutputLock.Take(path);
        try { return Open(path, key, resume, sitting, writing); }
        catch { writing.Dispose(); throw; }
    }

    static OutcomeJournal Open(string path, string key, bool resume, string? sitting, OutputLock writing)
    {
        // A journal killed before its key line was whole holds nothing: it is started afresh.
        if (resume && File.Exists(path) && Parse(path) is ({ } fileKey, var finished, _, var end))
        {
            if (fileKey != key)
                throw new InvalidDataException($"{path} was written by an evaluation with other models or options (attacks, budgets, sample, batch size or seed); " +
                                               "run with the same options to resume it, or without --resume to start afresh.");
            var existing = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.Read);
            existing.SetLength(end); // drop a block cut off by a kill
            existing.Seek(end, SeekOrigin.Begin);
            return new OutcomeJournal(path, key, existing, writing, finished, sitting);
        }
        var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read);
        var header = Encoding.UTF8.GetBytes($"{Magic}\n# key {key}\n");
        stream.Write(header);
        stream.Flush(flushToDisk: true);
        return new OutcomeJournal(path, key, stream, writing, [], sitting);
    }

    /// <summary>
    /// The finished units of the journal at <paramref name="path"/>, its key, and the hardware of each sitting that added
    /// units, in order (none for a journal written before sittings were recorded); a trailing cut-off block is ignored.
    /// </summary>
    public static (string Key, IReadOnlyList<JournalUnit> Units, IReadOnlyList<string> Sittings) Read(string path)
    {
        var (key, finished, sittings, _) = Parse(path);
        return (key ?? throw new InvalidDataException($"{path} has no key line: it is empty or was cut off as it was created."), finished, sittings);
    }

    public bool TryGet(string job, int batch, out JournalUnit unit) => units.TryGetValue((job, batch), out unit!);

    /// <summary>Appends a finished unit and flushes it to disk.</summary>
    public void Append(JournalUnit unit)
    {
        if (unit.Job.Contains('\t') || unit.Job.Contains('\n')) throw new ArgumentException($"job name '{unit.Job}' contains a tab or a line break.", nameof(unit));
        var text = new StringBuilder();
        if (sitting != null) text.Append(CultureInfo.InvariantCulture, $"sitting\t{sitting}\n");
        text.Append(CultureInfo.InvariantCulture, $"unit\t{unit.Job}\t{unit.Batch}\n");
        foreach (var l in unit.Lines)
            text.Append(CultureInfo.InvariantCulture, $"{l.Id},{l.Label},{l.Prediction},{l.Linf:R},{l.L2:R},{l.Queries}\n");
        text.Append(CultureInfo.InvariantCulture, $"end\t{unit.Lines.Count}\t{unit.Seconds:R}\n");
        stream.Write(Encoding.UTF8.GetBytes(text.ToString()));
        stream.Flush(flushToDisk: true);
        units[(unit.Job, unit.Batch)] = unit;
        sitting = null;
    }

    /// <summary>Key (null if its line is not whole), whole blocks, sittings, and the byte offset just after the last whole block.</summary>
    static (string? Key, List<JournalUnit> Units, List<string> Sittings, long End) Parse(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var finished = new List<JournalUnit>();
        var sittings = new List<string>();
        string? pendingSitting = null; // counts once a whole block follows it
        string? key = null;
        long end = 0, offset = 0;
        string? job = null; int batch = 0; List<OutcomeLine>? lines = null;
        int lineNumber = 0;
        while (offset < bytes.Length)
        {
            int newline = Array.IndexOf(bytes, (byte)'\n', (int)offset);
            if (newline < 0) break; // a line cut off by a kill
            var line = Encoding.UTF8.GetString(bytes, (int)offset, (int)(newline - offset));
            offset = newline + 1;
            lineNumber++;
            if (lineNumber == 1)
            {
                if (line != Magic) throw new InvalidDataException($"{path} is not a pdnn evaluation journal (first line '{line}').");
                continue;
            }
            if (lineNumber == 2)
            {
                if (!line.StartsWith("# key ")) throw new InvalidDataException($"{path}: line 2 should hold the key, got '{line}'.");
                key = line["# key ".Length..];
                end = offset;
                continue;
            }
            var fields = line.Split('\t');
            if (fields[0] == "sitting" && fields.Length == 2 && lines == null) pendingSitting = fields[1];
            else if (fields[0] == "unit" && fields.Length == 3 && int.TryParse(fields[2], CultureInfo.InvariantCulture, out batch))
            {
                job = fields[1]; lines = [];
            }
            else if (fields[0] == "end" && fields.Length == 3 && job != null && lines != null
                     && int.TryParse(fields[1], CultureInfo.InvariantCulture, out int count) && count == lines.Count
                     && double.TryParse(fields[2], CultureInfo.InvariantCulture, out double seconds))
            {
                finished.Add(new JournalUnit(job, batch, lines, seconds));
                if (pendingSitting != null) { sittings.Add(pendingSitting); pendingSitting = null; }
                else if (sittings.Count == 0) sittings.Add(UnrecordedSitting);
                job = null; lines = null;
                end = offset;
            }
            else if (lines != null && ParseLine(line) is { } outcome) lines.Add(outcome);
            else throw new InvalidDataException($"{path}, line {lineNumber}: '{line}' is not part of a journal block.");
        }
        // Later blocks of the same unit (a resumed run repeating one) replace earlier ones; they hold the same outcomes.
        var distinct = finished.GroupBy(u => (u.Job, u.Batch)).Select(g => g.Last()).ToList();
        return (key, distinct, sittings, end);
    }

    static OutcomeLine? ParseLine(string line)
    {
        var f = line.Split(',');
        var c = CultureInfo.InvariantCulture;
        return f.Length == 6 && long.TryParse(f[0], c, out var id) && long.TryParse(f[1], c, out var label) && long.TryParse(f[2], c, out var prediction)
               && double.TryParse(f[3], c, out var linf) && double.TryParse(f[4], c, out var l2) && long.TryParse(f[5], c, out var queries)
            ? new OutcomeLine(id, label, prediction, linf, l2, queries) : null;
    }

    public void Dispose()
    {
        stream.Dispose();
        writing.Dispose();
    }
}
