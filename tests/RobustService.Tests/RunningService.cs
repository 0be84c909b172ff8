using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Pdnn.Tests;

namespace RobustService.Tests;

/// <summary>The sample service running on a free loopback port, over a chain built from the shipped models (NSR, noise keyed by the image).</summary>
sealed class RunningService : IAsyncDisposable
{
    /// <summary>One saved chain for every test: the first service builds it from the shipped models and saves it here.</summary>
    public static readonly string ModelPath = Path.Combine(TestPaths.NewTempDir(), "served-nsr.pdnn.zip");

    readonly WebApplication app;
    public Uri Address { get; }
    public IImageClassifier Classifier => app.Services.GetRequiredService<IImageClassifier>();
    public HttpClient Client { get; }

    RunningService(WebApplication app, Uri address)
    {
        this.app = app;
        Address = address;
        Client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromMinutes(2) };
    }

    static readonly SemaphoreSlim building = new(1, 1);

    public static async Task<RunningService> StartAsync(string engine)
    {
        await building.WaitAsync(); // the first start builds and saves the model; the others load it
        try
        {
            var app = ServiceApp.Create(["--urls", "http://127.0.0.1:0", "--model", ModelPath, "--engine", engine, "--defence", "nsr"]);
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
            return new RunningService(app, new Uri(address));
        }
        finally { building.Release(); }
    }

    /// <summary>Images of the bundled sample's test split, a few per class.</summary>
    public static string[] SampleImages(int count) => Directory.GetFiles(Path.Combine(TestPaths.Sample, "test"), "*.jpg", SearchOption.AllDirectories)
        .Order(StringComparer.Ordinal).Where((_, i) => i % 17 == 0).Take(count).ToArray();

    public async Task<HttpResponseMessage> PostAsync(byte[] bytes, string fileName = "image.jpg")
    {
        using var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(bytes);
        file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        form.Add(file, "image", fileName);
        return await Client.PostAsync("/classify", form);
    }

    public async Task<Classification> ClassifyAsync(byte[] bytes)
    {
        using var response = await PostAsync(bytes);
        Assert.AreEqual(System.Net.HttpStatusCode.OK, response.StatusCode, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<Classification>())!;
    }

    /// <summary>The same saved chain, loaded with LoadPdnn in this process, predicting one image at a time with a PredictionEngine.</summary>
    public static Func<byte[], Classification> SequentialPredictor()
    {
        var model = ServedModel.LoadOrBuild(new ServiceOptions { Model = ModelPath }, NullLogger.Instance);
        var engine = model.Ml.Model.CreatePredictionEngine<ImageInput, ChainOutput>(model.Chain, new Microsoft.ML.PredictionEngineOptions { OwnsTransformer = false });
        return bytes =>
        {
            var (picture, refusal) = ImageUpload.Decode(bytes, "test image", 4096);
            Assert.IsNull(refusal, refusal?.Detail);
            using (picture) return Classification.From(engine.Predict(new ImageInput { Picture = picture! }), model.ClassNames);
        };
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
