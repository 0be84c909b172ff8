// dotnet run -c Release --project samples/RobustService.LoadTest -- --engines pool,batch --clients 8 --requests 50 --repeats 3 \
//     --results benchmarks/serving-load.md
// Starts samples/RobustService (built beside this program) once per engine and run on a free loopback port, sends each of
// --images sample images once, one at a time (the sequential answers), then --clients concurrent clients x --requests
// requests each; every answer must equal the sequential answer for its image. Reports p50/p99 latency, requests/s and the
// server's resident memory (sampled every 100 ms: at the start, quartiles, peak). Only 127.0.0.1 is contacted.
var options = Options.Parse(args);
var serverDll = options.Server ?? Path.Combine(AppContext.BaseDirectory.Replace("RobustService.LoadTest", "RobustService"), "RobustService.dll");
if (!File.Exists(serverDll)) return Fail($"the service {serverDll} is not built; build samples/RobustService or pass --server.");
var sample = options.Images ?? FindAbove(Path.Combine("samples", "data", "cifar10-sample", "test"))
    ?? throw new DirectoryNotFoundException("the bundled sample's test images were not found; pass --image-folder.");
var images = Directory.GetFiles(sample, "*.*", SearchOption.AllDirectories).Where(f => f.EndsWith(".jpg") || f.EndsWith(".png"))
    .Order(StringComparer.Ordinal).Where((_, i) => i % 7 == 0).Take(options.ImageCount).Select(File.ReadAllBytes).ToArray();
var model = options.Model ?? Path.Combine(Path.GetTempPath(), "pdnn-load-test", $"served-{options.Defence}.pdnn.zip");
Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(model))!);
var hardware = $"{CpuModel()}, {Environment.ProcessorCount} logical cores";
Console.WriteLine($"{images.Length} images from {sample}; model {model}; {hardware}");

var runs = new List<Run>();
for (int repeat = 0; repeat < options.Repeats; repeat++)
    foreach (var engine in options.Engines)
    {
        var run = await LoadTest.RunAsync(serverDll, model, options.Defence, engine, images, options.Clients, options.Requests);
        runs.Add(run);
        Console.WriteLine(run.Line());
    }

var summary = runs.GroupBy(r => r.Engine).Select(g => g.ToList()).ToList();
Console.WriteLine();
foreach (var g in summary)
    Console.WriteLine($"{g[0].Engine}: median of {g.Count}: p50 {Median(g.Select(r => r.P50))} ms, p99 {Median(g.Select(r => r.P99))} ms, {Median(g.Select(r => r.RequestsPerSecond))} requests/s");
if (options.Results is { } file)
    File.AppendAllLines(file, runs.Select(r => r.Row(hardware, options.Defence)));
return runs.Any(r => r.Mismatches > 0 || r.Errors > 0) ? 1 : 0;

static double Median(IEnumerable<double> values)
{
    var v = values.Order().ToList();
    return v.Count % 2 == 1 ? v[v.Count / 2] : (v[v.Count / 2 - 1] + v[v.Count / 2]) / 2;
}

static int Fail(string message)
{
    Console.Error.WriteLine($"load test: {message}");
    return 2;
}

static string? FindAbove(string relative)
{
    for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir != null; dir = dir.Parent)
        if (Directory.Exists(Path.Combine(dir.FullName, relative))) return Path.Combine(dir.FullName, relative);
    return null;
}

static string CpuModel()
{
    var line = File.Exists("/proc/cpuinfo") ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name")) : null;
    return line?.Split(':', 2)[1].Trim() ?? "unknown CPU";
}

sealed record Options(string[] Engines, int Clients, int Requests, int ImageCount, int Repeats, string Defence, string? Model, string? Server, string? Images, string? Results)
{
    public static Options Parse(string[] args)
    {
        var o = new Options(["pool", "batch"], 8, 50, 32, 1, "nsr", null, null, null, null);
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            int Int() { var s = Next(); return int.TryParse(s, out var v) && v > 0 ? v : throw new ArgumentException($"{args[i - 1]} '{s}': expected a positive integer."); }
            o = args[i] switch
            {
                "--engines" => o with { Engines = Next().Split(',') },
                "--clients" => o with { Clients = Int() },
                "--requests" => o with { Requests = Int() },
                "--images" => o with { ImageCount = Int() },
                "--repeats" => o with { Repeats = Int() },
                "--defence" => o with { Defence = Next() },
                "--model" => o with { Model = Next() },
                "--server" => o with { Server = Next() },
                "--image-folder" => o with { Images = Next() },
                "--results" => o with { Results = Next() },
                _ => throw new ArgumentException($"unknown option '{args[i]}' (known: --engines, --clients, --requests, --images, --repeats, --defence, --model, --server, --image-folder, --results)."),
            };
        }
        return o;
    }
}
