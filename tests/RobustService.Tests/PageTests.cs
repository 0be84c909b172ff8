using Microsoft.Playwright;
using Pdnn.Tests;
using SkiaSharp;

namespace RobustService.Tests;

/// <summary>The upload page in a real headless browser: Debian's Chromium (scripts/setup.sh --test-data installs it) driven by Playwright.</summary>
[TestClass]
public sealed class PageTests
{
    const string Chromium = "/usr/bin/chromium";

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public async Task ThePageShowsThePredictedClassScoresAndRecreation()
    {
        if (!File.Exists(Chromium)) Assert.Inconclusive($"{Chromium} not found: apt-get install chromium (scripts/setup.sh --test-data does).");
        await using var service = await RunningService.StartAsync("pool");
        var imagePath = RunningService.SampleImages(5)[4];
        var expected = await service.ClassifyAsync(File.ReadAllBytes(imagePath));

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            // As root, without the sandbox; no connections beyond the page's own (this machine has no other network).
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run"],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 900, Height = 700 } });
        await page.GotoAsync(service.Address.ToString());
        await page.Locator("#file").SetInputFilesAsync(imagePath);
        await page.Locator("#submit").ClickAsync();

        var label = page.Locator("#label");
        await Assertions.Expect(label).ToBeVisibleAsync();
        await Assertions.Expect(label).ToHaveTextAsync(expected.Label);
        await Assertions.Expect(page.Locator("#scores tr")).ToHaveCountAsync(expected.Scores.Count);
        await Assertions.Expect(page.Locator("#scores tr").First).ToContainTextAsync(expected.Label, new() { Timeout = 1000 });
        Assert.AreEqual(expected.Recreation, await page.Locator("#recreation").GetAttributeAsync("src"), "the recreation shown is the one the service returned");
        Assert.IsTrue(await page.Locator("#recreation").EvaluateAsync<bool>("img => img.complete && img.naturalWidth === 32"), "the recreation image loaded");

        var screenshot = Path.Combine(TestPaths.NewTempDir(), "robust-service-page.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot, FullPage = true });
        TestContext.AddResultFile(screenshot);
        TestContext.WriteLine($"screenshot: {screenshot}");

        // The screenshot shows the result: the label's box, where the page drew the class name, holds dark text pixels.
        var box = (await label.BoundingBoxAsync())!;
        using var shot = SKBitmap.Decode(screenshot);
        Assert.IsNotNull(shot, "the screenshot is a PNG");
        int dark = 0;
        for (int y = (int)box.Y; y < (int)(box.Y + box.Height) && y < shot.Height; y++)
            for (int x = (int)box.X; x < (int)(box.X + box.Width) && x < shot.Width; x++)
                if (shot.GetPixel(x, y).Red < 100) dark++;
        Assert.IsGreaterThan(20, dark, $"the predicted class '{expected.Label}' is drawn in the screenshot ({box.Width}x{box.Height} box)");

        // A file that is not an image: the page shows the service's reason, and no result.
        var notImage = Path.Combine(TestPaths.NewTempDir(), "notes.txt");
        await File.WriteAllTextAsync(notImage, "not an image");
        await page.Locator("#file").SetInputFilesAsync(notImage);
        await page.Locator("#submit").ClickAsync();
        await Assertions.Expect(page.Locator("#error")).ToContainTextAsync("not an image");
        await Assertions.Expect(page.Locator("#result")).ToBeHiddenAsync();
    }
}
