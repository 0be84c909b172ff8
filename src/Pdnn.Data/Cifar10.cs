namespace Pdnn.Data;

/// <summary>The CIFAR-10 class names in their standard index order (0 airplane ... 9 truck).</summary>
public static class Cifar10
{
    public static readonly IReadOnlyList<string> ClassNames =
        ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];
}
