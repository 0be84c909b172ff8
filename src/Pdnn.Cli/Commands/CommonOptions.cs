using System.CommandLine;
using Pdnn.Data;
using Pdnn.Data.Readers;
using Spectre.Console;

namespace Pdnn.Cli.Commands;

/// <summary>Options that several commands share, and the error handling they all use.</summary>
static class CommonOptions
{
    public static Option<string> Device() => new("--device")
    {
        Description = "auto (CUDA when present, else CPU), cpu, cuda or cuda:N. CUDA without the CUDA package: set PDNN_LIBTORCH_DIR to PyTorch's torch/lib.",
        DefaultValueFactory = _ => "auto",
    };

    public static Option<string> Precision() => new("--precision")
    {
        Description = "Arithmetic of the training steps: fp32, or bf16 (bfloat16 forward/backward, float32 weights; about 2.4x faster on CPUs with AMX, slower on CPUs without bfloat16 instructions). The saved model is float32 either way.",
        DefaultValueFactory = _ => "fp32",
    };

    public static Pdnn.Torch.Training.TrainingPrecision ParsePrecision(string value) => value switch
    {
        "fp32" or "float32" => Pdnn.Torch.Training.TrainingPrecision.Float32,
        "bf16" or "bfloat16" => Pdnn.Torch.Training.TrainingPrecision.BFloat16,
        _ => throw new ArgumentException($"--precision '{value}': expected fp32 or bf16."),
    };

    public static Option<string> Data(string description) => new("--data") { Description = description, Required = true };

    public static Option<string?> ImageSize() => new("--image-size")
    {
        Description = "Resize images to HxW (e.g. 32x32, 64x64); default: keep the files' size, which must then agree.",
    };

    public static Option<bool> CenterCrop() => new("--center-crop")
    {
        Description = "With --image-size: resize the short side and cut the centre (keeps the aspect ratio, as ML.NET's ResizeImages with IsoCrop) instead of stretching the whole image; for photographs such as Imagenette.",
    };

    public static ResizeMode Mode(bool centerCrop) => centerCrop ? ResizeMode.CenterCrop : ResizeMode.Stretch;

    public static Option<bool> NoCache() => new("--no-cache")
    {
        Description = "Decode the images again instead of using the decode cache ($PDNN_CACHE_DIR, else ~/.cache/pdnn).",
    };

    public static Option<int> Seed() => new("--seed") { Description = "Random seed.", DefaultValueFactory = _ => 0 };

    public static (int Height, int Width)? ParseSize(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        var parts = text.ToLowerInvariant().Split('x');
        if (parts.Length == 2 && int.TryParse(parts[0], out var h) && int.TryParse(parts[1], out var w) && h > 0 && w > 0)
            return (h, w);
        throw new ArgumentException($"--image-size '{text}': expected HxW with positive integers, e.g. 32x32.");
    }

    /// <summary>Loads a split through the cache, with a progress line while JPEGs decode, and says what it loaded.</summary>
    public static ImageDataset LoadData(string path, Split split, (int, int)? size, bool noCache, ResizeMode mode = ResizeMode.Stretch)
    {
        if (mode != ResizeMode.Stretch && size == null) throw new ArgumentException("--center-crop needs --image-size (the size to cut).");
        var result = DatasetLoader.Open(path, split, new DatasetLoader.Options
        {
            Size = size,
            Resize = mode,
            UseCache = !noCache,
            // A live count on a terminal; nothing in logs, where carriage returns would pile up.
            Progress = Console.IsErrorRedirected ? null : new Progress<int>(n => Console.Error.Write($"\rdecoding images: {n}")),
        });
        var d = result.Data;
        if (!Console.IsErrorRedirected && !result.FromCache && result.Format == "image-folder") Console.Error.WriteLine();
        AnsiConsole.MarkupLineInterpolated($"[grey]{split.ToString().ToLowerInvariant()} data:[/] {d.Count} images {d.Channels}x{d.Height}x{d.Width}, {d.ClassNames.Count} classes, {result.Format}{(result.FromCache ? " (from cache)" : "")}: {d.Source}");
        return d;
    }

    /// <summary>Runs a command body; expected failures (bad input, bad options) print one clear line and return 2; a run
    /// interrupted where it cannot checkpoint says so and returns 130.</summary>
    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (e is DataFormatException or ArgumentException or InvalidOperationException
                                      or FileNotFoundException or InvalidDataException or DirectoryNotFoundException or Pdnn.MLNet.Persistence.PdnnModelFileException)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
            return 2;
        }
        catch (OperationCanceledException e)
        {
            // Ctrl-C or SIGTERM where a run cannot stop with a checkpoint (see Interruption): the conventional 128 + SIGINT.
            AnsiConsole.MarkupLineInterpolated($"[yellow]stopped:[/] {e.Message}");
            return 130;
        }
    }
}
