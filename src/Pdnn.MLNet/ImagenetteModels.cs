using Microsoft.ML;
using Microsoft.ML.Transforms.Image;
using Pdnn.Data;
using Pdnn.Data.Readers;
using Pdnn.MLNet.Transforms;

namespace Pdnn.MLNet;

/// <summary>
/// Imagenette (fastai's ten-class subset of ImageNet) as ML.NET chains that start from image files of any size:
/// <c>LoadImages → ResizeImages</c> (short side to <see cref="ImageSize"/>, centre cut: what the shipped classifier was
/// trained on) <c>→ ExtractPixels</c> (3 x 64 x 64 floats in [0,1], channel-major RGB) <c>→</c> the defence's stages
/// over the ONNX models shipped in <c>models/</c>. Point <see cref="LoadFolder"/> at a folder of photographs and
/// <see cref="Chain"/> classifies them.
/// </summary>
public static class ImagenetteModels
{
    /// <summary>The side of the square the images are cut to (64: a ResNet-20 trains at ~31 images/s on one CPU thread; 96 runs at ~13).</summary>
    public const int ImageSize = 64;

    /// <summary>The shipped classifier's folder under <c>models/</c>.</summary>
    public const string ClassifierFolder = "resnet20-imagenette-64";

    /// <summary>FIR's inpainter for 64x64 crops (g = 1: cells of one pixel, as the paper's Table 1 FIR on CIFAR-10).</summary>
    public const string InpainterFolder = "inpainter-lite-g1-imagenette-64";

    /// <summary>FIR's T classifier: the Imagenette ResNet-20 fine-tuned on FIR recreations.</summary>
    public const string FirClassifierFolder = "resnet20-imagenette-64-on-inpainter-lite-g1";

    /// <summary>NSR's super-resolution generator for 64x64 crops (lite, x4: 64 → 256, resized back to 64).</summary>
    public const string SrFolder = "sr-lite-imagenette-64";

    /// <summary>NSR's T classifier: the Imagenette ResNet-20 fine-tuned on NSR recreations.</summary>
    public const string NsrClassifierFolder = "resnet20-imagenette-64-on-sr-lite";

    /// <summary>The adversarially trained classifier: the Imagenette ResNet-20 fine-tuned with N-FGSM (ε = 8/255).</summary>
    public const string AdvClassifierFolder = "resnet20-imagenette-64-adv-n-fgsm";

    /// <summary>FIRadv's classifier: <see cref="AdvClassifierFolder"/> fine-tuned with N-FGSM crafted through the whole FIR φDNN.</summary>
    public const string FirAdvClassifierFolder = "resnet20-imagenette-64-on-inpainter-lite-g1-adv";

    /// <summary>NSRadv's classifier: <see cref="AdvClassifierFolder"/> fine-tuned with N-FGSM crafted through the whole NSR φDNN.</summary>
    public const string NsrAdvClassifierFolder = "resnet20-imagenette-64-on-sr-lite-adv";

    /// <summary>
    /// Defences available on Imagenette: the plain classifier, the pre-processing baselines in front of it, NSR (the
    /// CIFAR-10 NSR's noise, its own SR generator and T classifier), FIR (g = 1, 10 masks, its own inpainter and T
    /// classifier), the adversarially trained classifier alone, and NSRadv and FIRadv (NSR or FIR in front of a classifier
    /// adversarially trained through it).
    /// </summary>
    public static readonly string[] Defences = ["none", "fs", "ss", "jpeg", "nsr", "fir", "resnet-adv-n-fgsm", "nsr-adv", "fir-adv"];

    /// <summary>The classifier folder the defence ends in.</summary>
    static string ClassifierOf(string defence) => defence switch
    {
        "nsr" => NsrClassifierFolder,
        "fir" => FirClassifierFolder,
        "resnet-adv-n-fgsm" => AdvClassifierFolder,
        "nsr-adv" => NsrAdvClassifierFolder,
        "fir-adv" => FirAdvClassifierFolder,
        _ => ClassifierFolder,
    };

    /// <summary>Whether <paramref name="models"/> holds every model of <paramref name="defence"/> (the Imagenette φDNNs ship one by one).</summary>
    public static bool IsShipped(string models, string defence) =>
        File.Exists(Path.Combine(models, ClassifierOf(defence), "classifier.onnx")) && defence switch
        {
            "nsr" or "nsr-adv" => File.Exists(Path.Combine(models, SrFolder, "sr-generator.onnx")),
            "fir" or "fir-adv" => File.Exists(Path.Combine(models, InpainterFolder, "inpainter.onnx")),
            _ => true,
        };

    /// <summary>The WordNet ids (the data set's folder names) in class-index order.</summary>
    public static readonly IReadOnlyList<string> WordNetIds =
        ["n01440764", "n02102040", "n02979186", "n03000684", "n03028079", "n03394916", "n03417042", "n03425413", "n03445777", "n03888257"];

    /// <summary>Human names of the classes, in index order: what <c>PredictedLabel</c> holds.</summary>
    public static readonly IReadOnlyList<string> ClassNames =
        ["tench", "English springer", "cassette player", "chain saw", "church", "French horn", "garbage truck", "gas pump", "golf ball", "parachute"];

    /// <summary>A human name of the defence, for tables.</summary>
    public static string Describe(string defence) => defence switch
    {
        "none" => "ResNet-20 (Imagenette, 64x64), no defence",
        "fs" => "FS: 4-bit squeezing, Imagenette ResNet-20",
        "ss" => "SS: 2x2 median, Imagenette ResNet-20",
        "jpeg" => "JPEG (quality 75), Imagenette ResNet-20",
        "nsr" => "NSR (lite SR x4; Gaussian 0.01 + s&p 0.01), Imagenette ResNet-20 fine-tuned on NSR recreations",
        "fir" => "FIR (lite inpainter, g=1, 10 masks), Imagenette ResNet-20 fine-tuned on FIR recreations",
        "resnet-adv-n-fgsm" => "ResNet-20 (Imagenette, 64x64), N-FGSM adversarial fine-tuning, no pre-processing",
        "nsr-adv" => "NSRadv: NSR (lite SR x4; Gaussian 0.01 + s&p 0.01), classifier N-FGSM-trained through the φDNN (from resnet-adv-n-fgsm)",
        "fir-adv" => "FIRadv: FIR (lite, g=1), classifier N-FGSM-trained through the φDNN (from resnet-adv-n-fgsm)",
        _ => throw new ArgumentException($"Imagenette defence '{defence}': expected one of {string.Join(", ", Defences)}."),
    };

    /// <summary>
    /// Whether <paramref name="path"/> is an Imagenette copy in the ImageFolder layout: root (or its val/ or train/)
    /// holding exactly the ten WordNet-id class folders.
    /// </summary>
    public static bool Recognises(string path) =>
        new[] { path, Path.Combine(path, "val"), Path.Combine(path, "train") }.Where(Directory.Exists).Any(d =>
            Directory.GetDirectories(d).Select(Path.GetFileName).Order(StringComparer.Ordinal).SequenceEqual(WordNetIds));

    /// <summary>The same images with the classes' human names (<see cref="ClassNames"/>) in place of their WordNet ids.</summary>
    public static ImageDataset WithClassNames(ImageDataset data) =>
        data.ClassNames.SequenceEqual(WordNetIds)
            ? new ImageDataset(data.Pixels, data.Labels, ClassNames, data.Channels, data.Height, data.Width, data.Source)
            : throw new ArgumentException($"{data.Source}: classes ({string.Join(", ", data.ClassNames)}) are not Imagenette's WordNet ids.");

    /// <summary>One row per image file: its path, and its label when the folder is laid out as root/&lt;class&gt;/files.</summary>
    public sealed class ImageFile
    {
        public string Path { get; set; } = "";
        public string Label { get; set; } = "";
    }

    /// <summary>
    /// The image files (.jpg, .jpeg, .png, any case) under <paramref name="folder"/>, each checked by decoding it, so a
    /// corrupt, truncated or non-image file is refused here with a <see cref="DataFormatException"/> that names it, not
    /// met half-way through a prediction run. Label is the class folder's human name for Imagenette's WordNet-id folders,
    /// else the folder's own name ("" for files directly in <paramref name="folder"/>).
    /// </summary>
    public static IDataView LoadFolder(MLContext ml, string folder)
    {
        if (!Directory.Exists(folder)) throw new DataFormatException(folder, "folder not found.");
        var files = Directory.GetFiles(folder, "*", SearchOption.AllDirectories).Where(ImageFolderReader.IsImageFile)
            .Order(StringComparer.Ordinal).ToList();
        if (files.Count == 0) throw new DataFormatException(folder, "no .jpg, .jpeg or .png files in the folder or below it.");
        foreach (var f in files) ImageDecoder.Check(f);
        return ml.Data.LoadFromEnumerable(files.Select(f => new ImageFile { Path = Path.GetFullPath(f), Label = LabelOf(folder, f) }).ToList());
    }

    static string LabelOf(string root, string file)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(file))!;
        if (string.Equals(dir, Path.GetFullPath(root).TrimEnd(Path.DirectorySeparatorChar), StringComparison.Ordinal)) return "";
        var name = Path.GetFileName(dir);
        int k = WordNetIds.ToList().IndexOf(name);
        return k >= 0 ? ClassNames[k] : name;
    }

    /// <summary>
    /// Image files to the "Image" column: <c>LoadImages</c> (from <paramref name="pathColumn"/>) <c>→ ResizeImages</c>
    /// (<paramref name="size"/> x <paramref name="size"/>, isotropic with a centre crop) <c>→ ExtractPixels</c> (RGB floats
    /// in [0,1], channel-major). Greyscale files come out as three equal channels.
    /// </summary>
    public static IEstimator<ITransformer> LoadImages(MLContext ml, string pathColumn = "Path", string imageFolder = "", int size = ImageSize,
                                                      string outputColumn = "Image") =>
        ml.Transforms.LoadImages("Bitmap", imageFolder, pathColumn)
            .Append(ml.Transforms.ResizeImages("Bitmap", size, size, "Bitmap", ImageResizingEstimator.ResizingKind.IsoCrop, ImageResizingEstimator.Anchor.Center))
            .Append(ml.Transforms.ExtractPixels(outputColumn, "Bitmap", ImagePixelExtractingEstimator.ColorBits.Rgb,
                    ImagePixelExtractingEstimator.ColorsOrder.ARGB, interleavePixelColors: false, scaleImage: 1f / 255f))
            .Append(ml.Transforms.DropColumns("Bitmap"));

    /// <summary>The defence's stages on the "Image" column (3 x 64 x 64), ending in RobustClassify (Score, PredictedLabel).</summary>
    public static IEstimator<ITransformer> Defence(MLContext ml, string models, string defence = "none", int batchSize = PdnnCatalog.DefaultBatchSize,
                                                   int seed = 0)
    {
        string Model(string folder, string file)
        {
            var path = Path.Combine(models, folder, file);
            return File.Exists(path) ? path
                : throw new FileNotFoundException($"the Imagenette model {path} was not found (defence '{defence}'); is the models folder the repository's models/?");
        }
        RobustClassifyEstimator Classify(string folder) =>
            ml.Transforms.RobustClassify(Model(folder, "classifier.onnx"), imageHeight: ImageSize, imageWidth: ImageSize, classNames: ClassNames, batchSize: batchSize);
        if (defence is "nsr" or "nsr-adv")
            return ml.Transforms.NoisyCorrupt("Image", ShippedModels.NsrNoise, imageHeight: ImageSize, imageWidth: ImageSize, seed: seed, batchSize: batchSize)
                .Append(ml.Transforms.SuperResolve("Image", Model(SrFolder, "sr-generator.onnx"), imageHeight: ImageSize, imageWidth: ImageSize, batchSize: batchSize))
                .Append(Classify(ClassifierOf(defence)));
        if (defence is "fir" or "fir-adv")
            return ml.Transforms.MaskedInpaintAggregate("Image", Model(InpainterFolder, "inpainter.onnx"), gridCell: 1, seed: seed,
                                                        imageHeight: ImageSize, imageWidth: ImageSize, batchSize: batchSize)
                .Append(Classify(ClassifierOf(defence)));
        var classify = Classify(ClassifierOf(defence));
        return defence switch
        {
            "none" or "resnet-adv-n-fgsm" => classify,
            "fs" => ml.Transforms.FeatureSqueeze("Image", bits: 4, imageHeight: ImageSize, imageWidth: ImageSize, batchSize: batchSize).Append(classify),
            "ss" => ml.Transforms.SpatialSmoothing("Image", window: 2, imageHeight: ImageSize, imageWidth: ImageSize, batchSize: batchSize).Append(classify),
            "jpeg" => ml.Transforms.JpegCompression("Image", quality: 75, imageHeight: ImageSize, imageWidth: ImageSize, batchSize: batchSize).Append(classify),
            _ => throw new ArgumentException($"Imagenette defence '{defence}': expected one of {string.Join(", ", Defences)}."),
        };
    }

    /// <summary>From image files (column <paramref name="pathColumn"/>) to predictions: <see cref="LoadImages"/> then <see cref="Defence"/>.</summary>
    public static IEstimator<ITransformer> Chain(MLContext ml, string models, string defence = "none", string pathColumn = "Path",
                                                 int batchSize = PdnnCatalog.DefaultBatchSize) =>
        LoadImages(ml, pathColumn).Append(Defence(ml, models, defence, batchSize));
}
