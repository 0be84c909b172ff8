#!/usr/bin/env bash
# One-command setup for Pdnn.MLNet on a fresh machine.
#  1. TorchSharp 0.107's native libLibTorchSharp.so needs GLIBCXX_3.4.32 (libstdc++ from GCC 13+).
#     Debian 12 ships GCC 12's libstdc++; we detect that and install libstdc++6 from Debian trixie.
#  2. Restores the solution's NuGet packages.
#  3. With --test-data: installs Debian's dataset-fashion-mnist (real IDX files for the reader tests; 30 MB).
# Idempotent: a second run does nothing but the restore.
# Usage: bash scripts/setup.sh [--test-data]
set -euo pipefail
cd "$(dirname "$0")/.."
test_data=false
for arg in "$@"; do
  case "$arg" in
    --test-data) test_data=true ;;
    *) echo "setup: unknown option '$arg' (known: --test-data)" >&2; exit 2 ;;
  esac
done

need=GLIBCXX_3.4.32
libstdcxx=$(ldconfig -p 2>/dev/null | awk '/libstdc\+\+\.so\.6 .*x86-64/ {print $NF; exit}')
libstdcxx=${libstdcxx:-/usr/lib/x86_64-linux-gnu/libstdc++.so.6}

has_symbol() { [ -f "$libstdcxx" ] && grep -aq "$need" "$libstdcxx"; }

if has_symbol; then
  echo "setup: $libstdcxx provides $need (TorchSharp's native library can load)."
else
  echo "setup: $libstdcxx lacks $need, which TorchSharp 0.107's libLibTorchSharp.so needs (GCC 13+ libstdc++); installing libstdc++6 from Debian trixie."
  fix_cmds='printf "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n" > /etc/apt/sources.list.d/pdnn-trixie.sources
printf "Package: *\nPin: release n=trixie\nPin-Priority: 100\n" > /etc/apt/preferences.d/pdnn-trixie
apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q -t trixie libstdc++6'
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: not root, so not changing the system. Run as root:" >&2
    echo "$fix_cmds" >&2
    exit 1
  fi
  if ! grep -q '^ID=debian' /etc/os-release 2>/dev/null; then
    echo "setup: this is not Debian; install a libstdc++ from GCC 13 or newer (Ubuntu 24.04 and Debian 13 have one), then rerun." >&2
    exit 1
  fi
  # Pin trixie low so that only what we ask for (libstdc++6 and what it drags in, libc6) comes from it.
  bash -c "$fix_cmds"
  has_symbol || { echo "setup: $need still missing from $libstdcxx after the install" >&2; exit 1; }
  echo "setup: libstdc++ now provides $need."
fi

if $test_data; then
  if [ -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ]; then
    echo "setup: Fashion-MNIST present in /usr/share/datasets/fashion-mnist."
  elif [ "$(id -u)" -eq 0 ]; then
    echo "setup: installing dataset-fashion-mnist (real IDX files for the reader tests)..."
    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q dataset-fashion-mnist >/dev/null \
      || echo "setup: could not install dataset-fashion-mnist; its test will be reported as skipped."
  else
    echo "setup: not root; 'apt-get install dataset-fashion-mnist' would add real IDX files for the reader tests."
  fi
fi

# Issue 12 (serving): the upload page's browser test drives Debian's Chromium (Playwright never downloads a browser here).
if $test_data; then
  if [ -x /usr/bin/chromium ]; then
    echo "setup: Chromium present (/usr/bin/chromium)."
  elif [ "$(id -u)" -eq 0 ]; then
    echo "setup: installing chromium (the served page's browser test)..."
    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null \
      || echo "setup: could not install chromium; the page's browser test will be reported as skipped."
  else
    echo "setup: not root; 'apt-get install chromium' would let the served page's browser test run."
  fi
fi

echo "setup: restoring NuGet packages (first run downloads TorchSharp and libtorch, ~250 MB)..."
dotnet restore Pdnn.MLNet.sln --verbosity quiet
echo "setup: done."
