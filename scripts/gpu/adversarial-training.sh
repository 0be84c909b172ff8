#!/usr/bin/env bash
# The adversarial-training runs of issue 9 (and the longer plain ResNet-20 of issue 10) on a lent GPU machine, in one
# call of the device tool. The machine has PyTorch (CUDA build) but no .NET: it runs the self-contained `pdnn` bundle
# (scripts/publish-gpu-bundle.sh) against PyTorch's libtorch. Steps:
#   1. unpack the bundle and the CIFAR-10 JPEGs (artifacts/cifar10.tar.xz), fill the decode cache once;
#   2. training throughput on this card, alone: `pdnn bench-train` (clean, FGSM-RS, PGD-7) beside the same ResNet-20 in
#      Python PyTorch (scripts/gpu/pytorch_train_throughput.py);
#   3. every training run in parallel (the GPU is far from busy with one small ResNet), each with --max-minutes so that
#      all stop before the call's deadline with a checkpoint that `--resume` continues anywhere;
#   4. results back through $OUT: results.tar.xz (split into 15 MB parts if needed) and summary.txt.
# Usage (device tool, repository root): bash scripts/gpu/adversarial-training.sh [budget seconds, default 500]
# Prepare first, here: bash scripts/publish-gpu-bundle.sh && tar -C ../shared/data -cf - cifar10 | xz -1 > artifacts/cifar10.tar.xz
set -uo pipefail
budget=${1:-500}
device=${PDNN_DEVICE:-cuda}          # cpu, with PDNN_LIBTORCH_DIR at a CPU libtorch, for a dry run of the flow here
limit=(${PDNN_TRAIN_LIMIT:+--train-limit "$PDNN_TRAIN_LIMIT"})
start=$(date +%s)
repo=$(pwd)
out=${OUT:-$repo/out/gpu}
work=${PDNN_GPU_WORK:-/tmp/pdnn-gpu-work}
mkdir -p "$out" "$work/data" "$work/runs"
summary=$out/summary.txt
say() { echo "[$(( $(date +%s) - start ))s] $*" | tee -a "$summary"; }

say "unpacking"
tar -xJf artifacts/pdnn-gpu.tar.xz -C "$work" || { say "FAILED: unpacking artifacts/pdnn-gpu.tar.xz"; exit 3; }
tar -xJf artifacts/cifar10.tar.xz -C "$work/data" || { say "FAILED: unpacking artifacts/cifar10.tar.xz"; exit 3; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader >> "$summary" 2>&1
python3 -c 'import torch; print("python torch", torch.__version__, "cuda", torch.version.cuda)' >> "$summary" 2>&1
lscpu | grep -E '^Model name' >> "$summary"
export PDNN_CACHE_DIR=$work/cache
pdnn="$work/pdnn-gpu/run-pdnn.sh"
data=$work/data/cifar10

say "decode cache"
"$pdnn" data-info --data "$data" > "$work/data-info.log" 2>&1 || { say "FAILED: data-info"; tail -n 20 "$work/data-info.log" | tee -a "$summary"; exit 3; }

say "throughput alone on this card (TorchSharp, then PyTorch)"
for recipe in ${PDNN_BENCH_RECIPES:-none fgsm-rs pgd}; do
  "$pdnn" bench-train --device "$device" --arch resnet20 --batch-size 128 --steps "${PDNN_BENCH_STEPS:-40}" --warmup 5 --repeats 3 --adversarial "$recipe" \
    > "$work/bench-$recipe.log" 2>&1 || { say "FAILED: bench-train --adversarial $recipe"; tail -n 20 "$work/bench-$recipe.log" | tee -a "$summary"; exit 3; }
  grep -E 'images/s \(median' "$work/bench-$recipe.log" | sed 's/^/torchsharp: /' | tee -a "$summary"
done
python3 scripts/gpu/pytorch_train_throughput.py clean fgsm-rs pgd7 2>&1 | tee -a "$summary"

# Every run stops (with a checkpoint) 40 s before the budget ends, leaving time to pack the results.
minutes=$(awk -v b="$budget" -v s="$start" -v now="$(date +%s)" 'BEGIN { printf "%.2f", (b - (now - s) - 40) / 60 }')
say "training, each run stopping after at most $minutes min"
common=(--data "$data" --arch resnet20 --batch-size 128 --seed 0 --device "$device" --max-minutes "$minutes" "${limit[@]}")
run() { # name, then train-classifier options
  local name=$1; shift
  "$pdnn" train-classifier "${common[@]}" --out "$work/runs/$name" "$@" > "$work/runs/$name.log" 2>&1 &
}
# ResNet-20 alone: the paper's FGSM recipe (Goodfellow's 50/50 mixing; it is expected to collapse), FGSM-RS (Wong et al.),
# PGD-7 (Madry et al.), and FGSM-RS at Wong et al.'s 15 epochs (the GPU twin of the 45-minute CPU run).
run resnet20-adv-fgsm     --adversarial fgsm --clean-weight 0.5 --epochs 15 --lr 0.1 --schedule Cosine --keep last
run resnet20-adv-fgsm-rs  --adversarial fgsm-rs --epochs 30 --lr 0.2 --schedule OneCycle --keep best-robust
run resnet20-adv-fgsm-rs15 --adversarial fgsm-rs --epochs 15 --lr 0.2 --schedule OneCycle --keep best-robust
run resnet20-adv-pgd7     --adversarial pgd --attack-steps 7 --epochs 20 --lr 0.1 --schedule Cosine --keep best-robust
# φDNNs: the classifier learns on recreations of adversarial examples crafted through the whole φDNN (fresh noise per
# forward pass for NSR; FIR's 10 fixed masks at g = 1, the paper's Table 1 setting), and NSR with the paper's cheaper
# variant (crafted on the classifier alone) for comparison.
run nsr-adv               --recreation models/sr-lite-cifar10 --adversarial fgsm-rs --epochs 15 --lr 0.2 --schedule OneCycle --keep best-robust --held-out 500
run nsr-adv-craft-classifier --recreation models/sr-lite-cifar10 --adversarial fgsm-rs --craft-through classifier --epochs 15 --lr 0.2 --schedule OneCycle --keep best-robust --held-out 500
run fir-g1-adv            --recreation models/inpainter-lite-g1-cifar10 --adversarial fgsm-rs --epochs 15 --lr 0.2 --schedule OneCycle --keep best-robust --held-out 500
# Issue 10: the plain ResNet-20 trained longer.
run resnet20-long         --epochs 60 --lr 0.1 --schedule Cosine
sleep 45
nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader | sed 's/^/gpu after 45 s: /' | tee -a "$summary"
wait
say "all runs ended"

for log in "$work"/runs/*.log; do
  name=$(basename "$log" .log)
  { echo "== $name"; grep -E '^epoch [0-9]+:|catastrophic|keeping|test accuracy|stopped|saved|rror' "$log" | tail -n 40; } >> "$summary"
  # A finished run needs only its classifier files; an unfinished one keeps its checkpoint for --resume.
  if [ -f "$work/runs/$name/classifier.card.json" ]; then rm -rf "$work/runs/$name/checkpoint" "$work/runs/$name/checkpoint.best-robust"; fi
  cp "$log" "$work/runs/$name/train.log" 2>/dev/null
done
cp "$work"/bench-*.log "$work/runs/" 2>/dev/null
tar -C "$work" -cJf "$work/results.tar.xz" runs
size=$(stat -c %s "$work/results.tar.xz")
if [ "$size" -gt 15000000 ]; then split -b 15000000 -d "$work/results.tar.xz" "$out/results.tar.xz.part"; else cp "$work/results.tar.xz" "$out/"; fi
say "packed $(( size / 1000000 )) MB"
