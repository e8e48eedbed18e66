"""PyTorch CUDA anchor for `scratchnet bench --device cuda`: SGEMM through torch.mm and AlexNet-CIFAR training
img/s and peak memory, each FP32 with TF32 off (the fair comparison: ILGPU has no tensor cores) and again with
TF32 on as a second line.

  torch_gpu.py            one JSON object with every figure (fp32 and tf32)
  torch_gpu.py --serve    the baseline process of `scratchnet bench`: one JSON line about itself, then for each request line
                          {"op": "sgemm", "n": N, "tf32": false} or {"op": "train"|"infer", "model": M, "batch": B, "steps": S,
                          "tf32": false} ONE timed round: {"value": GFLOP/s or img/s, "peak_mib": ...} (or {"error": ...}),
                          so that the bench alternates its rounds with ours.
  --device cpu            runs the same code on the CPU (a smoke test of the protocol on a machine without a GPU)."""
import json, os, sys, time
import torch
import torch.nn as nn
sys.path.insert(0, os.path.dirname(__file__))
from torch_models import AlexNet, seed_cnn

dev = torch.device(sys.argv[sys.argv.index("--device") + 1] if "--device" in sys.argv[1:] else "cuda")
cuda = dev.type == "cuda"
assert not cuda or torch.cuda.is_available(), "no CUDA device"


def sync():
    if cuda:
        torch.cuda.synchronize()


def timed(fn, iters, warmup=3):
    """Seconds per call of fn: CUDA events around iters calls after a warm-up."""
    for _ in range(warmup): fn()
    sync()
    if not cuda:
        t = time.perf_counter()
        for _ in range(iters): fn()
        return (time.perf_counter() - t) / iters
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(iters): fn()
    end.record(); torch.cuda.synchronize()
    return start.elapsed_time(end) / 1000 / iters


def set_tf32(tf32):
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32


def make_model(name):
    if name == "alexnet": return AlexNet(10), (3, 32, 32), 10
    if name == "seedcnn": return seed_cnn(10), (1, 28, 28), 10
    if name == "alexnet224":
        import torchvision
        return torchvision.models.alexnet(num_classes=1000), (3, 224, 224), 1000
    raise ValueError(f"unknown model {name}")


class Setup:
    """A model on the device with the lecture's SGD and one random batch."""

    def __init__(self, name, batch):
        torch.manual_seed(0)
        model, shape, classes = make_model(name)
        self.model = model.to(dev)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4 if name != "alexnet224" else 0)
        self.loss_fn = nn.CrossEntropyLoss()
        self.x = torch.randn(batch, *shape, device=dev)
        self.y = torch.randint(0, classes, (batch,), device=dev)
        self.batch = batch

    def step(self):
        self.opt.zero_grad(set_to_none=False); self.loss_fn(self.model(self.x), self.y).backward(); self.opt.step()

    def infer(self):
        with torch.no_grad():
            self.model(self.x)

    def train_round(self, steps, warmup):
        self.model.train()
        if cuda: torch.cuda.reset_peak_memory_stats()
        s = timed(self.step, steps, warmup)
        peak = torch.cuda.max_memory_allocated() / 2 ** 20 if cuda else 0.0
        return self.batch / s, peak

    def infer_round(self, steps, warmup):
        self.model.eval()
        return self.batch / timed(self.infer, steps, warmup)


def sgemm(n, iters, warmup=3):
    a = torch.randn(n, n, device=dev); b = torch.randn(n, n, device=dev)
    return 2 * n ** 3 / timed(lambda: torch.mm(a, b), iters, warmup) / 1e9


def serve():
    name = torch.cuda.get_device_name(0) if cuda else "cpu"
    print(json.dumps({"torch": torch.__version__, "device": name}), flush=True)
    key, setup, warm = None, None, set()
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            r = json.loads(line)
            set_tf32(bool(r.get("tf32", False)))
            op = r["op"]
            # The first round of each (op, size) warms up (cuBLAS/cuDNN choose their kernels then); later rounds time at once.
            first = (op, r.get("model"), r.get("batch"), r.get("n"), r.get("tf32")) not in warm
            warm.add((op, r.get("model"), r.get("batch"), r.get("n"), r.get("tf32")))
            if op == "sgemm":
                n = int(r["n"])
                out = {"value": round(sgemm(n, 20 if n >= 2048 else 100, 3 if first else 1), 1)}
            elif op in ("train", "infer"):
                if key != (r["model"], r["batch"]):
                    key, setup = None, None        # one model alive at a time: the peak memory is this model's
                    if cuda: torch.cuda.empty_cache()
                    setup, key = Setup(r["model"], int(r["batch"])), (r["model"], r["batch"])
                steps, w = int(r.get("steps", 50)), 3 if first else 0
                if op == "train":
                    img_s, peak = setup.train_round(steps, w)
                    out = {"value": round(img_s, 1), "peak_mib": round(peak, 1)}
                else:
                    out = {"value": round(setup.infer_round(steps, w), 1)}
            else:
                raise ValueError(f"unknown op {op}")
        except Exception as e:  # the bench notes it and goes on without this figure
            out = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(out), flush=True)


def once():
    out = {"torch": torch.__version__, "device": torch.cuda.get_device_name(0) if cuda else "cpu"}
    for tf32 in (False, True):
        set_tf32(tf32)
        tag = "tf32" if tf32 else "fp32"
        for n in (256, 512, 1024, 2048, 4096):
            out[f"sgemm_{n}_{tag}_gflops"] = round(sgemm(n, 20 if n >= 2048 else 100), 1)
        for name in ("alexnet", "seedcnn"):
            for batch in (64, 256):
                s = Setup(name, batch)
                img_s, peak = s.train_round(50, 3)
                out[f"{name}_train_b{batch}_{tag}_img_s"] = round(img_s, 1)
                out[f"{name}_train_b{batch}_{tag}_peak_mib"] = round(peak, 1)
                out[f"{name}_infer_b{batch}_{tag}_img_s"] = round(s.infer_round(50, 3), 1)
                del s
        try:
            out[f"alexnet224_train_b64_{tag}_img_s"] = round(Setup("alexnet224", 64).train_round(20, 3)[0], 1)
        except ImportError:
            pass
    print(json.dumps(out))


if __name__ == "__main__":
    serve() if "--serve" in sys.argv[1:] else once()
