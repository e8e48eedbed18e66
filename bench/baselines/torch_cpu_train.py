"""PyTorch CPU anchor: img/s of a training step (forward + backward + SGD) at the lecture's recipe, and of inference.
Run with OPENBLAS_CORETYPE=SkylakeX (Debian's torch uses OpenBLAS; without it OpenBLAS picks an old kernel).

  torch_cpu_train.py            one JSON object: both models at BATCH (env BATCH, THREADS, ALEX_STEPS, SEED_STEPS), best of 3 rounds
  torch_cpu_train.py --serve    the baseline process of `scratchnet bench`: one JSON line about itself, then for each request line
                                {"op": "train"|"infer", "model": "alexnet"|"seedcnn", "batch": B, "steps": S} ONE timed round,
                                {"value": img/s} (or {"error": ...}), so that the bench alternates its rounds with ours."""
import json, os, sys, time
import torch
import torch.nn as nn
sys.path.insert(0, os.path.dirname(__file__))
from torch_models import AlexNet, seed_cnn

torch.set_num_threads(int(os.environ.get("THREADS", os.cpu_count() or 1)))
MODELS = {"alexnet": (lambda: AlexNet(10), (3, 32, 32)), "seedcnn": (lambda: seed_cnn(10), (1, 28, 28))}


class Setup:
    """A model with the lecture's SGD and one random batch, warmed up (two training steps, one forward)."""

    def __init__(self, name, batch):
        torch.manual_seed(0)
        make, shape = MODELS[name]
        self.model = make()
        self.opt = torch.optim.SGD(self.model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
        self.loss_fn = nn.CrossEntropyLoss()
        self.x = torch.randn(batch, *shape)
        self.y = torch.randint(0, 10, (batch,))
        self.batch = batch
        for _ in range(2):
            self.step()
        self.infer()

    def step(self):
        self.model.train()
        self.opt.zero_grad()
        self.loss_fn(self.model(self.x), self.y).backward()
        self.opt.step()

    def infer(self):
        self.model.eval()
        with torch.no_grad():
            self.model(self.x)

    def round(self, op, steps):
        f = self.step if op == "train" else self.infer
        t = time.perf_counter()
        for _ in range(steps):
            f()
        return steps * self.batch / (time.perf_counter() - t)


def serve():
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    key, setup = None, None
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            r = json.loads(line)
            if r["op"] not in ("train", "infer") or r["model"] not in MODELS:
                raise ValueError(f"unknown op or model: {r['op']} {r['model']}")
            if key != (r["model"], r["batch"]):
                key, setup = None, None      # one setup alive at a time
                setup, key = Setup(r["model"], int(r["batch"])), (r["model"], r["batch"])
            out = {"value": round(setup.round(r["op"], int(r["steps"])), 2)}
        except Exception as e:  # the bench notes it and goes on without this figure
            out = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(out), flush=True)


def once():
    batch = int(os.environ.get("BATCH", "64"))
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "batch": batch}
    for name, steps in [("alexnet", int(os.environ.get("ALEX_STEPS", "8"))), ("seedcnn", int(os.environ.get("SEED_STEPS", "200")))]:
        s = Setup(name, batch)
        out[name + "_train_img_s"] = round(max(s.round("train", steps) for _ in range(3)), 1)
        out[name + "_infer_img_s"] = round(s.round("infer", steps), 1)
    print(json.dumps(out))


if __name__ == "__main__":
    serve() if "--serve" in sys.argv[1:] else once()
