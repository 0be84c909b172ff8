using Pdnn.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace Pdnn.Attacks.Attacks;

/// <summary>FGSM (Goodfellow et al. 2015): one step of size ε along the sign of the loss gradient.</summary>
public sealed class Fgsm(Func<Tensor, Tensor> model, double epsilon) : Attack(model, epsilon)
{
    public override Tensor Perturb(Tensor images, Tensor labels, long[] ids)
    {
        using var scope = NewDisposeScope();
        var adversarial = Step(images, LossGradient(images, labels), Epsilon);
        return Project(adversarial, images).detach().MoveToOuterDisposeScope();
    }
}
