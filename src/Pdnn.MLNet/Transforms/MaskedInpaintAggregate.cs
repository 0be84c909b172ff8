using Pdnn.Data;
using Pdnn.MLNet.Execution;

namespace Pdnn.MLNet.Transforms;

/// <summary>
/// FIR's δ, p and μ in one stage: for each of K complementary masks M_k, the inpainter F fills x⊙(1−M_k) (with M_k as a
/// 4th input channel when F takes one), and only the filled pixels are kept: output = Σ_k M_k ⊙ F(x⊙(1−M_k)). Every pixel
/// of the output is thus a prediction made without seeing that pixel. All K x batch inputs go to the model in one call.
/// Masks are drawn once per transformer (seeded), or, with <c>redrawPerImage</c>, afresh for every image of every call
/// (from the seed, the call and the row, so batching does not change them; or, with <see cref="RandomnessKey.PerImage"/>, from
/// the seed and the image's content).
/// </summary>
public sealed class MaskedInpaintAggregateTransformer : ImageToImageTransformer, IDisposable
{
    readonly OnnxModelSession session;
    readonly MaskSet fixedMasks;

    internal MaskedInpaintAggregateTransformer(string input, string output, ImageShape shape, string modelPath, int maskCount, int gridCell,
                                               int seed, bool redrawPerImage, int batchSize, ExecutionDevice device,
                                               RandomnessKey randomness = RandomnessKey.PerCall)
        : base(input, output, shape, batchSize)
    {
        fixedMasks = MaskSet.Draw(maskCount, gridCell, shape.Height, shape.Width, new Random(seed)); // validates the parameters
        if ((long)batchSize * maskCount * (shape.Channels + 1) * shape.Height * shape.Width > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(batchSize), $"batch size {batchSize} x {maskCount} masks of {shape} images is more than one array holds.");
        session = OnnxModelSession.Open(modelPath, shape, device, shape.Channels + 1, shape.Channels);
        MaskCount = maskCount; GridCell = gridCell; RedrawPerImage = redrawPerImage; Seed = seed; Randomness = randomness;
    }

    public int MaskCount { get; }
    public int GridCell { get; }
    public bool RedrawPerImage { get; }
    /// <summary>What redrawn masks are a function of (fixed masks do not depend on it).</summary>
    public RandomnessKey Randomness { get; }
    public string Device => session.Device;

    public override Persistence.StageDescription Describe() => Description("MaskedInpaintAggregate", OutputColumn) with
    {
        Model = session.Source,
        Parameters = new() { ["maskCount"] = MaskCount, ["gridCell"] = GridCell, ["seed"] = Seed, ["redrawPerImage"] = RedrawPerImage ? 1 : 0, ["randomness"] = (double)Randomness },
    };

    public int Seed { get; }

    /// <summary>The masks used for the next image when they are fixed.</summary>
    public MaskSet Masks => fixedMasks;

    protected internal override void ComputeBatch(float[] images, int count, Array[] outputs, RowKey first)
    {
        int k = MaskCount, c = Shape.Channels, plane = Shape.Height * Shape.Width, inC = session.InputChannels;
        var masks = new MaskSet[count];
        for (int i = 0; i < count; i++)
            masks[i] = RedrawPerImage ? MaskSet.Draw(MaskCount, GridCell, Shape.Height, Shape.Width, (first with { Row = first.Row + i }).For(images.AsSpan(i * Shape.Size, Shape.Size), Randomness).Random(Seed, Seeds.MaskStream, 0)) : fixedMasks;

        var inputShape = new ImageShape(inC, Shape.Height, Shape.Width);
        var inputs = new float[count * k * inputShape.Size];
        for (int i = 0; i < count; i++)
            for (int m = 0; m < k; m++)
            {
                var target = inputs.AsSpan((i * k + m) * inputShape.Size, inputShape.Size);
                for (int p = 0; p < plane; p++)
                {
                    bool hidden = masks[i].Covers(m, p);
                    for (int ch = 0; ch < c; ch++) target[ch * plane + p] = hidden ? 0f : images[i * Shape.Size + ch * plane + p];
                    if (inC > c) target[c * plane + p] = hidden ? 1f : 0f;
                }
            }
        var filled = session.Run(inputs, count * k, inputShape);
        if (filled.Length != count * k * Shape.Size)
            throw new InvalidDataException($"ONNX model '{session.Source}' gave {filled.Length / (count * k)} values per image, expected {Shape.Size} ({Shape}).");

        var output = (float[])outputs[0];
        for (int i = 0; i < count; i++)
            for (int p = 0; p < plane; p++)
            {
                int m = masks[i].Owner(p);
                for (int ch = 0; ch < c; ch++) output[i * Shape.Size + ch * plane + p] = filled[(i * k + m) * Shape.Size + ch * plane + p];
            }
    }


    public void Dispose() => session.Dispose();
}
