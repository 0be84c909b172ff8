using Pdnn.MLNet.Execution;
using Pdnn.Torch.Training;
using Pdnn.Torch.Training.Adversarial;

namespace Pdnn.MLNet.Training;

/// <summary>
/// Options of <see cref="PdnnImageClassifierTrainer"/>: the columns, the training run (the same knobs as
/// <c>pdnn train-classifier</c>, defaults from <see cref="TrainOptions"/>), the device, progress, and where the trained
/// network is written.
/// </summary>
public sealed class PdnnImageClassifierOptions
{
    static readonly TrainOptions Defaults = new();

    // Columns.
    /// <summary>The image column: Vector&lt;Single, 3·H·W&gt;, channel-major RGB in [0,1] (ExtractPixels with interleavePixelColors: false, scaleImage: 1/255f).</summary>
    public string FeatureColumnName { get; set; } = "Image";
    /// <summary>The label column: a key (MapValueToKey; its key values become the class names) or text (the class name).</summary>
    public string LabelColumnName { get; set; } = "Label";
    public int ImageHeight { get; set; } = 32;
    public int ImageWidth { get; set; } = 32;
    /// <summary>The output columns, as RobustClassify writes them: softmax probabilities and the predicted class (a key).</summary>
    public string ScoreColumnName { get; set; } = "Score";
    public string PredictedLabelColumnName { get; set; } = "PredictedLabel";

    // The training run; each maps onto the TrainOptions property of the same name (see ToTrainOptions).
    /// <summary>resnet20 (He et al., the paper's CIFAR classifier), resnet18, resnet8 or tiny.</summary>
    public string Architecture { get; set; } = Defaults.Architecture;
    public int Epochs { get; set; } = Defaults.Epochs;
    public int BatchSize { get; set; } = Defaults.BatchSize;
    /// <summary>SGD's base learning rate; the schedule scales it over the run.</summary>
    public double LearningRate { get; set; } = Defaults.LearningRate;
    public ScheduleKind Schedule { get; set; } = Defaults.Schedule;
    public double Momentum { get; set; } = Defaults.Momentum;
    public double WeightDecay { get; set; } = Defaults.WeightDecay;
    /// <summary>0 for plain cross-entropy; 0.1 for the paper's label-smoothing baseline.</summary>
    public double LabelSmoothing { get; set; } = Defaults.LabelSmoothing;
    /// <summary>Random crop (padding 4) and horizontal flip of every training batch.</summary>
    public bool Augment { get; set; } = Defaults.Augment;
    /// <summary>Decides the initial weights, the data order and the augmentation: equal seeds and data give equal networks.</summary>
    public int Seed { get; set; } = Defaults.Seed;
    /// <summary>Fine-tune from a trained classifier (a folder with classifier.card.json, or a .card.json) instead of the seeded initialisation.</summary>
    public string? InitialWeights { get; set; }
    /// <summary>
    /// Magnitude pruning (the paper's ResNetpruned): this fraction of every conv/linear weight tensor set to zero,
    /// smallest |w| first (of InitialWeights when given), and kept at zero after every step; 0: off.
    /// </summary>
    public double Sparsity { get; set; }
    /// <summary>BFloat16: training steps in bfloat16 with float32 master weights (about 2.4x faster on CPUs with AMX;
    /// can be slower on CPUs without bfloat16 instructions). The trained model is float32 either way.</summary>
    public TrainingPrecision Precision { get; set; } = TrainingPrecision.Float32;
    /// <summary>
    /// Budgeted training: Fit runs the learning-rate schedule over this many minutes instead of over Epochs and returns
    /// when they are spent (Epochs becomes an upper bound), with the schedule annealed to its end on any machine. The
    /// steps then depend on the machine's speed, so equal seeds no longer give equal networks. Null: off.
    /// </summary>
    public double? ScheduleMinutes { get; set; }
    /// <summary>Weight averaging: the decay of an exponential moving average of the weights (e.g. 0.999); the
    /// returned classifier and the per-epoch checks use the average. 0: off.</summary>
    public double WeightAverageDecay { get; set; }
    /// <summary>
    /// Adversarial training (FGSM, FGSM-RS, PGD-k, TRADES; see TrainOptions.Adversarial). In a chain the examples are
    /// crafted against the classifier on the images this trainer receives — the recreations when the chain recreates:
    /// the chain's stages before the trainer run once, outside the training loop. To craft through the whole φDNN
    /// (fresh noise at every step), use `pdnn train-classifier --recreation ... --craft-through phi-dnn`.
    /// </summary>
    public AdversarialOptions Adversarial { get; set; } = new();
    /// <summary>Training images held out for the per-epoch clean/FGSM/PGD-10 check (adversarial training); 0: none.</summary>
    public int HeldOut { get; set; }
    public CollapseAction OnCollapse { get; set; } = CollapseAction.Continue;
    /// <summary>Last, or BestRobust: the epoch with the highest held-out PGD-10 accuracy (needs HeldOut &gt; 0).</summary>
    public KeepWeights Keep { get; set; } = KeepWeights.Last;

    // Where it runs and how it reports.
    /// <summary>TorchSharp device for training: auto (CUDA when usable), cpu, cuda or cuda:N.</summary>
    public string Device { get; set; } = "auto";
    /// <summary>ONNX Runtime device of the returned RobustClassify stage, and its batch size.</summary>
    public ExecutionDevice InferenceDevice { get; set; } = ExecutionDevice.Auto;
    public int InferenceBatchSize { get; set; } = PdnnCatalog.DefaultBatchSize;
    /// <summary>Called as training goes (steps, epochs, messages); MLContext.Log gets the same lines.</summary>
    public ITrainingObserver? Observer { get; set; }
    /// <summary>
    /// Where to write classifier.onnx, classifier.weights.bin and classifier.card.json (a model folder as pdnn writes
    /// it). Null: only the ONNX file, into the Pdnn cache ($PDNN_CACHE_DIR/onnx, else ~/.cache/pdnn/onnx), named by
    /// its SHA-256. SavePdnn copies the ONNX model into the saved zip either way.
    /// </summary>
    public string? ModelFolder { get; set; }

    /// <summary>The run's options for <see cref="ClassifierTrainer"/>. A new TrainOptions knob is one property above and one line here.</summary>
    public TrainOptions ToTrainOptions() => new()
    {
        Architecture = Architecture,
        Epochs = Epochs,
        BatchSize = BatchSize,
        LearningRate = LearningRate,
        Schedule = Schedule,
        Momentum = Momentum,
        WeightDecay = WeightDecay,
        LabelSmoothing = LabelSmoothing,
        Sparsity = Sparsity,
        Precision = Precision,
        ScheduleMinutes = ScheduleMinutes,
        WeightAverageDecay = WeightAverageDecay,
        Augment = Augment,
        Seed = Seed,
        InitialWeights = InitialWeights,
        Adversarial = Adversarial.Validated(),
        HeldOut = HeldOut,
        OnCollapse = OnCollapse,
        Keep = Keep,
    };
}
