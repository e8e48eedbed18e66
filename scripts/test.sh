#!/usr/bin/env bash
# The test command (README's second line, and what .ci/run calls): installs what the tests need on a fresh
# Debian machine, then runs the whole suite. Extra arguments go to `dotnet test` (e.g. --filter Name~Fuzz).
#   - Debian's python3-torch: the PyTorch compatibility test loads our checkpoints into the lecture's AlexNet.
#   - Debian's python3-onnx: onnx.checker checks every ONNX file we export (tests/OnnxTests.cs).
#   - Debian's openmpi-bin and libopenmpi-dev: the distributed tests run `mpirun -np 2` (tests/DistributedTests.cs).
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

missing=()
/usr/bin/python3 -c "import torch" 2>/dev/null || missing+=(python3-torch)
/usr/bin/python3 -c "import onnx" 2>/dev/null || missing+=(python3-onnx)
command -v mpirun >/dev/null && ldconfig -p | grep -q 'libmpi\.so\.40' || missing+=(openmpi-bin libopenmpi-dev)
if ((${#missing[@]})); then
    if [ "$(id -u)" = 0 ]; then sudo=(); elif command -v sudo >/dev/null; then sudo=(sudo); else
        echo "error: scripts/test.sh: the tests need the Debian packages ${missing[*]}; install them as root (apt-get install ${missing[*]})" >&2
        exit 1
    fi
    echo "scripts/test.sh: installing ${missing[*]} (Debian)"
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

dotnet --version
exec dotnet test ScratchNet.sln -c Release "$@"
