using System.Reflection;
using Microsoft.AspNetCore.Http.Features;

namespace RobustService;

/// <summary>
/// The service: loads the φDNN once at start-up (LoadPdnn), then serves
/// <list type="bullet">
/// <item>POST /classify: an image (multipart field "image", or the raw body) → { label, scores, recreation };
/// a bad image → 400 with the reason (problem+json), an oversized upload → 413;</item>
/// <item>GET /: a page to upload an image and see the class, the scores and the recreation;</item>
/// <item>GET /model: the served chain's classes, file and engine; GET /healthz: health.</item>
/// </list>
/// </summary>
public static class ServiceApp
{
    public static WebApplication Create(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.Configuration.AddCommandLine(args, ServiceOptions.Switches);
        var options = builder.Configuration.GetSection("Pdnn").Get<ServiceOptions>() ?? new ServiceOptions();
        options.Validate();
        // Per-request logs would cost more than some predictions; warnings and our own start-up lines remain.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Services.AddProblemDetails();
        builder.Services.AddHealthChecks();
        builder.Services.Configure<FormOptions>(f => f.MultipartBodyLengthLimit = options.MaxUploadBytes + 64 * 1024);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(s => ServedModel.LoadOrBuild(options, s.GetRequiredService<ILoggerFactory>().CreateLogger("RobustService")));
        builder.Services.AddSingleton<IImageClassifier>(s => options.Engine == "batch"
            ? new BatchingClassifier(s.GetRequiredService<ServedModel>(), options.MaxBatch)
            : new PooledClassifier(s.GetRequiredService<ServedModel>(), options.MaxConcurrency));

        var app = builder.Build();
        app.UseExceptionHandler();
        // Load the model now, not on the first request: a bad model file stops the start with its reason.
        var model = app.Services.GetRequiredService<ServedModel>();
        app.Services.GetRequiredService<IImageClassifier>();
        app.Logger.LogInformation("Serving {Classes} classes with the {Engine} engine", model.ClassNames.Count, options.Engine);

        app.MapPost("/classify", async (HttpRequest request, IImageClassifier classifier, CancellationToken cancel) =>
        {
            var (bytes, name, refusal) = await ImageUpload.ReadAsync(request, options.MaxUploadBytes, cancel);
            var decoded = refusal == null ? ImageUpload.Decode(bytes!, name, options.MaxImageSide) : (null, refusal);
            if (decoded.Refusal is { } r) return Results.Problem(title: r.Title, detail: r.Detail, statusCode: r.Status);
            using var picture = decoded.Picture!;
            var output = await classifier.ClassifyAsync(picture, cancel);
            return Results.Ok(Classification.From(output, model.ClassNames));
        }).DisableAntiforgery();

        var page = ReadPage();
        app.MapGet("/", () => Results.Content(page, "text/html; charset=utf-8"));
        app.MapGet("/model", () => new { path = Path.GetFullPath(model.Path), classes = model.ClassNames, engine = options.Engine });
        app.MapHealthChecks("/healthz");
        return app;
    }

    static string ReadPage()
    {
        using var s = Assembly.GetExecutingAssembly().GetManifestResourceStream("RobustService.index.html")
            ?? throw new InvalidOperationException("the page index.html is not embedded in the assembly.");
        return new StreamReader(s).ReadToEnd();
    }
}
