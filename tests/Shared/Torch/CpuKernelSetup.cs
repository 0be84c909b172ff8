// Compiled into the test projects that run TorchSharp (their .csproj links it; tests/Shared/*.cs does not reach here).

/// <summary>libtorch's CPU kernels are chosen before any test's first convolution (see Pdnn.Torch.Devices.CpuKernels).</summary>
[TestClass]
public sealed class CpuKernelSetup
{
    [AssemblyInitialize]
    public static void ChooseKernels(TestContext _) => Pdnn.Torch.Devices.CpuKernels.Configure();
}
