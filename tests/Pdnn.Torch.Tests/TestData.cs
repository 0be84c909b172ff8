using Pdnn.Data;
using Pdnn.Tests;

namespace Pdnn.Torch.Tests;

/// <summary>The bundled real CIFAR-10 sample, decoded once per test run.</summary>
static class TestData
{
    static readonly Lazy<ImageDataset> train = new(() => DatasetLoader.Load(TestPaths.Sample, Split.Train, new() { UseCache = false }));
    static readonly Lazy<ImageDataset> test = new(() => DatasetLoader.Load(TestPaths.Sample, Split.Test, new() { UseCache = false }));

    public static ImageDataset Train => train.Value;
    public static ImageDataset Test => test.Value;
}
