using static TorchSharp.torch;

namespace Pdnn.Onnx;

/// <summary>
/// Every convolution here runs on channels-last (NHWC) activations. On some CPUs (seen on a 2-core AMD EPYC with
/// AVX-512 and bfloat16, libtorch 2.10 / oneDNN 3.7.1) the NCHW path computes a convolution's input gradient with
/// oneDNN's channel-blocked kernels, which pad the channels to 16 and read the padding uninitialised: whenever a layer
/// has a channel count that is not a multiple of 16 (an SR generator's 3 output channels, the tiny ResNet's 8), the
/// gradient comes back NaN in 5–65% of calls. Training diverged to NaN and attacks through NSR and FIR were silently
/// blunted. The NHWC path has no channel blocks and never showed it in hundreds of probed calls (speed before and
/// after: benchmarks/train-throughput.md). Convolution outputs keep their input's layout, so making each model's input
/// NHWC is enough; outputs handed to other code go back to the usual NCHW layout (<see cref="Restore"/>). One exception
/// (<see cref="ForConvolution"/>): a strided 1x1 convolution over fewer than a multiple of 16 input channels (the tiny
/// ResNet's 8 → 16 shortcut) runs NCHW, because oneDNN's NHWC kernel for it writes past its buffer (heap corruption,
/// the process aborts; uxlfoundation/oneDNN#6035), while its NCHW gradient has an output channel count that the bug
/// above does not touch; and grouped convolutions run NCHW, because the same CPU's NHWC grouped kernel was off by 0.3
/// (none of our models has one; imported graphs may).
/// </summary>
public static class ChannelsLast
{
    /// <summary>The same values as an N x C x H x W tensor stored NHWC (a copy unless it already is; other ranks as they are).</summary>
    public static Tensor Of(Tensor x) => x.dim() == 4 ? x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2) : x;

    /// <summary>The layout <paramref name="x"/> should have as the input of a convolution with these kernel, stride and input channels.</summary>
    public static Tensor ForConvolution(Tensor x, long kernelSize, long stride, long inChannels, long groups = 1) =>
        groups > 1 || kernelSize == 1 && stride > 1 && inChannels % 16 != 0 ? x.contiguous() : Of(x);

    /// <summary>The same values in the standard contiguous (NCHW) layout, as every reader of raw tensor data expects.</summary>
    public static Tensor Restore(Tensor x) => x.contiguous();
}
