using Pdnn.Torch;
using static TorchSharp.torch;

namespace Pdnn.Attacks;

/// <summary>
/// BPDA (Athalye et al. 2018) with the identity as the backward approximation: the forward pass applies the
/// non-differentiable pre-processing (JPEG, median filter, bit-depth reduction) exactly, the backward pass treats it as
/// the identity, so gradient attacks reach the classifier behind it: x + (f(x) − x).detach().
/// </summary>
public static class Bpda
{
    public static Func<Tensor, Tensor> Identity(Func<Tensor, Tensor> preprocess) =>
        x => x.add((preprocess(x.detach()) - x).detach(), GcSafe.One); // x + (f(x) − x).detach(), its scalar held (GcSafe)
}
