"""The three networks and their training step in plain PyTorch (NCHW, optional torch.compile)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from suite.frameworks.shared import ADAM, cosine_rate, total_steps


class Net(nn.Module):
    def __init__(self, name: str):
        super().__init__()
        self.name = name
        sizes = {
            "softmax": {"logits": (784, 10)},
            "mlp": {"hidden1": (784, 100), "hidden2": (100, 100), "logits": (100, 10)},
            "cnn": {"hidden": (1600, 128), "logits": (128, 10)},
        }[name]
        layers = {k: nn.Linear(*v) for k, v in sizes.items()}
        if name == "cnn":
            layers = {"conv1": nn.Conv2d(1, 32, 3), "conv2": nn.Conv2d(32, 64, 3), **layers}
            self.drop1, self.drop2 = nn.Dropout(0.25), nn.Dropout(0.5)
        self.layers = nn.ModuleDict(layers)

    def forward(self, x):  # x: NCHW
        layer = self.layers
        if self.name == "softmax":
            return layer["logits"](x.flatten(1))
        if self.name == "mlp":
            h = torch.relu(layer["hidden1"](x.flatten(1)))
            return layer["logits"](torch.relu(layer["hidden2"](h)))
        h = self.drop1(torch.max_pool2d(torch.relu(layer["conv1"](x)), 2))
        h = self.drop2(torch.max_pool2d(torch.relu(layer["conv2"](h)), 2))
        h = h.permute(0, 2, 3, 1).flatten(1)  # flatten in Keras' (H, W, C) order
        return layer["logits"](torch.relu(layer["hidden"](h)))


def load_keras_weights(net: Net, weights: dict) -> None:
    """Keras kernels are (in, out) and (kh, kw, cin, cout); torch wants (out, in) and
    (cout, cin, kh, kw)."""
    with torch.no_grad():
        for name, layer in net.layers.items():
            kernel = weights[f"{name}/kernel"]
            kernel = kernel.transpose(3, 2, 0, 1) if kernel.ndim == 4 else kernel.T
            layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(kernel)))
            layer.bias.copy_(torch.from_numpy(weights[f"{name}/bias"]))


class TorchModel:
    def __init__(self, name: str, weights: dict, cfg):
        # --device gpu puts the network, its optimizer state and every batch on the GPU
        # (ran on an H200: tests/frameworks/test_native.py, docs/measured.md)
        self.device = torch.device("cuda" if cfg.device == "gpu" else "cpu")
        self.net = Net(name)
        load_keras_weights(self.net, weights)
        self.net.to(self.device)
        self.opt = torch.optim.Adam(
            self.net.parameters(),
            lr=cfg.learning_rate,
            betas=(ADAM["beta_1"], ADAM["beta_2"]),
            eps=ADAM["epsilon"],
        )
        self.cfg, self.step = cfg, 0
        self.total = total_steps(cfg)
        self.compiled = cfg.jit == "on"
        self._forward_backward = torch.compile(self._fb) if self.compiled else self._fb

    def _fb(self, x, y):
        loss = nn.functional.cross_entropy(self.net(x), y)
        loss.backward()
        return loss

    def to_batch(self, x: np.ndarray, y: np.ndarray):
        xb, yb = torch.from_numpy(_nchw(x)), torch.from_numpy(y.astype(np.int64))
        return xb.to(self.device), yb.to(self.device)  # on the CPU: no copy

    def train_step(self, batch):
        if self.cfg.schedule == "cosine":
            for group in self.opt.param_groups:
                group["lr"] = cosine_rate(self.cfg.learning_rate, self.step, self.total)
        self.net.train()
        self.opt.zero_grad(set_to_none=True)
        loss = self._forward_backward(*batch)
        self.opt.step()
        self.step += 1
        return loss.detach()  # float() of it waits for the step (CUDA: .item())

    def predict(self, x: np.ndarray) -> np.ndarray:
        self.net.eval()
        with torch.no_grad():
            return self.net(torch.from_numpy(_nchw(x)).to(self.device)).cpu().numpy()

    def drain(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)  # CPU ops are synchronous


def _nchw(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2)) if x.shape[-1] == 1 else x


def build(name: str, weights: dict, cfg) -> TorchModel:
    return TorchModel(name, weights, cfg)
