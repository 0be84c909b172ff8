using Pdnn.Torch.Devices;

namespace Pdnn.Torch.Tests;

[TestClass]
public sealed class CpuKernelsTests
{
    const string Amd = "vendor_id\t: AuthenticAMD\nflags\t\t: fpu sse2 avx2 avx512f avx512bw avx512_bf16\n";
    const string AmdWithoutAvx512 = "vendor_id\t: AuthenticAMD\nflags\t\t: fpu sse2 avx2 fma\n";
    const string Intel = "vendor_id\t: GenuineIntel\nflags\t\t: fpu sse2 avx2 avx512f amx_bf16\n";

    static Func<string, string?> Env(params (string Name, string Value)[] set) => name => set.FirstOrDefault(v => v.Name == name).Value;

    [TestMethod]
    public void AnAmdCpuWithAvx512IsCappedAtAvx2AndNothingElseIs()
    {
        StringAssert.Contains(CpuKernels.Decide(Env(), Amd, out var isa), "capped at AVX2");
        Assert.AreEqual("AVX2", isa);
        Assert.AreEqual("", CpuKernels.Decide(Env(), AmdWithoutAvx512, out isa));
        Assert.IsNull(isa);
        Assert.AreEqual("", CpuKernels.Decide(Env(), Intel, out isa));
        Assert.IsNull(isa);
    }

    [TestMethod]
    public void AnExplicitChoiceInTheEnvironmentWins()
    {
        StringAssert.Contains(CpuKernels.Decide(Env(("DNNL_MAX_CPU_ISA", "AVX512_CORE")), Amd, out var isa), "AVX512_CORE by the environment");
        Assert.IsNull(isa, "an ISA the user set is not overwritten");
        StringAssert.Contains(CpuKernels.Decide(Env(("ONEDNN_MAX_CPU_ISA", "SSE41")), Intel, out isa), "SSE41 by the environment");
        Assert.AreEqual("", CpuKernels.Decide(Env((CpuKernels.OverrideVariable, "native")), Amd, out isa));
        Assert.IsNull(isa);
    }
}
