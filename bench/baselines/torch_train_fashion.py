"""PyTorch reference run of the lecture recipe on Fashion-MNIST, for comparing accuracy with `scratchnet train`.
AlexNet: 28x28 padded to 32x32, grey repeated to 3 channels; training set augmented with random horizontal flip,
rotation within ±15° and translation within ±10%; normalise 0.5/0.5; SGD lr 0.01 momentum 0.9 wd 5e-4; batch 64.

    OPENBLAS_CORETYPE=SkylakeX python3 torch_train_fashion.py --model alexnet --steps 700
    OPENBLAS_CORETYPE=SkylakeX python3 torch_train_fashion.py --model seedcnn --epochs 10 --no-augment
    python3 torch_train_fashion.py --model alexnet --epochs 10 --device cuda

Reads the IDX files of Debian's dataset-fashion-mnist (or --data DIR). Needs only torch (no torchvision): the
augmentation is written with affine_grid/grid_sample. Prints JSON lines (one per evaluation)."""
import argparse, gzip, json, math, os, sys, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
sys.path.insert(0, os.path.dirname(__file__))
from torch_models import AlexNet, seed_cnn

p = argparse.ArgumentParser()
p.add_argument("--model", default="alexnet")
p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
p.add_argument("--steps", type=int, default=0)
p.add_argument("--epochs", type=int, default=10)
p.add_argument("--eval-every", type=int, default=0)
p.add_argument("--no-augment", action="store_true")
p.add_argument("--seed", type=int, default=0)
p.add_argument("--lr-step", type=int, default=0, help="StepLR: multiply lr by --lr-gamma every N epochs (0: constant)")
p.add_argument("--lr-gamma", type=float, default=0.1)
p.add_argument("--device", default="cpu", help="cpu or cuda (FP32: TF32 is switched off for the comparison)")
a = p.parse_args()
dev = torch.device(a.device)
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
torch.manual_seed(a.seed)
torch.set_num_threads(os.cpu_count() or 1)


def idx(name):
    with gzip.open(os.path.join(a.data, name), "rb") as f:
        buf = f.read()
    if name.find("labels") >= 0:
        return torch.tensor(np.frombuffer(buf, np.uint8, offset=8).astype(np.int64))
    n = int.from_bytes(buf[4:8], "big")
    return torch.tensor(np.frombuffer(buf, np.uint8, offset=16).reshape(n, 1, 28, 28).astype(np.float32) / 255)


xtr, ytr = idx("train-images-idx3-ubyte.gz"), idx("train-labels-idx1-ubyte.gz")
xte, yte = idx("t10k-images-idx3-ubyte.gz"), idx("t10k-labels-idx1-ubyte.gz")
alex = a.model == "alexnet"
if alex:
    xtr, xte = F.pad(xtr, (2, 2, 2, 2)), F.pad(xte, (2, 2, 2, 2))
xtr, ytr, xte, yte = xtr.to(dev), ytr.to(dev), xte.to(dev), yte.to(dev)


def augment(x):
    n = x.shape[0]
    flip = torch.rand(n, device=x.device) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    ang = (torch.rand(n, device=x.device) * 30 - 15) * math.pi / 180
    tx = torch.round((torch.rand(n, device=x.device) * 0.2 - 0.1) * x.shape[3]) * 2 / x.shape[3]
    ty = torch.round((torch.rand(n, device=x.device) * 0.2 - 0.1) * x.shape[2]) * 2 / x.shape[2]
    theta = torch.stack([torch.stack([ang.cos(), -ang.sin(), -tx], 1), torch.stack([ang.sin(), ang.cos(), -ty], 1)], 1)
    grid = F.affine_grid(theta, x.shape, align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def prep(x, train):
    if train and not a.no_augment:
        x = augment(x)
    x = (x - 0.5) / 0.5
    return x.repeat(1, 3, 1, 1) if alex else x


model = (AlexNet(10) if alex else seed_cnn(10)).to(dev)
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
sched = torch.optim.lr_scheduler.StepLR(opt, a.lr_step, a.lr_gamma) if a.lr_step > 0 else None


def evaluate():
    model.eval(); correct = 0; loss = 0.0
    with torch.no_grad():
        for i in range(0, len(xte), 500):
            out = model(prep(xte[i:i + 500], False))
            loss += F.cross_entropy(out, yte[i:i + 500], reduction="sum").item()
            correct += (out.argmax(1) == yte[i:i + 500]).sum().item()
    model.train()
    return loss / len(xte), correct / len(xte)


step, start = 0, time.perf_counter()
total = a.steps or a.epochs * math.ceil(len(xtr) / 64)
done = False
for epoch in range(10 ** 6):
    perm = torch.randperm(len(xtr), device=dev)
    for i in range(0, len(xtr), 64):
        b = perm[i:i + 64]
        opt.zero_grad()
        loss = F.cross_entropy(model(prep(xtr[b], True)), ytr[b])
        loss.backward(); opt.step(); step += 1
        if (a.eval_every and step % a.eval_every == 0) or step == total:
            vl, va = evaluate()
            print(json.dumps({"model": a.model, "step": step, "epoch": epoch + 1, "val_loss": round(vl, 4), "val_acc": round(va, 4),
                              "seconds": round(time.perf_counter() - start, 1)}), flush=True)
        if step >= total:
            done = True; break
    if done:
        break
    if sched is not None:
        sched.step()
