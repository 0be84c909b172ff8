using Pdnn.Torch.Training.Adversarial;

namespace Pdnn.Torch.Training;

/// <summary>Everything that decides a classifier training run. Runs with equal options and data are reproducible.</summary>
public sealed record TrainOptions
{
    public string Architecture { get; init; } = "resnet20";
    public int Epochs { get; init; } = 30;
    public int BatchSize { get; init; } = 128;
    public double LearningRate { get; init; } = 0.1;
    public double Momentum { get; init; } = 0.9;
    public double WeightDecay { get; init; } = 5e-4;
    public ScheduleKind Schedule { get; init; } = ScheduleKind.Cosine;
    /// <summary>0 for plain cross-entropy; e.g. 0.1 for the paper's label-smoothing ("LS") baseline.</summary>
    public double LabelSmoothing { get; init; }
    /// <summary>Random crop (padding 4) and horizontal flip.</summary>
    public bool Augment { get; init; } = true;
    public int Seed { get; init; }
    /// <summary>The recreation the classifier learns on (the paper's subscript T), if any: its description.</summary>
    public string? Recreation { get; init; }
    /// <summary>
    /// With a recreation: recreate the training and test images once, before the first step, and augment the stored
    /// recreations, instead of recreating every augmented batch (crop and flip then act on recreations rather than before
    /// them). Several times faster for FIR; refused for a random recreation (NSR) and for adversarial training, which
    /// needs the raw images.
    /// </summary>
    public bool RecreateOnce { get; init; }
    /// <summary>
    /// With <see cref="RecreateOnce"/>: store this many recreations of each training image, each of a differently cropped
    /// and flipped copy (augmentation before the recreation, as recreating every batch does) and each with its own draw of
    /// a random recreation's noise, and train epoch e on copy e mod K with no augmentation after the recreation. Allows
    /// NSR. 0: one copy, augmented after the recreation.
    /// </summary>
    public int RecreatedCopies { get; init; }
    /// <summary>Where the initial weights came from (fine-tuning), if not from the seed.</summary>
    public string? InitialWeights { get; init; }
    /// <summary>Adversarial training: the adversary, ε, steps, mixing, and where examples are crafted.</summary>
    public AdversarialOptions Adversarial { get; init; } = new();
    /// <summary>Training images held out (seeded) for the per-epoch clean/FGSM/PGD-10 check; 0: none.</summary>
    public int HeldOut { get; init; }
    /// <summary>Magnitude pruning (the paper's ResNetpruned): this fraction of every conv/linear weight tensor is set to
    /// zero at the start (smallest |w| first) and kept at zero after every step; 0: none.</summary>
    public double Sparsity { get; init; }
    /// <summary>
    /// Budgeted training (Li, Yumer and Ramanan, ICLR 2020): the learning-rate schedule runs over this many minutes of
    /// training (wall time over all resumed invocations, the per-epoch checks included) instead of over
    /// <see cref="Epochs"/>, so it reaches its end, and its low rates, when the budget does, however fast the machine is;
    /// the run then ends there, mid-epoch if need be, after a last check of the final weights. <see cref="Epochs"/> is an
    /// upper bound (if they finish first, the schedule follows the steps as usual). A run on it is not reproducible step
    /// for step: how far the schedule has got at each step depends on the machine's speed. null: the schedule follows the steps.
    /// </summary>
    public double? ScheduleMinutes { get; init; }
    /// <summary>
    /// Weight averaging: the decay d of an exponential moving average of the weights taken after every step
    /// (<see cref="WeightAverage"/>); the per-epoch checks, best-robust and the final model use the average. 0: none.
    /// </summary>
    public double WeightAverageDecay { get; init; }
    /// <summary>Arithmetic of the training steps; the weights, evaluation and export stay float32 either way.</summary>
    public TrainingPrecision Precision { get; init; } = TrainingPrecision.Float32;

    // What a run does at a collapse and which weights it ends with: they do not change the steps it takes.
    public CollapseAction OnCollapse { get; init; } = CollapseAction.Continue;
    public KeepWeights Keep { get; init; } = KeepWeights.Last;

    // Not part of what the run computes: where it stops and how it reports.
    /// <summary>Stop cleanly (with a checkpoint) once this much wall time has passed; resume later.</summary>
    public double? MaxMinutes { get; init; }
    /// <summary>Stop cleanly after this many optimiser steps in this invocation (tests and scripted runs).</summary>
    public long? MaxSteps { get; init; }
    /// <summary>Stop cleanly (with a checkpoint) at the next step once cancelled: the CLI cancels it on Ctrl-C or SIGTERM.
    /// While the images are being recreated once (<see cref="RecreateOnce"/>), before any step, the run stops at the next
    /// batch with an <see cref="OperationCanceledException"/> instead: there is nothing to checkpoint yet.</summary>
    public CancellationToken Interrupt { get; init; }
    /// <summary>
    /// At the time or step budget, end the run with the weights it has (best-robust's when kept so, else the last
    /// step's) and report it completed, instead of leaving a checkpoint for --resume: a model trained within a fixed
    /// budget. A budget already spent when the run starts (e.g. --max-minutes 0 on a resume) takes no step.
    /// </summary>
    public bool FinishAtBudget { get; init; }
    /// <summary>Also write a checkpoint every this many steps (0: only at epoch ends and at a stop).</summary>
    public int CheckpointEverySteps { get; init; }

    /// <summary>The options that a resumed run must share with the run it continues.</summary>
    public string Identity() =>
        $"{Architecture}|{Epochs}|{BatchSize}|{LearningRate}|{Momentum}|{WeightDecay}|{Schedule}|{LabelSmoothing}|{Augment}|{Seed}|{Recreation}|{InitialWeights}" +
        (Adversarial.Enabled || HeldOut > 0 ? $"|adv:{Adversarial.Identity()}|held-out:{HeldOut}" : "") +
        (Sparsity > 0 ? $"|sparsity:{Sparsity}" : "") +
        (Precision != TrainingPrecision.Float32 ? $"|precision:{Precision}" : "") +
        (ScheduleMinutes is { } m ? $"|schedule-minutes:{m}" : "") +
        (WeightAverageDecay > 0 ? $"|weight-average:{WeightAverageDecay}" : "") +
        (RecreateOnce ? "|recreate-once" : "") +
        (RecreatedCopies > 0 ? $"|recreated-copies:{RecreatedCopies}" : "");
}
