#!/usr/bin/env bash
# Issue 10: the one- and ten-pixel attacks at the paper's budget (differential evolution, population 400 x 100
# generations, up to 40,400 queries per image) against NSR and FIR g = 1, which 2 cores cannot afford (~220 and ~300
# queries/s: up to 5 hours per defence for 50 images). On a lent GPU machine the attacks query the chains' twin on CUDA
# (`--query-target twin`; ONNX Runtime's CUDA library does not travel there), with the populations of several images
# stacked per call. One call of the device tool; the evaluation journals each unit of work as it finishes, so the
# call is cut off at its budget (SIGKILL loses at most the unit in progress) and a later call continues it.
# Usage (device tool, repository root): bash scripts/gpu/de-paper-budget.sh [budget seconds, default 500]
#   PDNN_RESUME_FROM=artifacts/de-resume.tar.xz  continue the evaluation that came back (the de/ folder of de.tar.xz)
#   PDNN_DE_N (default 100), PDNN_DE_DEFENCES (default nsr,fir), PDNN_DE_BUDGET ("--de-population 400 --de-generations
#   100"), PDNN_DEVICE (cuda; cpu with PDNN_LIBTORCH_DIR at a CPU libtorch for a dry run here)
# Prepare here: bash scripts/publish-gpu-bundle.sh   (the full bundle: evaluate needs ONNX Runtime's CPU library)
#   tar -C ../shared/data -cf - cifar10/test | xz -1 > artifacts/cifar10-test.tar.xz
#   PDNN_KEEP_MODELS="resnet20-cifar10 sr-lite-cifar10 resnet20-cifar10-on-sr-lite inpainter-lite-g1-cifar10 resnet20-cifar10-on-inpainter-lite-g1" \
#     PDNN_CARRY="artifacts/pdnn-gpu.tar.xz artifacts/cifar10-test.tar.xz" bash scripts/gpu/slim-tree.sh stash
# and carry artifacts/pdnn-gpu.tar.xz and artifacts/cifar10-test.tar.xz (and the resume archive).
# Back through $OUT: de.tar.xz (the evaluation folder: journals, and once finished results and summary) and summary.txt.
set -uo pipefail
budget=${1:-500}
device=${PDNN_DEVICE:-cuda}
start=$(date +%s)
out=${OUT:-$(pwd)/out/gpu}
work=${PDNN_GPU_WORK:-/tmp/pdnn-gpu-work}
mkdir -p "$out" "$work/data"
summary=$out/summary.txt
say() { echo "[$(( $(date +%s) - start ))s] $*" | tee -a "$summary"; }

say "unpacking"
tar -xJf artifacts/pdnn-gpu.tar.xz -C "$work" || { say "FAILED: unpacking artifacts/pdnn-gpu.tar.xz"; exit 3; }
tar -xJf artifacts/cifar10-test.tar.xz -C "$work/data" || { say "FAILED: unpacking artifacts/cifar10-test.tar.xz"; exit 3; }
resume=()
if [ -n "${PDNN_RESUME_FROM:-}" ]; then
  tar -xJf "$PDNN_RESUME_FROM" -C "$work" || { say "FAILED: unpacking $PDNN_RESUME_FROM"; exit 3; }
  resume=(--resume)
fi
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader; lscpu | grep -E '^Model name'; } >> "$summary" 2>&1
export PDNN_CACHE_DIR=$work/cache

# The evaluation stops 30 s before the budget, leaving time to pack what its journals hold.
left=$(( budget - ($(date +%s) - start) - 30 ))
read -r -a de_budget <<< "${PDNN_DE_BUDGET:---de-population 400 --de-generations 100}"
say "evaluate ${PDNN_DE_DEFENCES:-nsr,fir} (g = 1), 1px and 10px, ${de_budget[*]}, ${PDNN_DE_N:-100} images; at most $left s"
# --batch-size 10: the unit of work a kill can lose (ten images' DE); part of what decides the outcomes, so every call
# of one evaluation must keep it.
timeout -s KILL "$left" "$work/pdnn-gpu/run-pdnn.sh" evaluate --defense "${PDNN_DE_DEFENCES:-nsr,fir}" --grid 1 \
  --data "$work/data/cifar10" --models models --n "${PDNN_DE_N:-100}" --seed 0 --attacks 1px,10px "${de_budget[@]}" \
  --query-target twin --batch-size 10 --eps-curve "" --device "$device" --out "$work/de" "${resume[@]}" > "$work/de.log" 2>&1
status=$?
if [ "$status" -eq 137 ]; then say "stopped at the budget; continue with PDNN_RESUME_FROM=<de.tar.xz that came back>"
else say "evaluate ended (exit $status)"; fi
grep -E 'images done|worst case|rror' "$work/de.log" | tail -n 20 >> "$summary"
cp "$work/de.log" "$work/de/evaluate.log" 2>/dev/null
tar -C "$work" -cJf "$out/de.tar.xz" de
say "packed $(( $(stat -c %s "$out/de.tar.xz") / 1000 )) kB"
