using Pdnn.Torch.Training;
using static TorchSharp.torch;

namespace Pdnn.Torch.Evaluation;

public sealed record EvalResult(int Count, int Correct, double Loss, double[] PerClassAccuracy)
{
    public double Accuracy => Count == 0 ? 0 : (double)Correct / Count;
}

/// <summary>Test accuracy and loss of a classifier (eval mode, no gradients), in batches.</summary>
public static class ClassifierEvaluator
{
    public static EvalResult Evaluate(nn.Module<Tensor, Tensor> model, DeviceImages data, int batchSize = 500,
                                      IProgress<int>? progress = null)
    {
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            int classes = data.Data.ClassNames.Count;
            var correctPerClass = new long[classes];
            var countPerClass = new long[classes];
            double lossSum = 0;
            for (int start = 0; start < data.Count; start += batchSize)
            {
                using var scope = NewDisposeScope();
                int n = Math.Min(batchSize, data.Count - start);
                var (x, y) = data.Range(start, n);
                var logits = model.forward(x);
                lossSum += nn.functional.cross_entropy(logits, y, reduction: nn.Reduction.Sum).item<float>();
                var predicted = logits.argmax(1).cpu().data<long>().ToArray();
                var labels = y.cpu().data<long>().ToArray();
                for (int i = 0; i < n; i++)
                {
                    countPerClass[labels[i]]++;
                    if (predicted[i] == labels[i]) correctPerClass[labels[i]]++;
                }
                progress?.Report(start + n);
            }
            var perClass = correctPerClass.Select((c, k) => countPerClass[k] == 0 ? double.NaN : (double)c / countPerClass[k]).ToArray();
            return new EvalResult(data.Count, (int)correctPerClass.Sum(), lossSum / Math.Max(1, data.Count), perClass);
        }
        finally
        {
            model.train(wasTraining);
        }
    }
}
