using System.Net;
using System.Text.Json;
using SkiaSharp;

namespace RobustService.Tests;

[TestClass]
public sealed class ServingTests
{
    /// <summary>
    /// Concurrent clients get, for every request, exactly the answer the same chain gives one image at a time in this
    /// process (label, every score bit for bit, the recreation's PNG): the pool and the batching queue neither mix up
    /// requests nor change a prediction, and NSR's noise, keyed by the image, does not depend on what else is served.
    /// </summary>
    [TestMethod]
    [DataRow("pool")]
    [DataRow("batch")]
    public async Task ConcurrentRequestsGetTheSequentialAnswers(string engine)
    {
        await using var service = await RunningService.StartAsync(engine);
        var images = RunningService.SampleImages(12).Select(File.ReadAllBytes).ToArray();
        var predict = RunningService.SequentialPredictor();
        var expected = images.Select(predict).ToArray();
        Assert.IsGreaterThanOrEqualTo(3, expected.Select(e => e.Label).Distinct().Count(), "the images are of several classes, so a mixed-up answer shows");

        const int clients = 8, requests = 6;
        var answers = await Task.WhenAll(Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
        {
            var mine = new List<(int Image, Classification Answer)>();
            for (int j = 0; j < requests; j++)
            {
                int image = (c * requests + j * 5) % images.Length;
                mine.Add((image, await service.ClassifyAsync(images[image])));
            }
            return mine;
        })));

        int checkedAnswers = 0;
        foreach (var (image, answer) in answers.SelectMany(a => a))
        {
            var want = expected[image];
            Assert.AreEqual(want.Label, answer.Label, $"image {image}");
            CollectionAssert.AreEqual(want.Scores.ToList(), answer.Scores.ToList(), $"image {image}: scores");
            Assert.AreEqual(want.Recreation, answer.Recreation, $"image {image}: recreation");
            checkedAnswers++;
        }
        Assert.AreEqual(clients * requests, checkedAnswers);
        if (service.Classifier is BatchingClassifier batching)
            Assert.IsGreaterThan(1, batching.LargestBatch, "concurrent requests ran together in batches");
    }

    [TestMethod]
    public async Task BadUploadsGet400WithTheReasonNever500()
    {
        await using var service = await RunningService.StartAsync("pool");
        var jpeg = File.ReadAllBytes(RunningService.SampleImages(1)[0]);

        async Task Refused(HttpResponseMessage response, HttpStatusCode status, string reason)
        {
            using (response)
            {
                var body = await response.Content.ReadAsStringAsync();
                Assert.AreEqual(status, response.StatusCode, body);
                Assert.AreEqual("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                var detail = JsonDocument.Parse(body).RootElement.GetProperty("detail").GetString()!;
                StringAssert.Contains(detail, reason);
            }
        }

        await Refused(await service.PostAsync("this is not an image"u8.ToArray(), "notes.txt"), HttpStatusCode.BadRequest, "notes.txt: 20 bytes that are not an image");
        await Refused(await service.PostAsync(jpeg[..(jpeg.Length / 3)], "cut.jpg"), HttpStatusCode.BadRequest, "cut.jpg");
        var png = Png(256, 256);
        await Refused(await service.PostAsync(png[..(png.Length * 2 / 3)], "cut.png"), HttpStatusCode.BadRequest, "cut.png: the Png data could not be decoded completely");
        await Refused(await service.PostAsync(Png(5000, 20), "wide.png"), HttpStatusCode.BadRequest, "wide.png: 5000x20 pixels; this service accepts 1 to 4096");
        await Refused(await service.Client.PostAsync("/classify", new ByteArrayContent([])), HttpStatusCode.BadRequest, "request body: empty");
        await Refused(await service.Client.PostAsync("/classify", new MultipartFormDataContent { { new StringContent("x"), "note" } }), HttpStatusCode.BadRequest, "the form has no file");
        await Refused(await service.PostAsync(new byte[9 << 20], "huge.bin"), HttpStatusCode.RequestEntityTooLarge, "more than 8388608 bytes");

        // The raw body works as well as the form, and the service still answers after the refusals.
        using var raw = await service.Client.PostAsync("/classify", new ByteArrayContent(jpeg));
        Assert.AreEqual(HttpStatusCode.OK, raw.StatusCode);
    }

    /// <summary>A PNG of random pixels (incompressible, so a cut file loses pixel rows, not just its end marker).</summary>
    static byte[] Png(int width, int height)
    {
        var random = new Random(width * 31 + height);
        var pixels = new byte[width * height * 4];
        random.NextBytes(pixels);
        for (int i = 3; i < pixels.Length; i += 4) pixels[i] = 255;
        using var image = SKImage.FromPixelCopy(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque), pixels);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }
}
