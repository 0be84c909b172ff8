namespace Pdnn.Torch.Models;

/// <summary>The shape of a CIFAR-style ResNet and the per-channel statistics its first layer normalises with.</summary>
public sealed record ResNetSpec(string Name, int[] Widths, int[] BlocksPerStage, float[] Mean, float[] Std)
{
    // CIFAR-10 training-set channel statistics (the usual published values).
    static readonly float[] CifarMean = [0.4914f, 0.4822f, 0.4465f];
    static readonly float[] CifarStd = [0.2470f, 0.2435f, 0.2616f];

    /// <summary>He et al. 2016's ResNet-20 for CIFAR: 3 stages of 3 blocks, 16/32/64 channels, ~0.27 M parameters.</summary>
    public static ResNetSpec ResNet20 => new("resnet20", [16, 32, 64], [3, 3, 3], CifarMean, CifarStd);
    /// <summary>ResNet-18 adapted to 32x32 inputs (3x3 stem, no max-pool): 4 stages of 2 blocks, 64..512 channels, ~11 M parameters.</summary>
    public static ResNetSpec ResNet18 => new("resnet18", [64, 128, 256, 512], [2, 2, 2, 2], CifarMean, CifarStd);
    /// <summary>ResNet-8: one block per stage; quick experiments.</summary>
    public static ResNetSpec ResNet8 => new("resnet8", [16, 32, 64], [1, 1, 1], CifarMean, CifarStd);
    /// <summary>A tiny ResNet (8/16/32 channels, one block per stage, ~20 k parameters): tests and the one-minute demo on CPU.</summary>
    public static ResNetSpec Tiny => new("tiny", [8, 16, 32], [1, 1, 1], CifarMean, CifarStd);

    public static IReadOnlyList<string> Names => ["resnet20", "resnet18", "resnet8", "tiny"];

    public static ResNetSpec FromName(string name) => name.ToLowerInvariant() switch
    {
        "resnet20" => ResNet20,
        "resnet18" => ResNet18,
        "resnet8" => ResNet8,
        "tiny" => Tiny,
        _ => throw new ArgumentException($"unknown architecture '{name}'; expected one of {string.Join(", ", Names)}."),
    };
}
