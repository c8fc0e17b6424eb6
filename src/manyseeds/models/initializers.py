"""Weight initialisers: the framework's default and PyTorch's, drawn in one go.

The study's networks were PyTorch models, whose convolution and linear layers
start from PyTorch's default: weights and biases uniform on
`[-1/sqrt(fan_in), +1/sqrt(fan_in)]` (Kaiming-uniform with `a = sqrt(5)`, which
reduces to that bound). Flax's default is LeCun-normal kernels (a normal
truncated at two standard deviations, variance 1/fan_in) and zero biases. The
options, chosen by name:

- `"default"`: Flax's default.
- `"torch"`: uniform +-1/sqrt(fan_in) for every convolution and dense kernel
  and bias, as PyTorch's default layer initialisation gives.
- `"torchvision"`: as `"torch"`, except that convolution kernels are
  He-normal with fan-out (variance 2 / (out * kh * kw)), which torchvision's
  ResNet constructor applies on top of PyTorch's default. torchvision's
  AlexNet has no such step, so for AlexNet and RTNet this equals `"torch"`.
  Batch norm starts at scale 1, bias 0 under every option.

Kernels are laid out Flax-style, `[kh, kw, in, out]` or `[in, out]`, so
`fan_in` is the product of every axis but the last.

Why one draw: every `jax.random` call in a jitted function is a separate
threefry block that XLA compiles on its own (about half a second each on a
CPU), so a network initialised layer by layer takes tens of seconds to
compile. `draw_variables` instead draws ONE uniform vector on (-1, 1) for all
random leaves and turns each slice into its distribution (uniform, normal or
truncated normal by the inverse CDF), which compiles in well under a second.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import erfinv

from manyseeds.errors import UserError

INITS = ("default", "torch", "torchvision")

Init = Callable[..., jax.Array]  # (key, shape, dtype) -> array, as in Flax
FromUniform = Callable[[jax.Array], jax.Array]  # u on (-1, 1) -> values, same shape

# Flax's truncated-normal variance scaling divides the scale by the standard
# deviation of a unit normal truncated to [-2, 2].
_TRUNCATED_STD = 0.87962566103423978
_ERF_2 = math.erf(2.0 / math.sqrt(2.0))


def open_uniform(key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """Uniform on the open interval (-1, 1): safe for the inverse normal CDF."""
    low = float(np.nextafter(np.float32(-1.0), np.float32(0.0)))
    return jax.random.uniform(key, shape, jnp.float32, low, 1.0)


def uniform_from(bound: float) -> FromUniform:
    """U(-bound, bound) from u ~ U(-1, 1)."""
    return lambda u: bound * u


def normal_from(mean: float = 0.0, std: float = 1.0) -> FromUniform:
    """N(mean, std^2) from u ~ U(-1, 1) by the inverse CDF: sqrt(2) erfinv(u)."""
    return lambda u: mean + std * math.sqrt(2.0) * erfinv(u)


def truncated_normal_from(std: float) -> FromUniform:
    """A normal truncated to +-2 sd, scaled to standard deviation `std` (Flax's
    `variance_scaling(..., "truncated_normal")`)."""
    scale = std / _TRUNCATED_STD
    return lambda u: scale * math.sqrt(2.0) * erfinv(_ERF_2 * u)


def keyed(from_uniform: Callable[[tuple[int, ...]], FromUniform]) -> Init:
    """A Flax-style `(key, shape, dtype)` initialiser with the same law."""

    def init(key, shape, dtype=jnp.float32):
        return from_uniform(tuple(shape))(open_uniform(key, tuple(shape))).astype(dtype)

    return init


def torch_bound(fan_in: int) -> float:
    """PyTorch's default bound `1/sqrt(fan_in)` for weights and biases."""
    return 1.0 / math.sqrt(fan_in)


def fan_in(shape: tuple[int, ...]) -> int:
    """Inputs per output unit of a `[..., in, out]` kernel."""
    return math.prod(shape[:-1])


@dataclasses.dataclass(frozen=True)
class Initializer:
    """The initial law of one model's convolution and dense layers.

    Attributes:
      name: one of `INITS`.
    """

    name: str = "default"

    def __post_init__(self):
        if self.name not in INITS:
            raise UserError(
                f"unknown initialiser {self.name!r}; expected one of {INITS}"
            )

    def kernel_law(self, shape: tuple[int, ...]) -> FromUniform:
        """Law of a `[kh, kw, in, out]` (conv) or `[in, out]` (dense) kernel."""
        n = fan_in(shape)
        if self.name == "torch" or (self.name == "torchvision" and len(shape) != 4):
            return uniform_from(torch_bound(n))
        if self.name == "torchvision":
            # kaiming_normal_(mode="fan_out", nonlinearity="relu"), untruncated.
            fan_out = shape[-1] * math.prod(shape[:-2])
            return normal_from(0.0, math.sqrt(2.0 / fan_out))
        return truncated_normal_from(math.sqrt(1.0 / n))

    def bias_law(self, kernel_shape: tuple[int, ...]) -> FromUniform | None:
        """Law of the bias of a layer with that kernel; None: zeros."""
        if self.name in ("torch", "torchvision"):
            return uniform_from(torch_bound(fan_in(kernel_shape)))
        return None

    def conv_kernel(self) -> Init:
        """Flax-style initialiser of a convolution kernel."""
        return keyed(self.kernel_law)

    def dense_kernel(self) -> Init:
        """Flax-style initialiser of a dense kernel."""
        return keyed(self.kernel_law)

    def bias(self, kernel_shape: tuple[int, ...]) -> Init:
        """Flax-style initialiser of the bias of a layer with that kernel."""
        law = self.bias_law(kernel_shape)
        if law is None:
            return jax.nn.initializers.zeros
        return keyed(lambda shape: law)

    def leaf_law(self, name: str, shape: tuple[int, ...], siblings: Mapping[str, Any]
                 ) -> FromUniform | float:
        """Initial law of one parameter or statistic, from its name.

        `kernel`: `kernel_law`; `bias` beside a kernel: `bias_law`; batch norm
        `scale` and running `var`: 1; batch norm `bias` and running `mean`: 0.

        Returns:
          A law (a function of u ~ U(-1, 1)) or a constant.
        """
        if name == "kernel":
            return self.kernel_law(shape)
        if name == "bias" and "kernel" in siblings:
            law = self.bias_law(tuple(siblings["kernel"].shape))
            return 0.0 if law is None else law
        if name in ("scale", "var"):
            return 1.0
        if name in ("bias", "mean"):
            return 0.0
        raise ValueError(f"no initial law for a parameter named {name!r}")


LeafLaw = Callable[[str, tuple[int, ...], Mapping[str, Any]], "FromUniform | float"]


def draw_variables(template: Any, key: jax.Array, leaf_law: LeafLaw) -> Any:
    """Initial values of a tree of shapes, from ONE uniform draw.

    Args:
      template: a nested dict whose leaves have `.shape` (e.g. the
        `jax.ShapeDtypeStruct`s of `jax.eval_shape(module.init, ...)`).
      key: the instance's initialisation key.
      leaf_law: `(name, shape, siblings) -> law or constant`, e.g.
        `Initializer.leaf_law`.

    Returns:
      The same tree with float32 arrays.
    """
    plans = []

    def plan(node):
        out = {}
        for name, value in node.items():
            if isinstance(value, Mapping):
                out[name] = plan(value)
            else:
                shape = tuple(value.shape)
                out[name] = (shape, leaf_law(name, shape, node))
                plans.append(out[name])
        return out

    planned = plan(template)
    total = sum(math.prod(s) for s, law in plans if callable(law))
    u = open_uniform(key, (total,)) if total else None
    offset = 0

    def fill(node):
        nonlocal offset
        out = {}
        for name, value in node.items():
            if isinstance(value, dict):
                out[name] = fill(value)
                continue
            shape, law = value
            if callable(law):
                size = math.prod(shape)
                out[name] = law(u[offset:offset + size].reshape(shape))
                offset += size
            else:
                out[name] = jnp.full(shape, law, jnp.float32)
        return out

    return fill(planned)
