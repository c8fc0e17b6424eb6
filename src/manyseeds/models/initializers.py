"""Weight initialisers: the framework's default and PyTorch's.

The study's networks were PyTorch models, whose convolutional and linear layers
start from PyTorch's default: weights and biases uniform on
`[-1/sqrt(fan_in), +1/sqrt(fan_in)]` (Kaiming-uniform with `a = sqrt(5)`, which
reduces to that bound). Flax's default is LeCun-normal weights and zero
biases. Both are offered, chosen by name:

- `"default"`: Flax's default (LeCun normal kernels, zero biases).
- `"torch"`: uniform +-1/sqrt(fan_in) for every convolution and dense kernel
  and bias, as PyTorch's default layer initialisation gives.
- `"torchvision"`: as `"torch"`, except that convolution kernels are
  He-normal with fan-out (`kaiming_normal_(mode="fan_out",
  nonlinearity="relu")`), which torchvision's ResNet constructor applies on top
  of PyTorch's default. torchvision's AlexNet has no such step, so for AlexNet
  and RTNet this equals `"torch"`.

Kernels are laid out Flax-style: `[kh, kw, in, out]` for convolutions and
`[in, out]` for dense layers, so `fan_in` is the product of all axes but the
last.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
from flax import linen as nn

from manyseeds.errors import UserError

INITS = ("default", "torch", "torchvision")

Init = Callable[..., jax.Array]


def torch_bound(fan_in: int) -> float:
    """PyTorch's default bound `1/sqrt(fan_in)` for weights and biases."""
    return 1.0 / math.sqrt(fan_in)


def torch_uniform(fan_in: int | None = None) -> Init:
    """Uniform on +-1/sqrt(fan_in), PyTorch's default layer initialisation.

    Args:
      fan_in: inputs per output unit. None: taken from the kernel's shape, as
        the product of every axis but the last (use None for kernels, an
        explicit value for biases, whose shape does not show it).

    Returns:
      An initialiser `(key, shape, dtype) -> array`.
    """

    def init(key: jax.Array, shape, dtype=jnp.float32) -> jax.Array:
        n = fan_in if fan_in is not None else math.prod(shape[:-1])
        bound = torch_bound(n)
        return jax.random.uniform(key, shape, dtype, -bound, bound)

    return init


@dataclasses.dataclass(frozen=True)
class Initializer:
    """The initialisers of one model's convolution and dense layers.

    Attributes:
      name: one of `INITS`.
    """

    name: str = "default"

    def __post_init__(self):
        if self.name not in INITS:
            raise UserError(
                f"unknown initialiser {self.name!r}; expected one of {INITS}"
            )

    def conv_kernel(self) -> Init:
        """Initialiser of a `[kh, kw, in, out]` convolution kernel."""
        if self.name == "torch":
            return torch_uniform()
        if self.name == "torchvision":
            # torchvision ResNet: kaiming_normal_(mode="fan_out", relu), an
            # untruncated normal with variance 2 / (out * kh * kw).
            return nn.initializers.variance_scaling(2.0, "fan_out", "normal")
        return nn.linear.default_kernel_init

    def dense_kernel(self) -> Init:
        """Initialiser of an `[in, out]` dense kernel."""
        if self.name in ("torch", "torchvision"):
            return torch_uniform()
        return nn.linear.default_kernel_init

    def bias(self, fan_in: int) -> Init:
        """Initialiser of the bias of a layer with `fan_in` inputs per unit."""
        if self.name in ("torch", "torchvision"):
            return torch_uniform(fan_in)
        return nn.initializers.zeros_init()
