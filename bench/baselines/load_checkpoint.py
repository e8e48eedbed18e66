"""Loads a ScratchNet checkpoint (model.safetensors) into the lecture's PyTorch AlexNet and checks that both
frameworks compute the same logits.

    python3 bench/baselines/load_checkpoint.py runs/alexnet-fashion-mnist/model.safetensors [check.safetensors]

The checkpoint is read with `safetensors.torch.load_file` when the safetensors package is installed; otherwise
with the few lines of `read_safetensors` below (the format is an 8-byte little-endian header length, a JSON header
with dtype/shape/data_offsets per tensor, then the raw little-endian data), so the check also runs with Debian's
python3-torch alone. `model.load_state_dict(..., strict=True)` proves every name and shape matches PyTorch's
AlexNet. When check.safetensors (tensors "input" [N,3,32,32] and "logits" [N,classes], written by ScratchNet) is
given, the PyTorch model's eval-mode logits on that input must match ScratchNet's. Prints one JSON line; exit 1
on mismatch."""
import json, os, struct, sys
import torch
sys.path.insert(0, os.path.dirname(__file__))
from torch_models import AlexNet

DTYPES = {"F32": torch.float32, "I32": torch.int32, "I64": torch.int64, "F64": torch.float64}


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        t = torch.frombuffer(bytearray(data[start:end]), dtype=DTYPES[info["dtype"]]) if end > start else torch.empty(0, dtype=DTYPES[info["dtype"]])
        out[name] = t.reshape(info["shape"]).clone()
    return out


def load(path):
    try:
        from safetensors.torch import load_file
        return load_file(path), "safetensors.torch.load_file"
    except ImportError:
        return read_safetensors(path), "built-in reader (safetensors package not installed)"


def main():
    state, reader = load(sys.argv[1])
    classes = state["classifier.6.weight"].shape[0]
    model = AlexNet(classes)
    model.load_state_dict(state, strict=True)
    model.eval()
    result = {"loaded": True, "reader": reader, "tensors": len(state), "classes": classes,
              "parameters": sum(p.numel() for p in model.parameters())}
    ok = True
    if len(sys.argv) > 2:
        check, _ = load(sys.argv[2])
        with torch.no_grad():
            logits = model(check["input"])
        diff = (logits - check["logits"]).abs().max().item()
        scale = check["logits"].abs().max().item()
        result.update({"max_abs_diff": diff, "logit_scale": scale,
                       "same_argmax": bool((logits.argmax(1) == check["logits"].argmax(1)).all())})
        ok = diff <= 1e-4 + 1e-4 * scale and result["same_argmax"]
    result["ok"] = ok
    print(json.dumps(result))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
