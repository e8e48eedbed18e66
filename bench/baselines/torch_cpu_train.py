"""PyTorch CPU anchor: img/s of one training step (forward + backward + SGD) at the lecture's recipe.
Run with OPENBLAS_CORETYPE=SkylakeX (Debian's torch uses OpenBLAS; without it OpenBLAS picks an old kernel).
Prints one JSON object."""
import json, os, sys, time
import torch
import torch.nn as nn
sys.path.insert(0, os.path.dirname(__file__))
from torch_models import AlexNet, seed_cnn

torch.set_num_threads(int(os.environ.get("THREADS", os.cpu_count() or 1)))
torch.manual_seed(0)
batch = int(os.environ.get("BATCH", "64"))
out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "batch": batch}
for name, model, shape, steps in [("alexnet", AlexNet(10), (3, 32, 32), int(os.environ.get("ALEX_STEPS", "8"))),
                                  ("seedcnn", seed_cnn(10), (1, 28, 28), int(os.environ.get("SEED_STEPS", "200")))]:
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.randn(batch, *shape); y = torch.randint(0, 10, (batch,))
    def step():
        opt.zero_grad(); loss = loss_fn(model(x), y); loss.backward(); opt.step()
    for _ in range(2): step()
    best = 0.0
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(steps): step()
        best = max(best, steps * batch / (time.perf_counter() - t))
    out[name + "_train_img_s"] = round(best, 1)
    model.eval()
    with torch.no_grad():
        t = time.perf_counter()
        for _ in range(steps): model(x)
        out[name + "_infer_img_s"] = round(steps * batch / (time.perf_counter() - t), 1)
print(json.dumps(out))
