#!/usr/bin/env bash
# Peak resident memory at two sizes (issue 13): a deployed chain over 5,000 and 50,000 rows, and an evaluation of 1,000
# sampled images out of 5,000 and 50,000 rows, then of 10,000 images. Each run is a fresh process (peak RSS is per
# process); rows are made as they are read, so what grows with them is the pipeline's. Appends to benchmarks/memory.md.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build src/Pdnn.Cli -c Release -v q >/dev/null
pdnn() { dotnet src/Pdnn.Cli/bin/Release/net10.0/pdnn.dll "$@"; }
out=benchmarks/memory.md
defence=${1:-fs}
for rows in 5000 50000; do pdnn bench-memory --defence "$defence" --rows "$rows" --results "$out"; done
for rows in 5000 50000; do pdnn bench-memory --defence "$defence" --rows "$rows" --evaluate 1000 --results "$out"; done
pdnn bench-memory --defence "$defence" --rows 50000 --evaluate 10000 --results "$out"
