using Pdnn.Torch.Devices;
using TorchSharp;

namespace Pdnn.Torch.Tests;

[TestClass]
public sealed class TorchDeviceTests
{
    [TestMethod]
    public void CpuIsAlwaysAvailableAndSaysWhy()
    {
        var choice = TorchDevice.Resolve("cpu");
        Assert.AreEqual(DeviceType.CPU, choice.Device.type);
        StringAssert.Contains(choice.Description, "requested");
    }

    [TestMethod]
    public void AutoReportsWhatItPicked()
    {
        var choice = TorchDevice.Resolve("auto");
        StringAssert.StartsWith(choice.Description, choice.IsCuda ? "cuda:0 (auto" : "cpu (auto: no CUDA");
    }

    [TestMethod]
    public void CudaWithoutACudaLibTorchFailsClearly()
    {
        if (TorchDevice.Resolve("auto").IsCuda) Assert.Inconclusive("this machine has CUDA.");
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => TorchDevice.Resolve("cuda"));
        StringAssert.Contains(e.Message, "CUDA is not usable here");
        StringAssert.Contains(e.Message, "--device cpu");
    }

    [TestMethod]
    public void UnknownDeviceIsNamed()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() => TorchDevice.Resolve("tpu"));
        StringAssert.Contains(e.Message, "'tpu'");
    }
}
