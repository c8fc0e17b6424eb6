"""AlexNet as the study used it: one-channel input, 10 classes, for ONE seed.

The body (PROTOCOL.md section 2; Krizhevsky et al., 2012, as written in the
authors' PyTorch scripts): five convolutions with ReLU, max-pools after the
first, second and fifth, then three dense layers with ReLU and dropout before
the second and third. Images arrive as `[batch, S, S, 1]` pixels in [0, 1]
and are not normalised (the authors' AlexNet script).

The module is written for one instance; `manyseeds.training` lifts it over a
leading `[seed, ...]` axis with `jax.vmap`. RTNet (`manyseeds.models.rtnet`)
subclasses it and swaps the layers for Bayesian ones.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import linen as nn

from manyseeds.models.initializers import Initializer
from manyseeds.models.presets import AlexNetPreset


def padding(p: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """PyTorch's symmetric `padding=p` as Flax's explicit padding."""
    return ((p, p), (p, p))


class AlexNet(nn.Module):
    """AlexNet for one instance.

    Attributes:
      preset: the layer sizes.
      initializer: the initialiser of kernels and biases.
    """

    preset: AlexNetPreset
    initializer: Initializer = Initializer()

    def conv(self, features: int, kernel: int, stride: int, pad: int, fan_in: int,
             name: str) -> nn.Module:
        """A 2-D convolution layer with bias (overridden by RTNet)."""
        return nn.Conv(
            features, (kernel, kernel), strides=(stride, stride),
            padding=padding(pad), kernel_init=self.initializer.conv_kernel(),
            bias_init=self.initializer.bias(fan_in), name=name,
        )

    def dense(self, features: int, fan_in: int, name: str) -> nn.Module:
        """A dense layer with bias (overridden by RTNet)."""
        return nn.Dense(
            features, kernel_init=self.initializer.dense_kernel(),
            bias_init=self.initializer.bias(fan_in), name=name,
        )

    def normalise(self, x: jax.Array) -> jax.Array:
        """Input normalisation: none for AlexNet (the authors' script)."""
        return x

    def dropout_on(self, train: bool) -> bool:
        """Whether dropout is applied: in training only."""
        return train

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        """Logits `[batch, num_classes]` of images `[batch, S, S, 1]`."""
        p = self.preset
        x = self.normalise(x.astype(jnp.float32))
        layers = zip(
            p.conv_features, p.conv_kernels, p.conv_strides, p.conv_paddings, p.pools,
            strict=True,
        )
        for i, (features, kernel, stride, pad, pool) in enumerate(layers):
            fan_in = kernel * kernel * x.shape[-1]
            x = self.conv(features, kernel, stride, pad, fan_in, f"conv{i + 1}")(x)
            x = nn.relu(x)
            if pool is not None:
                x = nn.max_pool(x, (pool[0], pool[0]), strides=(pool[1], pool[1]))

        x = x.reshape(x.shape[0], -1)
        deterministic = not self.dropout_on(train)
        for i, features in enumerate(p.dense_features):
            if i > 0:
                x = nn.Dropout(p.dropout_rate, deterministic=deterministic)(x)
            x = nn.relu(self.dense(features, x.shape[-1], f"fc{i + 1}")(x))

        x = nn.Dropout(p.dropout_rate, deterministic=deterministic)(x)
        fc_last = f"fc{len(p.dense_features) + 1}"
        return self.dense(p.num_classes, x.shape[-1], fc_last)(x)
