#!/usr/bin/env bash
# Every GPU measurement of issue 6 in one call, on a GPU server, from the unpacked publish tarball
# (scripts/publish.sh copies this script next to the binary):
#   tar xzf scratchnet-linux-x64.tar.gz -C /tmp && /tmp/scratchnet/gpu-bench.sh OUTDIR
# Writes OUTDIR/{devices,check,profile-alexnet-b64,profile-alexnet-b256,bench-gemm,bench-conv2d}.txt, OUTDIR/bench/{bench.json,
# bench.png} and OUTDIR/bench-{gemm,conv2d}/: every version of every kernel checked against the CPU reference, the bench on cpu
# and cuda with PyTorch (CUDA, TF32 off and on) and OpenBLAS in alternating rounds, every GEMM version and conv algorithm
# checked and timed side by side, and a training step of AlexNet-CIFAR op by op with the conv algorithms Auto chose. Put bench.json into bench/results/<gpu>/ and regenerate the README's section with
# `scratchnet bench-report bench/results/<gpu>/bench.json --title "GPU: …" --level 3`.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/gpu-results}"
mkdir -p "$out"
export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
cd "$here"
./scratchnet devices 2>&1 | tee "$out/devices.txt"
./scratchnet check --device cuda > "$out/check.txt" 2>&1; tail -n 30 "$out/check.txt"
./scratchnet bench --op gemm --device cuda --out "$out/bench-gemm" 2>&1 | tee "$out/bench-gemm.txt" | tail -n 20
./scratchnet bench --op conv2d --device cuda --out "$out/bench-conv2d" 2>&1 | tee "$out/bench-conv2d.txt" | tail -n 30
./scratchnet profile alexnet --device cuda --batch-size 256 --steps 10 2>&1 | tee "$out/profile-alexnet-b256.txt"
./scratchnet profile alexnet --device cuda --batch-size 64 --steps 10 2>&1 | tee "$out/profile-alexnet-b64.txt"
./scratchnet bench --device cpu --device cuda --readme --out "$out/bench" 2>&1 | tail -n 80 | tee "$out/bench.txt"
