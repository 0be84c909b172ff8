#!/usr/bin/env bash
# Tests of the repository's shell scripts, run by .ci/run before the .NET tests (issue 14):
#  - shellcheck passes on every shell script in the repository (skipped when shellcheck is missing);
#  - scripts/setup.sh gives the same result on every run (20 per case), with the real `ldconfig -p` and with a wrapper
#    `ldconfig` in front of it on PATH that lists ~400 KB of fake libraries after the libstdc++ entry (the case that
#    made `ldconfig -p | awk '...; exit'` die of SIGPIPE under pipefail), as root and as a non-root user (created with
#    useradd when run as root). A non-root user whose libstdc++ lacks GLIBCXX_3.4.32 must get the exact commands,
#    exit 1, and nothing changed; a failing step must end with one "setup: ..." line naming it.
#  - scripts/gpu/adversarial-training.sh, with a stub `pdnn` bundle: each run gets its command and options, unknown names are refused,
#    lanes run side by side; scripts/gpu/de-paper-budget.sh the same way.
# `dotnet` and `apt-get` are stubs on PATH that only log their calls, so no restore or install happens.
# Ends with "N passed, N failed, N skipped". Usage: bash tests/scripts/run-tests.sh [path/to/setup.sh]
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
setup_under_test=$(realpath "${1:-$repo/scripts/setup.sh}")
runs=20
user=pdnn-setup-test
need=GLIBCXX_3.4.32
passed=0 failed=0 skipped=0
pass() { echo "ok    $1"; passed=$((passed + 1)); }
fail() { echo "FAIL  $1"; failed=$((failed + 1)); }
skip() { echo "skip  $1"; skipped=$((skipped + 1)); }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"   # the non-root user reads the script and the stubs from here
cd "$tmp" || exit 1

# --- shellcheck on every shell script (by extension or by #! line) ---------------------------------------------------
scripts=()
while IFS= read -r -d '' file; do
  first_line=""
  [ -f "$repo/$file" ] && read -r first_line < "$repo/$file"
  if [[ $file == *.sh || $first_line =~ ^#!.*[/\ ](ba|da|k)?sh$ ]]; then scripts+=("$file"); fi
done < <(git -C "$repo" ls-files -z)
if ! command -v shellcheck >/dev/null; then
  skip "shellcheck on ${#scripts[@]} scripts: shellcheck is not installed (as root: bash scripts/setup.sh --test-data)"
else
  for file in "${scripts[@]}"; do
    if out=$(cd "$repo" && shellcheck -x "$file" 2>&1); then pass "shellcheck $file"; else fail "shellcheck $file:"; echo "$out"; fi
  done
fi

# --- scripts/gpu/slim-tree.sh: stash moves what runs do not read, restore leaves git's view of the tree unchanged ------
slim_repo=$tmp/slim-repo
mkdir -p "$slim_repo/models/keep-me" "$slim_repo/models/big" "$slim_repo/models/robustness" "$slim_repo/scripts/gpu"
cp "$repo/scripts/gpu/slim-tree.sh" "$slim_repo/scripts/gpu/"
echo readme > "$slim_repo/models/README.md"; echo a > "$slim_repo/models/keep-me/a.onnx"
head -c 300000 /dev/zero > "$slim_repo/models/big/w.bin"; echo t > "$slim_repo/models/robustness/t.md"
if git -C "$slim_repo" init -q && git -C "$slim_repo" add -A &&
   git -C "$slim_repo" -c user.name=t -c user.email=t@t commit -qm init; then
  slim() { (cd "$slim_repo" && PDNN_STASH="$tmp/slim-stash" PDNN_KEEP_MODELS=keep-me bash scripts/gpu/slim-tree.sh "$@"); }
  before=$(slim size)
  if slim stash > "$tmp/slim.out" 2>&1 && [ -d "$slim_repo/models/keep-me" ] && [ -f "$slim_repo/models/README.md" ] &&
     [ ! -e "$slim_repo/models/big" ] && [ ! -e "$slim_repo/models/robustness" ] && [ -f "$tmp/slim-stash/models/big/w.bin" ] &&
     grep -q 'carry about' "$tmp/slim.out" && [ "$(slim size)" != "$before" ]; then
    pass "slim-tree stash: moves models/ folders not kept, keeps the named ones and files, reports the carried size"
  else fail "slim-tree stash:"; cat "$tmp/slim.out"; fi
  if ! slim stash > "$tmp/slim.out" 2>&1 && grep -q 'restore first' "$tmp/slim.out"; then
    pass "slim-tree stash twice: refused, naming the stash already out"
  else fail "slim-tree stash twice was not refused:"; cat "$tmp/slim.out"; fi
  if slim restore > "$tmp/slim.out" 2>&1 && [ -z "$(git -C "$slim_repo" status --porcelain)" ] && [ "$(slim size)" = "$before" ] &&
     ! slim restore > /dev/null 2>&1; then
    pass "slim-tree restore: git status clean, same size as before, a second restore refused"
  else fail "slim-tree restore:"; cat "$tmp/slim.out"; git -C "$slim_repo" status --short; fi
  # PDNN_CARRY: only the artifacts a call names count (2 MB left behind here must not).
  mkdir -p "$slim_repo/artifacts" && echo 'artifacts/' >> "$slim_repo/.git/info/exclude"
  head -c 2000000 /dev/zero > "$slim_repo/artifacts/big.tar.xz"; head -c 1000 /dev/zero > "$slim_repo/artifacts/small.tar.xz"
  all=$(slim size)
  only=$(cd "$slim_repo" && PDNN_CARRY=artifacts/small.tar.xz PDNN_STASH="$tmp/slim-stash" bash scripts/gpu/slim-tree.sh size)
  if awk -v a="${all% MiB}" -v o="${only% MiB}" -v b="${before% MiB}" 'BEGIN {exit !(a - o > 1.8 && o - b < 0.1)}'; then
    pass "slim-tree size: PDNN_CARRY counts only the artifacts it names ($only against $all)"
  else fail "slim-tree size with PDNN_CARRY: $only, without: $all, tree alone: $before"; fi
else
  skip "slim-tree: could not make a scratch git repository"
fi

# --- scripts/gpu/adversarial-training.sh: each run gets its own command and options; unknown names are refused --------
# A stub `pdnn` bundle logs its arguments (no .NET, no GPU): what the script would run on the lent machine.
gpu_repo=$tmp/gpu-repo
mkdir -p "$gpu_repo/scripts/gpu" "$gpu_repo/artifacts" "$tmp/gpu-stub/pdnn-gpu" "$tmp/gpu-stub/cifar10/train"
cp "$repo/scripts/gpu/adversarial-training.sh" "$repo/scripts/gpu/runs.sh" "$repo/scripts/gpu/de-paper-budget.sh" "$gpu_repo/scripts/gpu/"
cat > "$tmp/gpu-stub/pdnn-gpu/run-pdnn.sh" <<'STUB'
#!/usr/bin/env bash
echo "$*" >> "$PDNN_STUB_LOG"
out=""; prev=""
for a in "$@"; do [ "$prev" = --out ] && out=$a; prev=$a; done
if [ -n "$out" ]; then mkdir -p "$out"; echo "epoch 1: train loss 0.1"; echo '{}' > "$out/model.card.json"; fi
sleep "${PDNN_STUB_SLEEP:-0}"
echo "end ${out##*/}" >> "$PDNN_STUB_LOG"
STUB
chmod +x "$tmp/gpu-stub/pdnn-gpu/run-pdnn.sh"
tar -C "$tmp/gpu-stub" -cJf "$gpu_repo/artifacts/pdnn-gpu.tar.xz" pdnn-gpu && tar -C "$tmp/gpu-stub" -cJf "$gpu_repo/artifacts/cifar10.tar.xz" cifar10
cp "$gpu_repo/artifacts/cifar10.tar.xz" "$gpu_repo/artifacts/cifar10-test.tar.xz"
gpu() { (cd "$gpu_repo" && PDNN_STUB_LOG=$tmp/gpu-calls.log PDNN_GPU_WORK=$tmp/gpu-work OUT=$tmp/gpu-out PDNN_SKIP_BENCH=1 \
         PDNN_RUNS="$1" bash scripts/gpu/adversarial-training.sh 300) > "$tmp/gpu.out" 2>&1; }
if gpu "inpainter-lite-g4-full resnet20-long160" &&
   grep -q -- '^train-inpainter --data .*/cifar10 --seed 0 --device cuda --max-minutes [0-9.]* --out .*/inpainter-lite-g4-full --size lite --epochs 100 --held-out 5000 --patience 3 --lr-drops 2 --classifier models/resnet20-cifar10 --cell 4 --batch-size 64 --lr 2e-3$' "$tmp/gpu-calls.log" &&
   grep -q -- '^train-classifier --data .*/cifar10 --arch resnet20 --batch-size 128 --seed 0 --device cuda --max-minutes [0-9.]* --out .*/resnet20-long160 --epochs 160 --lr 0.1 --schedule Cosine$' "$tmp/gpu-calls.log" &&
   ! grep -q -- '^train-inpainter.*--arch' "$tmp/gpu-calls.log" && [ -f "$tmp/gpu-out/results.tar.xz" ]; then
  pass "gpu/adversarial-training.sh: a recreation run gets train-inpainter and its options, a classifier run train-classifier's, results packed"
else fail "gpu/adversarial-training.sh runs:"; cat "$tmp/gpu.out" "$tmp/gpu-calls.log"; fi
rm -f "$tmp/gpu-calls.log"
if ! gpu "inpainter-lite-g4-full no-such-run" && grep -q "no run named 'no-such-run'" "$tmp/gpu.out" && [ ! -e "$tmp/gpu-calls.log" ]; then
  pass "gpu/adversarial-training.sh: an unknown run name is refused before anything runs"
else fail "gpu/adversarial-training.sh did not refuse an unknown run:"; cat "$tmp/gpu.out"; fi

rm -f "$tmp/gpu-calls.log"
# Lanes: "a b, c" runs a then b, beside c. Each stub run lasts 1 s, so c starts before a ends and b after it.
line_of() { grep -n -- "$1" "$tmp/gpu-calls.log" | head -n 1 | cut -d: -f1; }
export PDNN_STUB_SLEEP=1
if gpu "resnet20-long160 inpainter-lite-g4-full, resnet20-long" && grep -q '2 lanes side by side' "$tmp/gpu.out" &&
   [ "$(line_of ' --out .*/resnet20-long ')" -lt "$(line_of '^end resnet20-long160$')" ] &&
   [ "$(line_of ' --out .*/inpainter-lite-g4-full ')" -gt "$(line_of '^end resnet20-long160$')" ]; then
  pass "gpu/adversarial-training.sh: lanes separated by commas run side by side, each lane's runs one after another"
else fail "gpu/adversarial-training.sh lanes:"; cat "$tmp/gpu.out" "$tmp/gpu-calls.log"; fi
unset PDNN_STUB_SLEEP

# --- scripts/gpu/de-paper-budget.sh: the paper's DE budget querying the twin on CUDA; a second call resumes -----------
rm -f "$tmp/gpu-calls.log"
de() { (cd "$gpu_repo" && PDNN_STUB_LOG=$tmp/gpu-calls.log PDNN_GPU_WORK=$tmp/de-work OUT=$tmp/de-out "$@" bash scripts/gpu/de-paper-budget.sh 300) > "$tmp/de.out" 2>&1; }
if de env && de env PDNN_RESUME_FROM="$tmp/de-out/de.tar.xz" &&
   [ "$(grep -c -- '^evaluate --defense nsr,fir --grid 1 --data .*/cifar10 --models models --n 100 --seed 0 --attacks 1px,10px --de-population 400 --de-generations 100 --query-target twin --batch-size 10 --eps-curve  --device cuda --out .*/de-work/de' "$tmp/gpu-calls.log")" -eq 2 ] &&
   [ "$(grep -c -- ' --resume$' "$tmp/gpu-calls.log")" -eq 1 ] && tar -tJf "$tmp/de-out/de.tar.xz" | grep -q '^de/$'; then
  pass "gpu/de-paper-budget.sh: evaluate at population 400 x 100 querying the twin on CUDA, the evaluation packed, a second call resumes it"
else fail "gpu/de-paper-budget.sh:"; cat "$tmp/de.out" "$tmp/gpu-calls.log"; fi

# --- the machine's own libstdc++ (what setup should find) -------------------------------------------------------------
real_ldconfig=$(command -v ldconfig || true)
for candidate in /sbin/ldconfig /usr/sbin/ldconfig; do
  if [ -z "$real_ldconfig" ] && [ -x "$candidate" ]; then real_ldconfig=$candidate; fi
done
if [ -z "$real_ldconfig" ]; then
  skip "setup.sh: no ldconfig on this machine"
  echo "$passed passed, $failed failed, $skipped skipped"; exit $((failed > 0))
fi
"$real_ldconfig" -p > "$tmp/real-cache.txt"
real_entry=$(awk '/libstdc\+\+\.so\.6 .*x86-64/ { if (e == "") e = $0 } END { print e }' "$tmp/real-cache.txt")
real_lib=${real_entry##* => }
real_ok=false
if [ -n "$real_entry" ] && grep -aq "$need" "$real_lib"; then real_ok=true; fi

# A libstdc++ that lacks the symbol, as on Debian 12 (the file only has to be read by setup's check).
mkdir -p "$tmp/old-lib" && printf 'GLIBCXX_3.4.30\0GLIBCXX_3.4.31\0' > "$tmp/old-lib/libstdc++.so.6"

# Large cache: the libstdc++ entry ($1), then 5000 fake libraries (~400 KB), then the machine's real list.
write_large_cache() {
  local lib=$1
  {
    echo "$(($(wc -l < "$tmp/real-cache.txt") + 5000)) libs found in cache \`/etc/ld.so.cache'"
    printf '\tlibstdc++.so.6 (libc6,x86-64) => %s\n' "$lib"
    for i in $(seq -w 1 5000); do
      printf '\tlibfake-scientific-stack-%s.so.1 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libfake-scientific-stack-%s.so.1\n' "$i" "$i"
    done
    tail -n +2 "$tmp/real-cache.txt"
  } > "$2"
}
write_large_cache "$real_lib" "$tmp/large-cache.txt"
write_large_cache "$tmp/old-lib/libstdc++.so.6" "$tmp/large-cache-old-lib.txt"

# A bin folder to put in front of PATH: stubs for dotnet and apt-get that log their calls (dotnet exits $2), and with
# a cache file ($3) a wrapper ldconfig whose -p prints it.
mkdir -m 1777 "$tmp/calls"
make_bin() {
  local bin=$tmp/bin-$1
  mkdir -p "$bin"
  printf '#!/bin/sh\necho "dotnet $*" >> %s/calls/dotnet\nexit %s\n' "$tmp" "$2" > "$bin/dotnet"
  printf '#!/bin/sh\necho "apt-get $*" >> %s/calls/apt-get\nexit 1\n' "$tmp" > "$bin/apt-get"
  if [ -n "${3:-}" ]; then
    # shellcheck disable=SC2016 # $1 and $@ belong to the wrapper
    printf '#!/bin/sh\nif [ "$1" = -p ]; then exec cat %s; fi\nexec %s "$@"\n' "$3" "$real_ldconfig" > "$bin/ldconfig"
  fi
  chmod 755 "$bin"/*
  echo "$bin"
}
bin_real=$(make_bin real 0)
bin_large=$(make_bin large 0 "$tmp/large-cache.txt")
bin_old=$(make_bin old 0 "$tmp/large-cache-old-lib.txt")
bin_restore_fails=$(make_bin restore-fails 1)

# The script under test in a tree of its own, which the non-root user can read but not write.
mkdir -p "$tmp/tree/scripts" && cp "$setup_under_test" "$tmp/tree/scripts/setup.sh" && chmod -R a+rX "$tmp/tree"

as_root=false
[ "$(id -u)" -eq 0 ] && as_root=true
if $as_root && ! id "$user" >/dev/null 2>&1; then
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$user" ||
    echo "could not create the user $user; the non-root cases will fail"
fi
mkdir -p "$tmp/home"
if $as_root; then chown "$user" "$tmp/home" 2>/dev/null || true; fi

# run_setup WHO BIN [ARGS...]: one run of setup.sh with a clean environment, as a fresh login would have it: root's
# PATH includes /sbin, an ordinary Debian user's does not. Leaves rc, out, err.
run_setup() {
  local who=$1 bin=$2; shift 2
  local -a cmd
  if [ "$who" = root ]; then
    cmd=(env -i HOME=/root PATH="$bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
  else
    cmd=(env -i HOME="$tmp/home" PATH="$bin:/usr/local/bin:/usr/bin:/bin")
    if $as_root; then cmd=(runuser -u "$user" -- "${cmd[@]}"); fi
  fi
  "${cmd[@]}" bash "$tmp/tree/scripts/setup.sh" "$@" > "$tmp/out" 2> "$tmp/err"
  rc=$?
  out=$(cat "$tmp/out")
  err=$(cat "$tmp/err")
}

# check_case NAME WHO BIN EXPECT_RC EXPECT_CALLS TEXT... [-- SETUP_ARGS...]: $runs runs; each must exit EXPECT_RC,
# print every TEXT (a fixed string, over stdout and stderr), call the stubs as EXPECT_CALLS says ("dotnet": one
# restore per run, "none", "any"; apt-get never), change nothing under /etc/apt, the tree or the user's home, give
# the same output as the first run, and never fail without a "setup: " line on stderr.
check_case() {
  local name=$1 who=$2 bin=$3 expect_rc=$4 expect_calls=$5; shift 5
  local -a texts=() args=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do texts+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  args=("$@")
  if [ "$who" = root ] && ! $as_root; then skip "$name: needs root"; return; fi
  local i text why="" first="" changed dotnet_calls
  rm -f "$tmp/calls"/*
  touch "$tmp/stamp"
  sleep 0.01   # so that anything written after the stamp is strictly newer
  for ((i = 1; i <= runs; i++)); do
    run_setup "$who" "$bin" "${args[@]}"
    if [ "$rc" -ne 0 ] && ! grep -q '^setup: ' <<<"$err"; then
      why="run $i: exit $rc without a 'setup: ...' line on stderr (a silent failure); stderr: ${err:-<empty>}"; break
    fi
    if [ "$rc" -ne "$expect_rc" ]; then why="run $i: exit $rc, expected $expect_rc; output: $out $err"; break; fi
    for text in "${texts[@]}"; do
      if ! grep -qF -- "$text" <<<"$out"$'\n'"$err"; then why="run $i: output lacks '$text'; output: $out $err"; break 2; fi
    done
    if [ -z "$first" ]; then first="$rc|$out|$err"; elif [ "$first" != "$rc|$out|$err" ]; then
      why="run $i: output differs from run 1: $out $err"; break
    fi
  done
  if [ -z "$why" ]; then
    dotnet_calls=$(grep -c 'restore Pdnn.MLNet.sln' "$tmp/calls/dotnet" 2>/dev/null || true)
    if [ -s "$tmp/calls/apt-get" ]; then why="apt-get was called: $(cat "$tmp/calls/apt-get")"
    elif [ "$expect_calls" = dotnet ] && [ "${dotnet_calls:-0}" -ne "$runs" ]; then why="dotnet restore ran ${dotnet_calls:-0} times in $runs runs"
    elif [ "$expect_calls" = none ] && [ -s "$tmp/calls/dotnet" ]; then why="dotnet was called: $(cat "$tmp/calls/dotnet")"
    fi
  fi
  if [ -z "$why" ]; then
    changed=$(find /etc/apt/sources.list.d /etc/apt/preferences.d "$tmp/tree" "$tmp/home" -newer "$tmp/stamp" 2>/dev/null)
    [ -z "$changed" ] || why="changed: $changed"
  fi
  if [ -z "$why" ]; then pass "$name ($runs runs)"; else fail "$name: $why"; fi
}

provides="provides $need"
# The exact commands a user without the right libstdc++ must be given.
commands='printf "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n" > /etc/apt/sources.list.d/pdnn-trixie.sources
printf "Package: *\nPin: release n=trixie\nPin-Priority: 100\n" > /etc/apt/preferences.d/pdnn-trixie
apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=300 -t trixie libstdc++6'
if $real_ok; then
  check_case "setup.sh as root, real ldconfig" root "$bin_real" 0 dotnet "$real_lib $provides" 'setup: done'
  check_case "setup.sh as root, ~400 KB fake library list in front" root "$bin_large" 0 dotnet "$real_lib $provides" 'setup: done'
  check_case "setup.sh as a user, real ldconfig (not on the user's PATH)" user "$bin_real" 0 dotnet "$real_lib $provides" 'setup: done'
  check_case "setup.sh as a user, ~400 KB fake library list in front" user "$bin_large" 0 dotnet "$real_lib $provides" 'setup: done'
  runs=1 check_case "setup.sh, restore fails: a line names the step" user "$bin_restore_fails" 1 any \
    "setup: step 'restore NuGet packages' failed (exit 1): 'dotnet restore Pdnn.MLNet.sln' failed"
else
  skip "setup.sh with the machine's libstdc++: ${real_lib:-none found} lacks $need (did the setup phase fail?)"
fi
check_case "setup.sh as a user, large list, libstdc++ without $need: the commands, exit 1, nothing changed" user "$bin_old" 1 none \
  "$tmp/old-lib/libstdc++.so.6 lacks $need" 'not root' "$commands"
check_case "setup.sh --check as root, large list, libstdc++ without $need: the commands, exit 1, nothing changed" root "$bin_old" 1 none \
  "$tmp/old-lib/libstdc++.so.6 lacks $need" "$commands" -- --check

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
