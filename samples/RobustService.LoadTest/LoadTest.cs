using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;

/// <summary>One load-test run against one freshly started service process.</summary>
sealed record Run(string Engine, int Clients, int Requests, double P50, double P99, double RequestsPerSecond, double SequentialP50,
                  double CpuMsPerRequest, double RssStartMb, double[] RssQuartilesMb, double RssPeakMb, int Mismatches, int Errors)
{
    public string Line() => string.Create(CultureInfo.InvariantCulture,
        $"{Engine,-5} {Clients} clients x {Requests}: p50 {P50:F1} ms, p99 {P99:F1} ms, {RequestsPerSecond:F1} requests/s (one client alone: p50 {SequentialP50:F1} ms); " +
        $"server CPU {CpuMsPerRequest:F1} ms/request; " +
        $"RSS start {RssStartMb:F0} MB, quartiles {string.Join(" / ", RssQuartilesMb.Select(m => m.ToString("F0", CultureInfo.InvariantCulture)))} MB, peak {RssPeakMb:F0} MB; {Mismatches} mismatches, {Errors} errors");

    public string Row(string hardware, string defence) => string.Create(CultureInfo.InvariantCulture,
        $"| {DateTime.UtcNow:yyyy-MM-dd} | {defence} | {Engine} | {Clients} x {Requests} | {P50:F1} | {P99:F1} | {RequestsPerSecond:F1} | {SequentialP50:F1} | {CpuMsPerRequest:F1} | " +
        $"{RssStartMb:F0} → {string.Join(" / ", RssQuartilesMb.Select(m => m.ToString("F0", CultureInfo.InvariantCulture)))} (peak {RssPeakMb:F0}) | {Mismatches}/{Clients * Requests} | {hardware} |");
}

static class LoadTest
{
    public static async Task<Run> RunAsync(string serverDll, string model, string defence, string engine, byte[][] images, int clients, int requests)
    {
        int port = FreePort();
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { serverDll, "--urls", $"http://127.0.0.1:{port}", "--model", model, "--defence", defence, "--engine", engine })
            start.ArgumentList.Add(a);
        using var server = Process.Start(start)!;
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        server.OutputDataReceived += (_, e) => { if (e.Data != null) log.Enqueue(e.Data); };
        server.ErrorDataReceived += (_, e) => { if (e.Data != null) log.Enqueue(e.Data); };
        server.BeginOutputReadLine();
        server.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = clients }) { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromMinutes(5) };
            await WaitUntilHealthy(http, server, log);

            // The sequential answers: one request at a time, each image once.
            var expected = new string[images.Length];
            var sequential = new List<double>();
            for (int i = 0; i < images.Length; i++)
            {
                var clock = Stopwatch.StartNew();
                expected[i] = await Classify(http, images[i]) ?? throw new InvalidOperationException($"image {i}: the sequential request failed.");
                sequential.Add(clock.Elapsed.TotalMilliseconds);
            }

            var memory = new MemorySampler(server.Id);
            var cpuBefore = CpuSeconds(server.Id);
            var latencies = new double[clients * requests];
            int mismatches = 0, errors = 0;
            var wall = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
            {
                for (int j = 0; j < requests; j++)
                {
                    int image = (c * requests + j) % images.Length;
                    var clock = Stopwatch.StartNew();
                    var answer = await Classify(http, images[image]);
                    latencies[c * requests + j] = clock.Elapsed.TotalMilliseconds;
                    if (answer == null) Interlocked.Increment(ref errors);
                    else if (answer != expected[image]) Interlocked.Increment(ref mismatches);
                }
            })));
            wall.Stop();
            var cpu = CpuSeconds(server.Id) - cpuBefore;
            var rss = memory.Stop();

            Array.Sort(latencies);
            sequential.Sort();
            double Quantile(double[] sorted, double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
            var quartiles = Enumerable.Range(0, 4).Select(k => rss.Where(s => s.Time >= k / 4.0 * wall.Elapsed.TotalSeconds && s.Time <= (k + 1) / 4.0 * wall.Elapsed.TotalSeconds)
                .Select(s => s.Mb).DefaultIfEmpty(double.NaN).Max()).ToArray();
            return new Run(engine, clients, requests, Quantile(latencies, 0.5), Quantile(latencies, 0.99), latencies.Length / wall.Elapsed.TotalSeconds,
                Quantile([.. sequential], 0.5), 1000 * cpu / latencies.Length, rss[0].Mb, quartiles, rss.Max(s => s.Mb), mismatches, errors);
        }
        finally
        {
            if (!server.HasExited) server.Kill();
            await server.WaitForExitAsync();
        }
    }

    /// <summary>The answer's JSON (label, scores, recreation), compared as text: equal answers serialise equally; null on an error status.</summary>
    static async Task<string?> Classify(HttpClient http, byte[] image)
    {
        using var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(image);
        file.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
        form.Add(file, "image", "image.jpg");
        using var response = await http.PostAsync("/classify", form);
        return response.StatusCode == HttpStatusCode.OK ? await response.Content.ReadAsStringAsync() : null;
    }

    static async Task WaitUntilHealthy(HttpClient http, Process server, System.Collections.Concurrent.ConcurrentQueue<string> log)
    {
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (DateTime.UtcNow < deadline)
        {
            if (server.HasExited) throw new InvalidOperationException($"the service exited ({server.ExitCode}):\n{string.Join('\n', log)}");
            try
            {
                using var r = await http.GetAsync("/healthz");
                if (r.IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) { }
            await Task.Delay(200);
        }
        throw new TimeoutException($"the service did not become healthy in 3 minutes:\n{string.Join('\n', log)}");
    }

    /// <summary>
    /// User + system CPU seconds the process has used (/proc/PID/stat, 100 ticks a second): on a shared machine a
    /// request's wall time depends on the neighbours, its CPU time much less.
    /// </summary>
    static double CpuSeconds(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' '); // after "pid (comm) "; field 3 (state) is fields[0]
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }

    static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}

/// <summary>The server's resident set (VmRSS), read from /proc every 100 ms while the load runs.</summary>
sealed class MemorySampler
{
    readonly List<(double Time, double Mb)> samples = [];
    readonly CancellationTokenSource stop = new();
    readonly Task loop;

    public MemorySampler(int pid)
    {
        var clock = Stopwatch.StartNew();
        loop = Task.Run(async () =>
        {
            while (true)
            {
                var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:"));
                if (line != null) lock (samples) samples.Add((clock.Elapsed.TotalSeconds, double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024));
                if (stop.IsCancellationRequested) return;
                try { await Task.Delay(100, stop.Token); } catch (OperationCanceledException) { }
            }
        });
    }

    public List<(double Time, double Mb)> Stop()
    {
        stop.Cancel();
        loop.Wait();
        lock (samples) return [.. samples];
    }
}
