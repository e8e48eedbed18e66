"""PyTorch CUDA anchor for `scratchnet bench --device cuda`: SGEMM through torch.mm and AlexNet-CIFAR training
img/s and peak memory, each FP32 with TF32 off (the fair comparison: ILGPU has no tensor cores) and again with
TF32 on as a second line. Prints one JSON object."""
import json, os, sys, time
import torch
import torch.nn as nn
sys.path.insert(0, os.path.dirname(__file__))
from torch_models import AlexNet, seed_cnn

assert torch.cuda.is_available(), "no CUDA device"
dev = torch.device("cuda")
out = {"torch": torch.__version__, "device": torch.cuda.get_device_name(0)}


def timed(fn, iters):
    for _ in range(3): fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(iters): fn()
    end.record(); torch.cuda.synchronize()
    return start.elapsed_time(end) / 1000 / iters


for tf32 in (False, True):
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    tag = "tf32" if tf32 else "fp32"
    for n in (256, 512, 1024, 2048, 4096):
        a = torch.randn(n, n, device=dev); b = torch.randn(n, n, device=dev)
        s = timed(lambda: torch.mm(a, b), 20 if n >= 2048 else 100)
        out[f"sgemm_{n}_{tag}_gflops"] = round(2 * n ** 3 / s / 1e9, 1)
    for name, mk, shape in (("alexnet", lambda: AlexNet(10), (3, 32, 32)), ("seedcnn", lambda: seed_cnn(10), (1, 28, 28))):
        for batch in (64, 256):
            torch.manual_seed(0)
            model = mk().to(dev)
            opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
            loss_fn = nn.CrossEntropyLoss()
            x = torch.randn(batch, *shape, device=dev); y = torch.randint(0, 10, (batch,), device=dev)
            def step():
                opt.zero_grad(set_to_none=False); loss_fn(model(x), y).backward(); opt.step()
            torch.cuda.reset_peak_memory_stats()
            s = timed(step, 50)
            out[f"{name}_train_b{batch}_{tag}_img_s"] = round(batch / s, 1)
            out[f"{name}_train_b{batch}_{tag}_peak_mib"] = round(torch.cuda.max_memory_allocated() / 2 ** 20, 1)
            model.eval()
            with torch.no_grad():
                s = timed(lambda: model(x), 50)
            out[f"{name}_infer_b{batch}_{tag}_img_s"] = round(batch / s, 1)
            del model, opt
    try:
        import torchvision
        m = torchvision.models.alexnet(num_classes=1000).to(dev)
        opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
        x = torch.randn(64, 3, 224, 224, device=dev); y = torch.randint(0, 1000, (64,), device=dev)
        def step224():
            opt.zero_grad(set_to_none=False); nn.functional.cross_entropy(m(x), y).backward(); opt.step()
        out[f"alexnet224_train_b64_{tag}_img_s"] = round(64 / timed(step224, 20), 1)
    except ImportError:
        pass
print(json.dumps(out))
