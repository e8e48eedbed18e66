#!/usr/bin/env bash
# Builds a self-contained tarball of the `scratchnet` CLI (and the bench) for a Linux x64 GPU server with no
# .NET installed. Usage: scripts/publish.sh [outdir]   → <outdir>/scratchnet-linux-x64.tar.gz
#
# On the server:
#   tar xzf scratchnet-linux-x64.tar.gz && cd scratchnet
#   export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
#   ./scratchnet devices                 # is CUDA found? (if not, check `ldconfig -p | grep libcuda`)
#   ./scratchnet check --device cuda     # every kernel against the CPU reference
#   ./scratchnet bench --device cuda     # GFLOP/s, img/s, speedups; bench.json and bench.png
#   ./gpu-bench.sh OUTDIR                # all of the above plus op-by-op profiles of AlexNet-CIFAR (issue 6)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-.dist}"
rm -rf "$out/scratchnet"
mkdir -p "$out"
dotnet publish cli/ScratchNet.Cli.csproj -c Release -r linux-x64 --self-contained true \
    -p:InvariantGlobalization=true -o "$out/scratchnet"
[ -d data ] && cp -r data "$out/scratchnet/" || true
# `scratchnet bench --baselines` looks for bench/baselines/*.py (PyTorch anchors) next to the binary.
mkdir -p "$out/scratchnet/bench" && cp -r bench/baselines "$out/scratchnet/bench/"
cp scripts/gpu-bench.sh "$out/scratchnet/"
tar -C "$out" -czf "$out/scratchnet-linux-x64.tar.gz" scratchnet
ls -lh "$out/scratchnet-linux-x64.tar.gz"
