"""ONNX checks the tests run with Debian's python3-onnx and python3-torch (tests/OnnxTests.cs).

  onnx_tools.py check FILE...      onnx.checker.check_model(full_check=True) on each file; prints one line per file
  onnx_tools.py torch-export DIR   exports the lecture's AlexNet, a small CNN with BatchNorm and one with every other layer
                                   kind with torch.onnx.export
                                   (opset 17, dynamic batch), and writes for each NAME: NAME.onnx, NAME.x{1,7}.f32 (inputs)
                                   and NAME.y{1,7}.f32 (PyTorch's logits), raw little-endian float32
"""
import os
import sys

import onnx


def check(files):
    for f in files:
        model = onnx.load(f)
        onnx.checker.check_model(model, full_check=True)
        print(f"ok {f} opset={model.opset_import[0].version} nodes={len(model.graph.node)}")


def bn_cnn():
    import torch.nn as nn
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(16), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(16 * 7 * 7, 32), nn.BatchNorm1d(32), nn.GELU(), nn.Dropout(0.3),
        nn.Linear(32, 10), nn.LogSoftmax(1))


def layers_cnn():
    """Every layer kind import reads, in the forms torch.onnx writes them."""
    import torch.nn as nn
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.LeakyReLU(0.2), nn.MaxPool2d(3, 1, 1, ceil_mode=True),
        nn.AvgPool2d(3, 1, 1), nn.Tanh(), nn.AvgPool2d(2, 2, 1, count_include_pad=False), nn.Sigmoid(),
        nn.Conv2d(8, 16, 3), nn.GELU(approximate="tanh"), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(16, 12, bias=False), nn.ReLU(), nn.Linear(12, 10), nn.Softmax(1))


def torch_export(out):
    import torch
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from torch_models import AlexNet
    torch.manual_seed(3)
    models = {"torch_alexnet": (AlexNet(10), [3, 32, 32]), "torch_bncnn": (bn_cnn(), [1, 28, 28]), "torch_layers": (layers_cnn(), [3, 20, 20])}
    for name, (model, shape) in models.items():
        for m in model.modules():   # running statistics that are not the identity
            if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.data.uniform_(0.5, 1.5)
                m.bias.data.uniform_(-0.2, 0.2)
        model.eval()
        path = os.path.join(out, name + ".onnx")
        torch.onnx.export(model, torch.zeros(1, *shape), path, opset_version=17, input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
        for b in (1, 7):
            x = torch.rand(b, *shape) * 2 - 1
            with torch.no_grad():
                y = model(x)
            x.numpy().astype("<f4").tofile(os.path.join(out, f"{name}.x{b}.f32"))
            y.numpy().astype("<f4").tofile(os.path.join(out, f"{name}.y{b}.f32"))
        print(f"exported {path}")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "check":
        check(sys.argv[2:])
    elif len(sys.argv) == 3 and sys.argv[1] == "torch-export":
        torch_export(sys.argv[2])
    else:
        sys.exit(__doc__)
