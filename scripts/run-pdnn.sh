#!/usr/bin/env sh
# Launcher of the GPU bundle (scripts/publish-gpu-bundle.sh copies it in beside pdnn).
# Runs pdnn against PyTorch's libtorch: $PDNN_LIBTORCH_DIR if set, else the torch/lib of the python3 on PATH.
here=$(cd "$(dirname "$0")" && pwd)
lib=${PDNN_LIBTORCH_DIR:-$(python3 -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))' 2>/dev/null)}
if [ -z "$lib" ] || [ ! -f "$lib/libtorch.so" ]; then
  echo "run-pdnn.sh: no libtorch found: set PDNN_LIBTORCH_DIR to PyTorch's torch/lib, or put a python3 with torch on PATH." >&2
  exit 1
fi
export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
exec "$here/pdnn" "$@"
