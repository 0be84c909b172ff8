using Pdnn.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Pdnn.Torch;

/// <summary>
/// TorchSharp's BatchNorm2d, LeakyReLU, SGD and Adam (same parameters, buffers, state, file formats and numbers) without a
/// use-after-free. In TorchSharp 0.107 all three hand libtorch <see cref="Scalar"/>s made by implicit conversion
/// (<c>num_batches_tracked.add_(1)</c>, <c>param.add_(grad, alpha: -lr)</c>, ...) that are unreachable during the native
/// call: a garbage collection started by another thread can finalise (free) them while libtorch still reads them, and
/// the call fails with "Unknown scalar type". It happened once in CI, in a BatchNorm of a training step, on a 2-core
/// machine running seven test processes. These versions hold every scalar they pass: a static one, or one disposed
/// after the step. The same race is in every other call that converts a number, <c>a + b</c> on tensors included
/// (TorchSharp's <c>a.add(b, 1)</c>): per-batch code passes <see cref="One"/>, <see cref="Zero"/> or a <c>using</c>
/// scalar instead, and GcSafeScalarTests (Pdnn.Attacks.Tests) finds any per-batch method that does not.
/// </summary>
public static class GcSafe
{
    /// <summary>The integers 1 and 0 as scalars that live as long as the process, for per-batch calls that need them
    /// (<c>a.add(b, GcSafe.One)</c> is TorchSharp's <c>a + b</c>, <c>x.clamp(GcSafe.Zero, GcSafe.One)</c> its <c>x.clamp(0, 1)</c>).
    /// Never dispose them. Other numbers: <c>using var s = value.ToScalar();</c> around the call.</summary>
    public static readonly Scalar One = 1, Zero = 0;

    /// <summary>1 − <paramref name="t"/> (TorchSharp's <c>1 - t</c> converts the 1 at every call).</summary>
    public static Tensor OneMinus(Tensor t) => t.neg().add(One, One);

    /// <summary>BatchNorm2d with PyTorch's defaults (affine, running statistics, momentum 0.1).</summary>
    public sealed class BatchNorm2d : BatchNorm
    {
        public BatchNorm2d(long features, double eps = 1e-5, double momentum = 0.1)
            : base(features, eps, momentum, affine: true, track_running_stats: true, device: null, dtype: null, nameof(BatchNorm2d))
        {
        }

        protected override void ValidateInputDimensions(Tensor input)
        {
            if (input.ndim != 4) throw new ArgumentException($"BatchNorm2d expects a 4-D input (N, C, H, W), got {input.ndim}-D [{string.Join(", ", input.shape)}].");
        }

        /// <summary>PyTorch's <c>_BatchNorm.forward</c> with a fixed momentum: batch statistics in training (updating the
        /// running ones and the batch count), running statistics in evaluation.</summary>
        public override Tensor forward(Tensor input)
        {
            ValidateInputDimensions(input);
            if (training && num_batches_tracked is { } count) count.add_(One, One);
            return nn.functional.batch_norm(input, running_mean, running_var, weight, bias, training, momentum ?? 0.1, eps);
        }
    }

    /// <summary>LeakyReLU holding its slope as a scalar (TorchSharp's converts the slope at every call); exported as
    /// ONNX LeakyRelu like TorchSharp's.</summary>
    public sealed class LeakyReLU : nn.Module<Tensor, Tensor>, IOnnxExportable
    {
        readonly double slope;
        readonly Scalar slopeScalar;

        public LeakyReLU(double negativeSlope = 0.01) : base(nameof(LeakyReLU))
        {
            slope = negativeSlope;
            slopeScalar = negativeSlope.ToScalar();
        }

        public override Tensor forward(Tensor input) => input.leaky_relu(slopeScalar);

        public string ExportOnnx(OnnxGraphBuilder g, string x) => g.Node("LeakyRelu", [x], attributes: ("alpha", slope));

        protected override void Dispose(bool disposing)
        {
            if (disposing) slopeScalar.Dispose();
            base.Dispose(disposing);
        }
    }

    /// <summary>SGD with momentum and weight decay. Its type name is TorchSharp's, so that the optimiser state files of
    /// either load into the other (TorchSharp checks the name).</summary>
    public sealed class SGD : TorchSharp.Modules.SGD
    {
        public SGD(IEnumerable<Parameter> parameters, double lr, double momentum = 0, double weightDecay = 0)
            : base(parameters, lr, momentum, dampening: 0, weight_decay: weightDecay)
        {
        }

        public override Tensor step(Func<Tensor>? closure = null) => _step<ParamGroup>(group =>
        {
            var options = group.Options;
            if (options.nesterov == true || options.maximize == true)
                throw new NotSupportedException("GcSafe.SGD: Nesterov momentum and maximisation are not implemented.");
            double momentum = options.momentum!.Value, weightDecay = options.weight_decay!.Value;
            using var decay = weightDecay.ToScalar();
            using var momentumScalar = momentum.ToScalar();
            using var keep = (1 - options.dampening!.Value).ToScalar();
            using var descent = (-options.LearningRate!.Value).ToScalar();
            foreach (var param in group.Parameters)
            {
                var grad = param.grad;
                if (grad is null) continue;
                var state = (State)_state[param.Handle];
                if (weightDecay != 0) grad = grad.add(param, decay);
                if (momentum != 0)
                {
                    if (state.momentum_buffer is null) state.momentum_buffer = grad.clone().detach().DetachFromDisposeScope();
                    else state.momentum_buffer.mul_(momentumScalar).add_(grad, keep);
                    grad = state.momentum_buffer;
                }
                param.add_(grad, descent);
            }
        }, closure);
    }

    /// <summary>Adam (Kingma and Ba; L2 weight decay added to the gradient, as TorchSharp's). Its type name is
    /// TorchSharp's, so that the optimiser state files of either load into the other.</summary>
    public sealed class Adam : TorchSharp.Modules.Adam
    {
        public Adam(IEnumerable<Parameter> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0)
            : base(parameters, lr, beta1, beta2, eps, weightDecay)
        {
        }

        public override Tensor step(Func<Tensor>? closure = null) => _step<ParamGroup>(group =>
        {
            var options = group.Options;
            if (options.amsgrad == true || options.maximize == true)
                throw new NotSupportedException("GcSafe.Adam: AMSGrad and maximisation are not implemented.");
            double beta1 = options.beta1!.Value, beta2 = options.beta2!.Value, weightDecay = options.weight_decay!.Value;
            double lr = options.LearningRate!.Value;
            using var decay = weightDecay.ToScalar();
            using var beta1Scalar = beta1.ToScalar();
            using var beta2Scalar = beta2.ToScalar();
            using var keep1 = (1 - beta1).ToScalar();
            using var keep2 = (1 - beta2).ToScalar();
            using var eps = options.eps!.Value.ToScalar();
            foreach (var param in group.Parameters)
            {
                var grad = param.grad;
                if (grad is null) continue;
                var state = (State)_state[param.Handle];
                state.step += 1;
                using var rootCorrection2 = Math.Sqrt(1 - Math.Pow(beta2, state.step)).ToScalar();
                using var descent = (-(lr / (1 - Math.Pow(beta1, state.step)))).ToScalar();
                if (weightDecay != 0) grad = grad.add(param, decay);
                state.exp_avg.mul_(beta1Scalar).add_(grad, keep1);
                state.exp_avg_sq.mul_(beta2Scalar).addcmul_(grad, grad.conj(), keep2);
                var denominator = state.exp_avg_sq.sqrt().div_(rootCorrection2).add_(eps, One);
                param.addcdiv_(state.exp_avg, denominator, descent);
            }
        }, closure);
    }
}
