// A folder of photographs → robust predictions, as one ML.NET chain: LoadImages → ResizeImages (64x64 centre crop) →
// ExtractPixels → the Imagenette classifier (or a pre-processing defence in front of it; NSR: noise, the x4 SR generator,
// resize back, its T classifier; FIR: 10 masks, the inpainter, its T classifier), over the ONNX models shipped in
// models/. Run from the repository root:
//   dotnet run -c Release --project samples/ClassifyPhotos [-- <folder of JPEGs> [none|fs|ss|jpeg|nsr|fir|resnet-adv-n-fgsm|nsr-adv|fir-adv]]
// With no folder it classifies the 13 bundled Imagenette validation photographs (samples/data/imagenette-sample).
using Microsoft.ML;
using Microsoft.ML.Data;
using Pdnn.MLNet;

var folder = args.Length > 0 ? args[0] : Path.Combine("samples", "data", "imagenette-sample");
var defence = args.Length > 1 ? args[1] : "none";
var ml = new MLContext(seed: 0);

// Every file is decoded once up front: a corrupt or non-image file stops here, named, before any prediction.
IDataView files = ImagenetteModels.LoadFolder(ml, folder);
ITransformer model = ImagenetteModels.Chain(ml, ShippedModels.Folder(), defence).Fit(files);
IDataView predictions = model.Transform(files);

var paths = predictions.GetColumn<string>("Path").ToArray();
var labels = predictions.GetColumn<string>("Label").ToArray();
var scores = predictions.GetColumn<VBuffer<float>>("Score").Select(v => v.DenseValues().ToArray()).ToArray();
int known = 0, correct = 0;
for (int i = 0; i < paths.Length; i++)
{
    int best = Array.IndexOf(scores[i], scores[i].Max());
    var predicted = ImagenetteModels.ClassNames[best];
    bool labelled = ImagenetteModels.ClassNames.Contains(labels[i]);
    known += labelled ? 1 : 0;
    correct += labelled && predicted == labels[i] ? 1 : 0;
    Console.WriteLine($"{Path.GetFileName(paths[i]),-32} {predicted,-18} {scores[i][best],6:P1}{(labelled ? predicted == labels[i] ? "  ✓" : $"  ✗ ({labels[i]})" : "")}");
}
if (known > 0) Console.WriteLine($"{correct}/{known} correct ({ImagenetteModels.Describe(defence)})");
