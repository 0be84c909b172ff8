using System.Threading.Channels;
using Microsoft.Extensions.ObjectPool;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace RobustService;

/// <summary>Classifies decoded pictures with the served chain; safe to call from any number of requests at once.</summary>
public interface IImageClassifier
{
    Task<ChainOutput> ClassifyAsync(MLImage picture, CancellationToken cancel);
}

/// <summary>
/// A pool of PredictionEngines (one is not thread-safe; building one per request costs more than the prediction):
/// each request borrows one, predicts its picture through the whole chain as a batch of one, and returns it. At most
/// <paramref name="concurrency"/> predictions run at once (the others wait without holding a thread), so the pool never
/// grows past that and CPU-bound predictions do not crowd out each other.
/// </summary>
public sealed class PooledClassifier(ServedModel model, int concurrency) : IImageClassifier
{
    readonly ObjectPool<PredictionEngine<ImageInput, ChainOutput>> pool =
        new DefaultObjectPoolProvider { MaximumRetained = concurrency }.Create(new EnginePolicy(model));
    readonly SemaphoreSlim slots = new(concurrency, concurrency);

    public async Task<ChainOutput> ClassifyAsync(MLImage picture, CancellationToken cancel)
    {
        await slots.WaitAsync(cancel);
        var engine = pool.Get();
        try { return engine.Predict(new ImageInput { Picture = picture }); }
        finally
        {
            pool.Return(engine);
            slots.Release();
        }
    }

    sealed class EnginePolicy(ServedModel model) : PooledObjectPolicy<PredictionEngine<ImageInput, ChainOutput>>
    {
        // ownsTransformer: false, or the pool, disposing an engine it has no room for, would dispose the shared chain
        // (and its ONNX Runtime sessions) under the other engines.
        public override PredictionEngine<ImageInput, ChainOutput> Create() =>
            model.Ml.Model.CreatePredictionEngine<ImageInput, ChainOutput>(model.Chain, new PredictionEngineOptions { OwnsTransformer = false });
        public override bool Return(PredictionEngine<ImageInput, ChainOutput> engine) => true;
    }
}

/// <summary>
/// A batching queue: requests wait in a channel; one worker takes everything waiting (up to MaxBatch) and runs it as one
/// Transform of the chain, so each stage calls its model once per batch. No timer: a request that finds the worker idle
/// runs at once, and requests that arrive while a batch runs form the next one.
/// </summary>
public sealed class BatchingClassifier : IImageClassifier, IDisposable
{
    readonly ServedModel model;
    readonly int maxBatch;
    readonly Channel<(MLImage Picture, TaskCompletionSource<ChainOutput> Result)> queue =
        Channel.CreateUnbounded<(MLImage, TaskCompletionSource<ChainOutput>)>(new UnboundedChannelOptions { SingleReader = true });
    readonly Thread worker;

    public BatchingClassifier(ServedModel model, int maxBatch)
    {
        this.model = model;
        this.maxBatch = maxBatch;
        worker = new Thread(Work) { IsBackground = true, Name = "pdnn batch worker" };
        worker.Start();
    }

    /// <summary>The most requests that have run as one batch so far.</summary>
    public int LargestBatch { get; private set; }

    public Task<ChainOutput> ClassifyAsync(MLImage picture, CancellationToken cancel)
    {
        // Continuations off the worker thread, so the next batch starts while the answers are written.
        var result = new TaskCompletionSource<ChainOutput>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!queue.Writer.TryWrite((picture, result))) throw new ObjectDisposedException(nameof(BatchingClassifier));
        return result.Task;
    }

    void Work()
    {
        var batch = new List<(MLImage Picture, TaskCompletionSource<ChainOutput> Result)>(maxBatch);
        while (queue.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            batch.Clear();
            while (batch.Count < maxBatch && queue.Reader.TryRead(out var item)) batch.Add(item);
            LargestBatch = Math.Max(LargestBatch, batch.Count);
            try
            {
                var outputs = model.PredictBatch(batch.Select(b => b.Picture).ToList());
                for (int i = 0; i < batch.Count; i++) batch[i].Result.SetResult(outputs[i]);
            }
            catch (Exception e)
            {
                foreach (var b in batch) b.Result.TrySetException(e);
            }
        }
    }

    public void Dispose()
    {
        queue.Writer.TryComplete();
        worker.Join();
    }
}
