#!/usr/bin/env bash
# The training runs of issues 9 and 10 (adversarial training; the longer ResNet-20, T classifiers and recreation models)
# on a lent GPU machine, in one call of the device tool. The machine has PyTorch (CUDA build) but no .NET: it runs the
# self-contained `pdnn` bundle (scripts/publish-gpu-bundle.sh) against PyTorch's libtorch. Steps:
#   1. unpack the bundle and the CIFAR-10 JPEGs (artifacts/cifar10.tar.xz), fill the decode cache once;
#   2. training throughput on this card, alone: `pdnn bench-train` (clean, FGSM-RS, PGD-7) beside the same ResNet-20 in
#      Python PyTorch (scripts/gpu/pytorch_train_throughput.py);
#   3. the training runs one after another, in the order named, each with --max-minutes set to what is left of the
#      budget, so that every run stops before the call's deadline with a checkpoint that `--resume` continues anywhere
#      (runs at once share the card badly: eight gave less than one alone, benchmarks/train-throughput.md);
#      commas in PDNN_RUNS split the runs into lanes that run side by side, each lane one run after another
#      (PDNN_RUNS="a b, c d": a then b, beside c then d); PDNN_PARALLEL=1 gives every run its own lane;
#   4. results back through $OUT: results.tar.xz (split into 15 MB parts if needed) and summary.txt.
# Usage (device tool, repository root): bash scripts/gpu/adversarial-training.sh [budget seconds, default 500]
# A later call continues unfinished runs: PDNN_RESUME_FROM=artifacts/resume.tar.xz (the runs/ folder that came back)
# PDNN_RUNS="nsr-adv fir-g1-adv" PDNN_SKIP_BENCH=1 bash scripts/gpu/adversarial-training.sh 180
# The T runs (resnet20-long-on-*) start from the finished resnet20-long run, else from PDNN_T_BASE (a classifier folder
# in the repository or carried), else from models/resnet20-cifar10. The recreation runs (inpainter-*-full, sr-*-full,
# srgan-*-full: train-inpainter / train-sr, runs.sh) end when their held-out loss stops falling; a T run on one of
# them needs it copied into models/ first (a later call).
# The repository must travel under the device call's 64 MiB: `bash scripts/gpu/slim-tree.sh stash` moves the model
# folders the runs do not read out of the working tree for the call, `... restore` puts them back.
# Prepare first, here: bash scripts/publish-gpu-bundle.sh --training-only && tar -C ../shared/data -cf - cifar10 | xz -1 > artifacts/cifar10.tar.xz
set -uo pipefail
# shellcheck source=scripts/gpu/runs.sh
source "$(dirname "$0")/runs.sh"
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

runs_spec=${PDNN_RUNS:-${run_names[*]}}
read -r -a names <<< "${runs_spec//,/ }"
IFS=',' read -r -a lanes <<< "$runs_spec"
[ -z "${PDNN_PARALLEL:-}" ] || lanes=("${names[@]}")
for name in "${names[@]}"; do run_options "$name" > /dev/null || { say "FAILED: no run named '$name'"; exit 3; }; done

say "unpacking"
tar -xJf artifacts/pdnn-gpu.tar.xz -C "$work" || { say "FAILED: unpacking artifacts/pdnn-gpu.tar.xz"; exit 3; }
tar -xJf artifacts/cifar10.tar.xz -C "$work/data" || { say "FAILED: unpacking artifacts/cifar10.tar.xz"; exit 3; }
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python3 -c 'import torch; print("python torch", torch.__version__, "cuda", torch.version.cuda)'
  lscpu | grep -E '^Model name'
} >> "$summary" 2>&1
export PDNN_CACHE_DIR=$work/cache
pdnn="$work/pdnn-gpu/run-pdnn.sh"
data=$work/data/cifar10

say "decode cache"
"$pdnn" data-info --data "$data" > "$work/data-info.log" 2>&1 || { say "FAILED: data-info"; tail -n 20 "$work/data-info.log" | tee -a "$summary"; exit 3; }

if [ -z "${PDNN_SKIP_BENCH:-}" ]; then
  say "throughput alone on this card (TorchSharp, then PyTorch)"
  for recipe in ${PDNN_BENCH_RECIPES:-none fgsm-rs pgd}; do
    "$pdnn" bench-train --device "$device" --arch resnet20 --batch-size 128 --steps "${PDNN_BENCH_STEPS:-40}" --warmup 5 --repeats 3 --adversarial "$recipe" \
      > "$work/bench-$recipe.log" 2>&1 || { say "FAILED: bench-train --adversarial $recipe"; tail -n 20 "$work/bench-$recipe.log" | tee -a "$summary"; exit 3; }
    grep -E 'images/s \(median' "$work/bench-$recipe.log" | sed 's/^/torchsharp: /' | tee -a "$summary"
  done
  python3 scripts/gpu/pytorch_train_throughput.py clean fgsm-rs pgd7 2>&1 | tee -a "$summary"
fi

# Every run stops (with a checkpoint) 40 s before the budget ends, leaving time to pack the results.
minutes_left() { awk -v b="$budget" -v s="$start" -v now="$(date +%s)" 'BEGIN { m = (b - (now - s) - 40) / 60; printf "%.2f", m < 0 ? 0 : m }'; }
resume=()
if [ -n "${PDNN_RESUME_FROM:-}" ]; then
  tar -xJf "$PDNN_RESUME_FROM" -C "$work" || { say "FAILED: unpacking $PDNN_RESUME_FROM"; exit 3; }
  resume=(--resume)
fi
common=(--data "$data" --arch resnet20 --batch-size 128 --seed 0 --device "$device" "${limit[@]}")
recreation_common=(--data "$data" --seed 0 --device "$device" "${limit[@]}")
run() { # name, then the options of its command (run_command)
  local name=$1; shift
  local minutes; minutes=$(minutes_left)
  local command; command=$(run_command "$name")
  local shared=("${common[@]}")
  [ "$command" = train-classifier ] || shared=("${recreation_common[@]}")
  say "$name: $command, starting, at most $minutes min"
  "$pdnn" "$command" "${shared[@]}" --max-minutes "$minutes" "${resume[@]}" --out "$work/runs/$name" "$@" > "$work/runs/$name.log" 2>&1
  say "$name: ended (exit $?): $(grep -E '^epoch [0-9]+:' "$work/runs/$name.log" | tail -n 1)"
}
run_lane() { # the names of one lane, run one after another
  local name options
  for name in "$@"; do
    mapfile -t options < <(run_options "$name")
    run "$name" "${options[@]}"
  done
}
if [ "${#lanes[@]}" -eq 1 ]; then run_lane "${names[@]}"
else
  say "${#lanes[@]} lanes side by side:$(printf ' [%s]' "${lanes[@]}")"
  for lane in "${lanes[@]}"; do
    read -r -a lane_names <<< "$lane"
    run_lane "${lane_names[@]}" &
  done
  if command -v nvidia-smi > /dev/null; then
    sleep 45
    nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader | sed 's/^/gpu after 45 s: /' | tee -a "$summary"
  fi
  wait
fi
say "all runs ended"

for name in "${names[@]}"; do
  log=$work/runs/$name.log
  { echo "== $name"; grep -E '^epoch [0-9]+:|catastrophic|keeping|stopping|test accuracy|PSNR|stopped|saved|rror' "$log" | tail -n 40; } >> "$summary"
  # A finished run needs only its model files and card; an unfinished one keeps its checkpoint for --resume.
  if compgen -G "$work/runs/$name/*.card.json" > /dev/null; then
    rm -rf "$work/runs/$name/checkpoint" "$work/runs/$name/checkpoint.best-robust" "$work/runs/$name/checkpoint.best"
  fi
  cat "$log" >> "$work/runs/$name/train.log" 2>/dev/null
done
cp "$work"/bench-*.log "$work/runs/" 2>/dev/null
rm -f "$work"/runs/*.log
tar -C "$work" -cJf "$work/results.tar.xz" runs
size=$(stat -c %s "$work/results.tar.xz")
if [ "$size" -gt 15000000 ]; then split -b 15000000 -d "$work/results.tar.xz" "$out/results.tar.xz.part"; else cp "$work/results.tar.xz" "$out/"; fi
say "packed $(( size / 1000000 )) MB"
