"""The PyTorch side of the BatchNorm port (examples/BatchNormCnn): the same network and recipe in PyTorch, on the same files.

    OPENBLAS_CORETYPE=SkylakeX python3 bench/baselines/torch_bn_port.py [--epochs 2] [--seed 0] [--data data/fashion-mnist-subset]

Network: conv(1→16, 3, pad 1) - BatchNorm2d - ReLU - AvgPool2d(2) - conv(16→32, 3, pad 1) - BatchNorm2d - ReLU - AvgPool2d(2)
- Linear(32·7·7 → 10), PyTorch's default initialisation. Recipe: SGD lr 0.05 momentum 0.9, batch 64 (shuffled every epoch,
last batch kept), cross-entropy, 2 epochs, inputs normalised with mean 0.5 and std 0.5, no augmentation; evaluation in eval
mode (BatchNorm's running statistics) on the 2,000 test images. Reads the embedded subset's IDX files (gzip) by default.
Needs only torch and numpy. Prints the test accuracy and one JSON line."""
import argparse, gzip, json, os, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

here = os.path.dirname(os.path.abspath(__file__))
p = argparse.ArgumentParser()
p.add_argument("--data", default=os.path.join(here, "..", "..", "data", "fashion-mnist-subset"))
p.add_argument("--epochs", type=int, default=2)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
a = p.parse_args()
torch.manual_seed(a.seed)
torch.set_num_threads(a.threads)


def idx(name):
    with gzip.open(os.path.join(a.data, name), "rb") as f:
        buf = f.read()
    if "labels" in name:
        return torch.tensor(np.frombuffer(buf, np.uint8, offset=8).astype(np.int64))
    n = int.from_bytes(buf[4:8], "big")
    return torch.tensor(np.frombuffer(buf, np.uint8, offset=16).reshape(n, 1, 28, 28).astype(np.float32) / 255)


xtr, ytr = idx("train-images-idx3-ubyte.gz"), idx("train-labels-idx1-ubyte.gz")
xte, yte = idx("t10k-images-idx3-ubyte.gz"), idx("t10k-labels-idx1-ubyte.gz")
xtr, xte = (xtr - 0.5) / 0.5, (xte - 0.5) / 0.5

model = nn.Sequential(
    nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.AvgPool2d(2),
    nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.AvgPool2d(2),
    nn.Flatten(), nn.Linear(32 * 7 * 7, 10))
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
steps, start = 0, time.time()
for epoch in range(a.epochs):
    model.train()
    for b in torch.randperm(len(xtr)).split(64):
        opt.zero_grad()
        loss = F.cross_entropy(model(xtr[b]), ytr[b])
        loss.backward()
        opt.step()
        steps += 1
        if steps % 50 == 0:
            print(f"epoch {epoch + 1} step {steps}: loss {loss.item():.4f}", flush=True)
train_s = time.time() - start
model.eval()
with torch.no_grad():
    correct = sum(int((model(xte[i:i + 256]).argmax(1) == yte[i:i + 256]).sum()) for i in range(0, len(xte), 256))
print(f"test accuracy {100.0 * correct / len(xte):.2f}% ({correct}/{len(xte)}) after {steps} steps, training {train_s:.1f} s")
print(json.dumps({"framework": f"torch {torch.__version__}", "seed": a.seed, "epochs": a.epochs, "steps": steps,
                  "test_accuracy": correct / len(xte), "train_seconds": round(train_s, 1), "threads": a.threads}))
