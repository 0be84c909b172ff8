// Tests set process-wide state ($PDNN_CACHE_DIR, torch seeds); run them one at a time.
[assembly: DoNotParallelize]

/// <summary>libtorch's CPU kernels are chosen before any test's first convolution (see Pdnn.Torch.Devices.CpuKernels).</summary>
[TestClass]
public sealed class CpuKernelSetup
{
    [AssemblyInitialize]
    public static void ChooseKernels(TestContext _) => Pdnn.Torch.Devices.CpuKernels.Configure();
}
