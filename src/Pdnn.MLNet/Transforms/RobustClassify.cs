using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using Pdnn.MLNet.Execution;

namespace Pdnn.MLNet.Transforms;

/// <summary>
/// C, the classifier of a φDNN (or of a baseline): runs an ONNX classifier (N x C x H x W in [0,1] → N x K logits) and
/// adds ML.NET's usual Score (softmax probabilities) and PredictedLabel (a key whose key values are the class names).
/// </summary>
public sealed class RobustClassifyTransformer : BatchedImageTransformer, IDisposable
{
    readonly OnnxModelSession session;

    internal RobustClassifyTransformer(string inputColumn, string modelPath, ImageShape shape, IReadOnlyList<string>? classNames,
                                       int batchSize, ExecutionDevice device, string scoreColumn, string labelColumn)
        : base(inputColumn, shape, batchSize)
    {
        session = OnnxModelSession.Open(modelPath, shape, device);
        ClassNames = classNames ?? ClassNamesFromMetadata(session)
            ?? throw new ArgumentException($"ONNX model '{modelPath}' carries no class_names metadata; pass classNames.");
        Outputs = [OutputColumn.Vector(scoreColumn, ClassNames.Count), OutputColumn.Key(labelColumn, ClassNames)];
    }

    public IReadOnlyList<string> ClassNames { get; }
    public string Device => session.Device;

    public override Persistence.StageDescription Describe() =>
        Description("RobustClassify", Outputs[0].Name, Outputs[1].Name) with { Model = session.Source, ClassNames = [.. ClassNames] };
    public override IReadOnlyList<OutputColumn> Outputs { get; }

    static IReadOnlyList<string>? ClassNamesFromMetadata(OnnxModelSession s) =>
        s.Metadata.TryGetValue("class_names", out var json) ? JsonSerializer.Deserialize<string[]>(json) : null;

    protected internal override void ComputeBatch(float[] images, int count, Array[] outputs, RowKey first)
    {
        var logits = session.Run(images, count, Shape);
        int k = ClassNames.Count;
        if (logits.Length != count * k)
            throw new InvalidDataException($"ONNX model '{session.Source}' gave {logits.Length / Math.Max(1, count)} outputs per image, expected {k} class scores.");
        var scores = (float[])outputs[0];
        var labels = (uint[])outputs[1];
        for (int i = 0; i < count; i++)
        {
            var row = logits.AsSpan(i * k, k);
            float max = float.NegativeInfinity;
            int best = 0;
            for (int j = 0; j < k; j++) if (row[j] > max) { max = row[j]; best = j; }
            double sum = 0;
            for (int j = 0; j < k; j++) sum += scores[i * k + j] = MathF.Exp(row[j] - max);
            for (int j = 0; j < k; j++) scores[i * k + j] = (float)(scores[i * k + j] / sum);
            labels[i] = (uint)best + 1; // ML.NET keys are 1-based; 0 means missing
        }
    }

    public void Dispose() => session.Dispose();
}

public sealed class RobustClassifyEstimator(string inputColumn, string modelPath, ImageShape shape, IReadOnlyList<string>? classNames,
                                            int batchSize, ExecutionDevice device, string scoreColumn, string labelColumn)
    : IEstimator<RobustClassifyTransformer>
{
    public RobustClassifyTransformer Fit(IDataView input)
    {
        shape.CheckColumn(input.Schema, inputColumn);
        return new RobustClassifyTransformer(inputColumn, modelPath, shape, classNames, batchSize, device, scoreColumn, labelColumn);
    }

    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        shape.CheckColumn(inputSchema, inputColumn);
        // The class count is known once the model is read; the shape only needs the columns' kinds.
        return SchemaShapes.With(inputSchema, (scoreColumn, new VectorDataViewType(NumberDataViewType.Single, 0)),
                                              (labelColumn, new KeyDataViewType(typeof(uint), int.MaxValue)));
    }
}
