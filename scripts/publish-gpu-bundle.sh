#!/usr/bin/env bash
# Publishes `pdnn` as a portable bundle for a Linux GPU machine that has PyTorch (CUDA build) but no .NET:
# a self-contained, trimmed app with TorchSharp's managed code and its native libLibTorchSharp.so, but no CPU libtorch.
# On the GPU machine, run-pdnn.sh points the dynamic loader at PyTorch's torch/lib, whose CUDA libtorch LibTorchSharp
# then binds to. Output: artifacts/pdnn-gpu/ and artifacts/pdnn-gpu.tar.xz.
# Usage: bash scripts/publish-gpu-bundle.sh [--training-only]
#   --training-only also leaves out ONNX Runtime's native library and the debugger/alternative-GC runtime files (training
#   and white-box work on the GPU go through TorchSharp only): 13.5 MB instead of 23 MB, which with the CIFAR-10 JPEGs
#   (19 MB) and the repository keeps a device call under its 64 MiB.
set -euo pipefail
training_only=false
[ "${1:-}" = "--training-only" ] && training_only=true
# Never a silent stop: whatever fails under `set -e` (dotnet publish, tar), the last line says so.
on_exit() {
  local rc=$?
  if [ "$rc" -ne 0 ]; then echo "publish: failed (exit $rc); the message of the command that failed is above." >&2; fi
}
trap on_exit EXIT
cd "$(dirname "$0")/.."
out=artifacts/pdnn-gpu
rm -rf "$out" artifacts/pdnn-gpu.tar.xz
dotnet publish src/Pdnn.Cli -c Release -r linux-x64 --self-contained \
  -p:PublishTrimmed=true -p:TrimMode=partial -o "$out" --verbosity quiet

# The CPU libtorch (~600 MB) must not shadow PyTorch's CUDA libtorch; LibTorchSharp itself stays.
find "$out" -maxdepth 1 \( -name 'libtorch*.so*' -o -name 'libc10*.so*' -o -name 'libgomp*' -o -name 'libshm*.so*' \
  -o -name 'libbackend_with_compiler.so' -o -name 'libjitbackend_test.so' -o -name 'libnnapi_backend.so' \
  -o -name 'libtorchbind_test.so' -o -name 'libaoti_custom_ops.so' -o -name 'libcaffe2*.so' \) -delete
# Windows native ONNX Runtime files and debug symbols that some packages ship into every runtime's output.
rm -f "$out"/onnxruntime.dll "$out"/onnxruntime_providers_shared.dll "$out"/*.dbg
if $training_only; then
  rm -f "$out"/libonnxruntime.so "$out"/libmscordaccore.so "$out"/libmscordbi.so "$out"/libclrgc.so "$out"/libclrgcexp.so "$out"/*.pdb
fi
[ -f "$out/libLibTorchSharp.so" ] || { echo "publish: libLibTorchSharp.so missing from $out" >&2; exit 1; }

cp scripts/run-pdnn.sh "$out/run-pdnn.sh"
chmod +x "$out/run-pdnn.sh" "$out/pdnn"
tar -C artifacts -cJf artifacts/pdnn-gpu.tar.xz pdnn-gpu
echo "publish: $(du -sh "$out" | cut -f1) in $out, $(du -h artifacts/pdnn-gpu.tar.xz | cut -f1) as artifacts/pdnn-gpu.tar.xz"
echo "publish: on the GPU machine: tar -xJf pdnn-gpu.tar.xz && pdnn-gpu/run-pdnn.sh bench-train --device cuda"
