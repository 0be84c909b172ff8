#!/usr/bin/env bash
# One-command setup for Pdnn.MLNet on a fresh machine.
#  1. TorchSharp 0.107's native libLibTorchSharp.so needs GLIBCXX_3.4.32 (libstdc++ from GCC 13+).
#     Debian 12 ships GCC 12's libstdc++; we detect that and install libstdc++6 from Debian trixie.
#  2. Restores the solution's NuGet packages.
#  3. With --test-data: installs Debian's dataset-fashion-mnist (real IDX files for the reader tests; 30 MB) and
#     the shellcheck package (CI checks every shell script with it).
# Idempotent: a second run does nothing but the restore. Every run on the same machine gives the same result, and
# no failure is silent: it prints a "setup: ..." line that names the step and what to do.
# Usage: bash scripts/setup.sh [--test-data] [--check]
#   --check  change nothing (no apt, no restore): say what is missing and the commands that would fix it; exit 1 if
#            the libstdc++ TorchSharp needs is missing.
set -euo pipefail

# Never a silent exit: die() for the failures we expect; the EXIT trap names the step for anything else that stops
# the script under `set -e`.
step="start"
hint="rerun with 'bash -x scripts/setup.sh' to see the failing command."
reported=false
die() { echo "setup: $*" >&2; reported=true; exit 1; }
on_exit() {
  local rc=$?
  if [ "$rc" -ne 0 ] && ! $reported; then echo "setup: step '$step' failed (exit $rc): $hint" >&2; fi
}
trap on_exit EXIT

cd "$(dirname "$0")/.."
test_data=false
check_only=false
for arg in "$@"; do
  case "$arg" in
    --test-data) test_data=true ;;
    --check) check_only=true ;;
    *) echo "setup: unknown option '$arg' (known: --test-data, --check)" >&2; reported=true; exit 2 ;;
  esac
done
is_root=false
[ "$(id -u)" -eq 0 ] && is_root=true
apt_install="DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=300"

# --- 1. libstdc++ with GLIBCXX_3.4.32 -------------------------------------------------------------------------------
step="find the libstdc++ the dynamic loader uses"
need=GLIBCXX_3.4.32
default_libstdcxx=/usr/lib/x86_64-linux-gnu/libstdc++.so.6
# ldconfig is in /sbin, which is not on an ordinary Debian user's PATH.
ldconfig_cmd=$(command -v ldconfig || true)
for candidate in /sbin/ldconfig /usr/sbin/ldconfig; do
  if [ -z "$ldconfig_cmd" ] && [ -x "$candidate" ]; then ldconfig_cmd=$candidate; fi
done
# Read the whole cache into a variable before parsing it. Piping `ldconfig -p` into a reader that stops at the first
# match (awk '{...; exit}', grep -m1, head) kills ldconfig with SIGPIPE whenever it still has output to write, and
# under pipefail that ended this script silently, more often the larger the machine's library cache (issue 14).
cache=""
if [ -n "$ldconfig_cmd" ]; then cache=$("$ldconfig_cmd" -p 2>/dev/null) || cache=""; fi
# The first x86-64 entry is the one the loader takes; matched in bash, so no pipe, subprocess or temporary file.
libstdcxx=""
entry='libstdc\+\+\.so\.6 \([^)]*x86-64[^)]*\) => ([^[:space:]]+)'
if [[ $cache =~ $entry ]]; then libstdcxx=${BASH_REMATCH[1]}; fi
if [ -z "$libstdcxx" ]; then
  echo "setup: no x86-64 libstdc++.so.6 in the ldconfig cache${ldconfig_cmd:+ ($ldconfig_cmd -p)}; checking $default_libstdcxx."
  libstdcxx=$default_libstdcxx
fi

has_symbol() { [ -f "$libstdcxx" ] && grep -aq "$need" "$libstdcxx"; }

fix_cmds='printf "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n" > /etc/apt/sources.list.d/pdnn-trixie.sources
printf "Package: *\nPin: release n=trixie\nPin-Priority: 100\n" > /etc/apt/preferences.d/pdnn-trixie
apt-get update -q && '"$apt_install"' -t trixie libstdc++6'

if [ "$(uname -m)" != x86_64 ]; then
  # TorchSharp's CPU package here is libtorch-cpu-linux-x64 only; installing a libstdc++ would not help.
  echo "setup: this machine is $(uname -m); TorchSharp's native libraries here are for x86-64 Linux only, so training and the white-box attacks will not load (the ONNX/ML.NET parts can). Skipping the libstdc++ check."
elif has_symbol; then
  echo "setup: $libstdcxx provides $need (TorchSharp's native library can load)."
elif $check_only; then
  echo "setup: check: $libstdcxx lacks $need, which TorchSharp 0.107's libLibTorchSharp.so needs (GCC 13+ libstdc++). As root, setup would run:" >&2
  echo "$fix_cmds" >&2
  reported=true; exit 1
elif ! $is_root; then
  echo "setup: $libstdcxx lacks $need, which TorchSharp 0.107's libLibTorchSharp.so needs (GCC 13+ libstdc++); not root, so not changing the system. Run these as root, then rerun 'bash scripts/setup.sh':" >&2
  echo "$fix_cmds" >&2
  reported=true; exit 1
elif ! grep -q '^ID=debian' /etc/os-release 2>/dev/null; then
  die "$libstdcxx lacks $need and this is not Debian; install a libstdc++ from GCC 13 or newer (Ubuntu 24.04 and Debian 13 have one), then rerun."
else
  echo "setup: $libstdcxx lacks $need, which TorchSharp 0.107's libLibTorchSharp.so needs (GCC 13+ libstdc++); installing libstdc++6 from Debian trixie."
  step="install libstdc++6 from Debian trixie"
  hint="apt failed (its message is above: network, disk space, another package manager holding the lock?); fix that and rerun, or run these commands by hand: $fix_cmds"
  # Pin trixie low so that only what we ask for (libstdc++6 and what it drags in, libc6) comes from it.
  bash -c "$fix_cmds"
  has_symbol || die "$need still missing from $libstdcxx after installing libstdc++6 from trixie; check 'apt-cache policy libstdc++6'."
  echo "setup: libstdc++ now provides $need."
fi

# --- 2. test data and tools (optional: their tests are skipped without them) -----------------------------------------
if $test_data; then
  step="test data and tools"
  missing=()
  if [ -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ]; then
    echo "setup: Fashion-MNIST present in /usr/share/datasets/fashion-mnist."
  else
    missing+=(dataset-fashion-mnist)
  fi
  if command -v shellcheck >/dev/null; then
    echo "setup: shellcheck present."
  else
    missing+=(shellcheck)
  fi
  # The served page's browser test drives Debian's Chromium (Playwright never downloads a browser here).
  if [ -x /usr/bin/chromium ]; then
    echo "setup: Chromium present (/usr/bin/chromium)."
  else
    missing+=(chromium)
  fi
  if [ ${#missing[@]} -eq 0 ]; then
    :
  elif $check_only || ! $is_root; then
    echo "setup: optional packages missing: ${missing[*]} (their tests are reported as skipped); as root: apt-get install ${missing[*]}"
  else
    echo "setup: installing ${missing[*]} (real IDX files for the reader tests; the shell-script checks; the serving sample's browser test)..."
    if apt-get update -q >/dev/null; then
      for package in "${missing[@]}"; do
        if ! bash -c "$apt_install $package" >/dev/null; then
          echo "setup: could not install $package; its tests will be reported as skipped."
        fi
      done
    else
      echo "setup: 'apt-get update' failed; ${missing[*]} not installed, their tests will be reported as skipped."
    fi
  fi
fi

# --- 3. NuGet packages --------------------------------------------------------------------------------------------
if $check_only; then
  echo "setup: check: nothing changed (no apt, no NuGet restore)."
  exit 0
fi
step="restore NuGet packages"
command -v dotnet >/dev/null || die "'dotnet' is not on PATH: install the .NET 10 SDK (https://dot.net), then rerun."
hint="'dotnet restore Pdnn.MLNet.sln' failed (its message is above): check network access to the feeds in NuGet.config and free disk space, then rerun."
echo "setup: restoring NuGet packages (first run downloads TorchSharp and libtorch, ~250 MB)..."
dotnet restore Pdnn.MLNet.sln --verbosity quiet
echo "setup: done."
