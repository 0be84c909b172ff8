# shellcheck shell=bash
# The GPU training runs of issues 9 and 10, by name: `run_command NAME` prints the pdnn command of run NAME
# (train-classifier, or train-sr / train-inpainter for a recreation model), `run_options NAME` its options (one per
# line), the same for a first call and for every --resume of it (a resumed run must share them).
# Sourced by adversarial-training.sh.
run_names=(resnet20-adv-fgsm resnet20-adv-fgsm-rs resnet20-adv-fgsm-rs15 resnet20-adv-pgd7 nsr-adv nsr-adv-craft-classifier fir-g1-adv resnet20-long
           resnet20-long160 resnet20-long-on-sr-lite resnet20-long-on-inpainter-lite-g1
           resnet20-long-on-inpainter-lite-g4 resnet20-long-on-inpainter-lite-g8
           inpainter-lite-g1-full inpainter-lite-g4-full inpainter-lite-g8-full sr-lite-full srgan-lite-full
           srgan-lite-from-sr-lite)

run_command() {
  case "$1" in
    inpainter-*) echo train-inpainter ;;
    sr-*|srgan-*) echo train-sr ;;
    *) echo train-classifier ;;
  esac
}

# Issue 10's recreation models on all 50,000 training images, 5,000 of them held out: each runs until its held-out loss
# has not fallen for 3 epochs, twice halving the learning rate first (--epochs is only the ceiling), and keeps the
# weights of its lowest epoch. Same recipes as the shipped lite models otherwise (their cards' Command): the inpainters
# at batch 64 and lr 2e-3, NSR's generator with the L1 loss alone (sr-lite, as shipped) and as the SRGAN (feature +
# adversarial loss).
recreation_run() { # size, then the run's own options
  printf '%s\n' --size "$1" --epochs 100 --held-out 5000 --patience 3 --lr-drops 2 --classifier models/resnet20-cifar10 "${@:2}"
}

# The classifier the T runs start from: PDNN_T_BASE if set, else the longer plain ResNet-20 once its run has finished
# (in this call or an earlier one on the same machine), else the shipped one.
t_base() {
  local long=${work:-/tmp/pdnn-gpu-work}/runs/resnet20-long
  if [ -n "${PDNN_T_BASE:-}" ]; then echo "$PDNN_T_BASE"
  elif [ -f "$long/classifier.card.json" ]; then echo "$long"; else echo models/resnet20-cifar10; fi
}

# The options of a T run: recreation model folder under models/, minutes of budgeted schedule.
t_run() {
  printf '%s\n' --recreation "models/$1" --init "$(t_base)" --epochs 30 --lr 0.05 --schedule Cosine --schedule-minutes "$2"
}

run_options() {
  case "$1" in
    # ResNet-20 alone: the paper's FGSM recipe (Goodfellow's 50/50 mixing; it is expected to collapse), FGSM-RS (Wong et
    # al.), PGD-7 (Madry et al.), and FGSM-RS at Wong et al.'s 15 epochs (the GPU twin of the 45-minute CPU run).
    resnet20-adv-fgsm)       printf '%s\n' --adversarial fgsm --clean-weight 0.5 --epochs 15 --lr 0.1 --schedule Cosine --keep last ;;
    resnet20-adv-fgsm-rs)    printf '%s\n' --adversarial fgsm-rs --epochs 30 --lr 0.2 --schedule OneCycle --keep best-robust ;;
    resnet20-adv-fgsm-rs15)  printf '%s\n' --adversarial fgsm-rs --epochs 15 --lr 0.2 --schedule OneCycle --keep best-robust ;;
    resnet20-adv-pgd7)       printf '%s\n' --adversarial pgd --attack-steps 7 --epochs 20 --lr 0.1 --schedule Cosine --keep best-robust ;;
    # φDNNs: the classifier learns on recreations of adversarial examples crafted through the whole φDNN (fresh noise
    # per forward pass for NSR; FIR's 10 fixed masks at g = 1, the paper's Table 1 setting), and NSR with the paper's
    # cheaper variant (crafted on the classifier alone) for comparison.
    nsr-adv)                 printf '%s\n' --recreation models/sr-lite-cifar10-5k --adversarial fgsm-rs --epochs 15 --lr 0.2 --schedule OneCycle --keep best-robust --held-out 500 ;;
    nsr-adv-craft-classifier) printf '%s\n' --recreation models/sr-lite-cifar10-5k --adversarial fgsm-rs --craft-through classifier --epochs 15 --lr 0.2 --schedule OneCycle --keep best-robust --held-out 500 ;;
    fir-g1-adv)              printf '%s\n' --recreation models/inpainter-lite-g1-cifar10-20k --adversarial fgsm-rs --epochs 15 --lr 0.2 --schedule OneCycle --keep best-robust --held-out 500 ;;
    # Issue 10: the plain ResNet-20 trained longer.
    resnet20-long)           printf '%s\n' --epochs 60 --lr 0.1 --schedule Cosine ;;
    # Issue 10 again: He et al.'s 160 epochs, as the 60-epoch run (87.91%) flattened short of 90%; run on a CPU on
    # 2026-11-28 (models/resnet20-cifar10-long160: 88.56%).
    resnet20-long160)        printf '%s\n' --epochs 160 --lr 0.1 --schedule Cosine ;;
    # Issue 10: T classifiers fine-tuned on recreations of all 50,000 training images (fresh noise or the 10 masks at
    # each step) from t_base, on a budgeted schedule so that each ends with finished weights within its minutes.
    resnet20-long-on-sr-lite)           t_run sr-lite-cifar10 1.3 ;;
    resnet20-long-on-inpainter-lite-g1) t_run inpainter-lite-g1-cifar10 1.0 ;;
    resnet20-long-on-inpainter-lite-g4) t_run inpainter-lite-g4-cifar10 0.8 ;;
    resnet20-long-on-inpainter-lite-g8) t_run inpainter-lite-g8-cifar10 0.8 ;;
    # The inpainters retrained on all 50,000 images (CPU, 2026-11-28) are inpainter-lite-g{1,4,8}-cifar10 now, each
    # shipped with a CPU T classifier that beat the old pair (--recreate-once; g = 4's with --recreated-copies 4,
    # 2026-11-29), so the three runs above now train on them. FIRadv (fir-g1-adv) keeps the 20,000-image g = 1
    # inpainter it was trained with (inpainter-lite-g1-cifar10-20k). Likewise NSR's generator: sr-lite-full finished on
    # a CPU on 2026-11-29 and is sr-lite-cifar10 now (so resnet20-long-on-sr-lite trains on it); the NSRadv runs keep
    # the 5,000-image generator they started with (sr-lite-cifar10-5k).
    inpainter-lite-g1-full) recreation_run lite --cell 1 --batch-size 64 --lr 2e-3 ;;
    inpainter-lite-g4-full) recreation_run lite --cell 4 --batch-size 64 --lr 2e-3 ;;
    inpainter-lite-g8-full) recreation_run lite --cell 8 --batch-size 64 --lr 2e-3 ;;
    sr-lite-full)           recreation_run lite --batch-size 32 --lr 2e-3 --adversarial-weight 0 ;;
    srgan-lite-full)        recreation_run lite --batch-size 32 --lr 2e-3 --feature-classifier models/resnet20-cifar10 --adversarial-weight 1e-3 --feature-weight 0.1 ;;
    # The SRGAN as Ledig et al. trained theirs: the SRGAN losses refining the generator trained with the pixel loss
    # alone (sr-lite-full, shipped as sr-lite-cifar10), at a tenth of its learning rate, for two epochs of all 45,000
    # images, keeping the epoch with the lower held-out content loss (run on a CPU on 2026-11-29).
    srgan-lite-from-sr-lite) printf '%s\n' --size lite --epochs 2 --held-out 5000 --classifier models/resnet20-cifar10 --init models/sr-lite-cifar10 \
                               --batch-size 32 --lr 2e-4 --feature-classifier models/resnet20-cifar10 --adversarial-weight 1e-3 --feature-weight 0.1 ;;
    *) echo "unknown run '$1' (known: ${run_names[*]})" >&2; return 1 ;;
  esac
}
