#!/usr/bin/env bash
# A device call carries the working tree (tracked and untracked, not ignored files) and refuses more than 64 MiB; with
# its models and robustness tables the repository is larger. `stash` moves every models/ entry a GPU run does not read
# out of the tree (to a folder outside it) and says what would travel; `restore` moves them back and shows
# `git status` for models/ (empty when the tree is as before). Run from the repository root:
#   bash scripts/gpu/slim-tree.sh stash      # before the device call(s)
#   bash scripts/gpu/slim-tree.sh restore    # after them, whatever happened
#   bash scripts/gpu/slim-tree.sh size       # what a call would carry now (MiB), artifacts included
# PDNN_KEEP_MODELS (space-separated folder names under models/) overrides what stays: by default what the runs of
# scripts/gpu/runs.sh read (the plain ResNet-20, NSR's generator and FIR's three inpainters as shipped, and the
# 5,000-image generator and 20,000-image g = 1 inpainter that NSRadv and FIRadv keep). PDNN_STASH sets the stash.
# PDNN_CARRY (space-separated paths) names the ignored artifacts the call will carry, so that only they are counted;
# by default every artifacts/*.tar.xz is (a call that carries fewer would be refused for files it leaves behind).
set -euo pipefail
stash=${PDNN_STASH:-/tmp/pdnn-slim-stash}
keep=${PDNN_KEEP_MODELS:-resnet20-cifar10 sr-lite-cifar10 sr-lite-cifar10-5k inpainter-lite-g1-cifar10 inpainter-lite-g4-cifar10 inpainter-lite-g8-cifar10 inpainter-lite-g1-cifar10-20k}
limit_mib=64

if [ ! -d models ] || [ ! -e .git ]; then echo "slim-tree: run from the repository root (no models/ or .git here)" >&2; exit 2; fi

carried_mib() {
  # What the device tool copies: tracked files still present and untracked files git does not ignore, plus the
  # ignored artifacts a call names in carry (PDNN_CARRY, or every artifacts/*.tar.xz present).
  # (stat fails on the tracked files a stash moved away: those are not carried, and not counted.)
  { git ls-files -co --exclude-standard -z | { xargs -0 -r stat -c %s -- 2>/dev/null || true; }
    if [ -n "${PDNN_CARRY:-}" ]; then
      for path in $PDNN_CARRY; do stat -c %s -- "$path" 2>/dev/null || echo "slim-tree: PDNN_CARRY names $path, which is not here" >&2; done
    else find artifacts -maxdepth 1 -type f -name '*.tar.xz' -printf '%s\n' 2>/dev/null || true; fi; } |
    awk '{s += $1} END {printf "%.1f\n", s / 1048576}'
}

case "${1:-}" in
  stash)
    [ ! -e "$stash/manifest" ] || { echo "slim-tree: $stash/manifest exists: restore first (a stash is already out)" >&2; exit 2; }
    mkdir -p "$stash/models"
    : > "$stash/manifest.partial"
    for entry in models/*; do
      name=${entry#models/}
      [ -d "$entry" ] || continue                       # README.md and other files stay
      case " $keep " in *" $name "*) continue ;; esac
      mv "$entry" "$stash/models/$name"
      echo "$name" >> "$stash/manifest.partial"
    done
    mv "$stash/manifest.partial" "$stash/manifest"
    echo "slim-tree: moved $(wc -l < "$stash/manifest") folders of models/ to $stash/models; kept: $keep"
    size=$(carried_mib)
    echo "slim-tree: a device call would carry about $size MiB (limit $limit_mib)"
    awk -v s="$size" -v l="$limit_mib" 'BEGIN {exit !(s > l)}' &&
      { echo "slim-tree: still over the limit: set PDNN_KEEP_MODELS to fewer folders, or carry less" >&2; exit 1; }
    exit 0 ;;
  restore)
    [ -e "$stash/manifest" ] || { echo "slim-tree: nothing to restore ($stash/manifest is missing)" >&2; exit 2; }
    while read -r name; do
      [ -e "models/$name" ] && { echo "slim-tree: models/$name exists in the tree and in the stash: left both, resolve by hand" >&2; exit 1; }
      mv "$stash/models/$name" "models/$name"
    done < "$stash/manifest"
    rm "$stash/manifest"
    rmdir "$stash/models" 2>/dev/null || true    # a stash someone added to by hand stays
    echo "slim-tree: restored; git status:"
    git status --short models | head -n 20
    exit 0 ;;
  size)
    echo "$(carried_mib) MiB" ;;
  *)
    echo "usage: bash scripts/gpu/slim-tree.sh stash|restore|size" >&2; exit 2 ;;
esac
