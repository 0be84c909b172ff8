namespace Pdnn.MLNet.Execution;

/// <summary>
/// Bilinear resizing of CHW images with PyTorch's align_corners=false (half-pixel) rule and no antialiasing, the same
/// arithmetic as TorchSharp's interpolate and ONNX Resize(coordinate_transformation_mode=pytorch_half_pixel).
/// </summary>
public static class Bilinear
{
    public static void Resize(ReadOnlySpan<float> source, int channels, int height, int width, Span<float> target, int outHeight, int outWidth)
    {
        for (int y = 0; y < outHeight; y++)
        {
            var (y0, y1, wy) = Source(y, height, outHeight);
            for (int x = 0; x < outWidth; x++)
            {
                var (x0, x1, wx) = Source(x, width, outWidth);
                for (int c = 0; c < channels; c++)
                {
                    int plane = c * height * width;
                    float top = source[plane + y0 * width + x0] * (1 - wx) + source[plane + y0 * width + x1] * wx;
                    float bottom = source[plane + y1 * width + x0] * (1 - wx) + source[plane + y1 * width + x1] * wx;
                    target[c * outHeight * outWidth + y * outWidth + x] = top * (1 - wy) + bottom * wy;
                }
            }
        }
    }

    static (int Low, int High, float Weight) Source(int index, int size, int outSize)
    {
        float scale = (float)size / outSize;
        float src = Math.Max(0f, (index + 0.5f) * scale - 0.5f);
        int low = Math.Min((int)src, size - 1);
        int high = Math.Min(low + 1, size - 1);
        return (low, high, src - low);
    }
}
