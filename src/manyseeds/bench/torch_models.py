"""PyTorch versions of the preset networks, for the training benchmark only.

They are built from the same preset dataclasses as the JAX models
(`manyseeds.models.presets`), so both sides do the same arithmetic: the same
convolutions, pools, dense layers, input resizing, and for RTNet one
reparameterised weight sample per step plus the closed-form Gaussian KL.
Importing this module requires torch (the `bench` extra).
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F  # noqa: N812 - the usual torch alias
from torch import nn

from manyseeds.models.presets import (
    MODEL_PRESETS,
    AlexNetPreset,
    ResNetPreset,
    RTNetPreset,
)


class _BayesParam(nn.Module):
    """A mean-field Gaussian tensor: mean `mu`, scale softplus(`rho`)."""

    def __init__(self, shape):
        super().__init__()
        self.mu = nn.Parameter(torch.randn(shape) * 0.05)
        self.rho = nn.Parameter(torch.full(shape, -5.0))

    def sample(self):
        sigma = F.softplus(self.rho)
        return self.mu + sigma * torch.randn_like(sigma), sigma

    def kl(self, sigma, prior_mu=1.0, prior_sigma=1.0):
        return (
            torch.log(prior_sigma / sigma)
            + (sigma**2 + (self.mu - prior_mu) ** 2) / (2 * prior_sigma**2)
            - 0.5
        ).sum()


class _Layer(nn.Module):
    """A conv or dense layer, deterministic or Bayesian."""

    def __init__(self, kind, n_in, n_out, kernel=1, stride=1, padding=0,
                 bayesian=False):
        super().__init__()
        self.kind, self.stride, self.padding = kind, stride, padding
        shape = (n_out, n_in, kernel, kernel) if kind == "conv" else (n_out, n_in)
        self.bayesian = bayesian
        if bayesian:
            self.w, self.b = _BayesParam(shape), _BayesParam((n_out,))
        else:
            self.layer = (
                nn.Conv2d(n_in, n_out, kernel, stride, padding) if kind == "conv"
                else nn.Linear(n_in, n_out)
            )
        self.kl = torch.zeros(())

    def forward(self, x):
        if not self.bayesian:
            return self.layer(x)
        (w, sw), (b, sb) = self.w.sample(), self.b.sample()
        self.kl = self.w.kl(sw) + self.b.kl(sb)
        if self.kind == "conv":
            return F.conv2d(x, w, b, self.stride, self.padding)
        return F.linear(x, w, b)


class AlexNet(nn.Module):
    def __init__(self, p: AlexNetPreset, bayesian: bool = False):
        super().__init__()
        self.p = p
        chans = (1, *p.conv_features)
        self.convs = nn.ModuleList(
            _Layer("conv", chans[i], chans[i + 1], p.conv_kernels[i],
                   p.conv_strides[i], p.conv_paddings[i], bayesian)
            for i in range(len(p.conv_features))
        )
        with torch.no_grad():
            flat = self._features(torch.zeros(1, 1, p.input_size, p.input_size))
        dims = (flat.shape[1], *p.dense_features, p.num_classes)
        self.dense = nn.ModuleList(
            _Layer("dense", dims[i], dims[i + 1], bayesian=bayesian)
            for i in range(3)
        )

    def _features(self, x):
        for conv, pool in zip(self.convs, self.p.pools, strict=True):
            x = F.relu(conv(x))
            if pool:
                x = F.max_pool2d(x, pool[0], pool[1])
        return torch.flatten(x, 1)

    def forward(self, x):
        x = F.relu(self.dense[0](self._features(x)))
        x = F.relu(self.dense[1](F.dropout(x, self.p.dropout_rate, self.training)))
        return self.dense[2](F.dropout(x, self.p.dropout_rate, self.training))

    def kl(self):
        return sum(layer.kl for layer in [*self.convs, *self.dense])


class _Block(nn.Module):
    def __init__(self, n_in, n_out, stride):
        super().__init__()
        self.c1 = nn.Conv2d(n_in, n_out, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(n_out)
        self.c2 = nn.Conv2d(n_out, n_out, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(n_out)
        self.down = None
        if stride != 1 or n_in != n_out:
            self.down = nn.Sequential(
                nn.Conv2d(n_in, n_out, 1, stride, bias=False), nn.BatchNorm2d(n_out)
            )

    def forward(self, x):
        y = self.b2(self.c2(F.relu(self.b1(self.c1(x)))))
        return F.relu(y + (self.down(x) if self.down is not None else x))


class ResNet(nn.Module):
    def __init__(self, p: ResNetPreset):
        super().__init__()
        self.stem = nn.Conv2d(1, p.stem_features, p.stem_kernel, p.stem_stride,
                              p.stem_padding, bias=False)
        self.bn = nn.BatchNorm2d(p.stem_features)
        self.pool = p.stem_pool
        blocks, n_in = [], p.stem_features
        for i, (feat, count) in enumerate(
            zip(p.stage_features, p.blocks_per_stage, strict=True)
        ):
            for j in range(count):
                blocks.append(_Block(n_in, feat, 2 if (i > 0 and j == 0) else 1))
                n_in = feat
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(n_in, p.num_classes)

    def forward(self, x):
        x = F.relu(self.bn(self.stem(x)))
        if self.pool:
            x = F.max_pool2d(x, 3, 2, 1)
        x = self.blocks(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))

    def kl(self):
        return torch.zeros(())


def build(arch: str, preset: str) -> tuple[nn.Module, int, tuple | None]:
    """(model, input size, normalisation) for a preset."""
    p = MODEL_PRESETS[arch][preset]
    if isinstance(p, RTNetPreset):
        return AlexNet(p.body, bayesian=True), p.input_size, (p.input_mean,
                                                               p.input_std)
    if isinstance(p, ResNetPreset):
        return ResNet(p), p.input_size, None
    return AlexNet(p), p.input_size, None


def images_per_second(arch: str, preset: str, batch: int, steps: int) -> float:
    """Training images/s of one seed with Adam (after one warm-up step)."""
    torch.manual_seed(0)
    model, size, norm = build(arch, preset)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    images = torch.randint(0, 256, (batch, 1, 28, 28), dtype=torch.uint8)
    labels = torch.randint(0, 10, (batch,))
    model.train()

    def step():
        x = images.float() / 255.0
        if size != 28:
            x = F.interpolate(x, size=(size, size), mode="bilinear",
                              align_corners=False)
        if norm:
            x = (x - norm[0]) / norm[1]
        loss = F.cross_entropy(model(x), labels) + model.kl() / batch
        opt.zero_grad()
        loss.backward()
        opt.step()

    step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return batch * steps / (time.perf_counter() - t0)
