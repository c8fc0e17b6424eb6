"""AlexNet as the study used it: one-channel input, 10 classes, for ONE seed.

The body (PROTOCOL.md section 2; Krizhevsky et al., 2012, as written in the
authors' PyTorch scripts): five convolutions with ReLU, max-pools after the
first, second and fifth, then three dense layers with ReLU and dropout before
the second and third. Images arrive as `[batch, S, S, 1]` pixels in [0, 1]
and are not normalised (the authors' AlexNet script).

The module is written for one instance; `manyseeds.training` lifts it over a
leading `[seed, ...]` axis with `jax.vmap`. RTNet (`manyseeds.models.rtnet`)
runs this body on weights sampled from its posterior. Dropout takes an explicit
key rather than a Flax rng stream, so that all its masks come from one draw.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
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
      initializer: the initial law of kernels and biases (used by Flax's own
        `init`; `ModelSpec.init` draws the same law in one go).
    """

    preset: AlexNetPreset
    initializer: Initializer = Initializer()

    def normalise(self, x: jax.Array) -> jax.Array:
        """Input normalisation: none for AlexNet (the authors' script)."""
        return x

    def dropout_on(self, train: bool) -> bool:
        """Whether dropout is applied: in training only (RTNet overrides)."""
        return train

    def dropout_masks(self, key: jax.Array | None, batch: int) -> list[jax.Array]:
        """Inverted-dropout multipliers `[batch, width]` before fc2, fc3, ...

        Drawn with one `jax.random` call for all dropout layers (each call is a
        separately compiled threefry block).
        """
        p = self.preset
        widths = p.dense_features
        if key is None:
            raise ValueError("dropout is on: apply() needs a dropout key")
        keep = jax.random.uniform(key, (batch, sum(widths))) >= p.dropout_rate
        scaled = keep.astype(jnp.float32) / (1.0 - p.dropout_rate)
        bounds = np.cumsum(widths)[:-1].tolist()
        return jnp.split(scaled, bounds, axis=1)

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False,
                 dropout_key: jax.Array | None = None) -> jax.Array:
        """Logits `[batch, num_classes]` of images `[batch, S, S, 1]`.

        Args:
          x: `[batch, S, S, 1]` images.
          train: training mode (dropout on).
          dropout_key: key of the dropout masks; needed when dropout is on.
        """
        p = self.preset
        init = self.initializer
        x = self.normalise(x.astype(jnp.float32))
        layers = zip(
            p.conv_features, p.conv_kernels, p.conv_strides, p.conv_paddings, p.pools,
            strict=True,
        )
        for i, (features, kernel, stride, pad, pool) in enumerate(layers):
            shape = (kernel, kernel, x.shape[-1], features)
            x = nn.Conv(
                features, (kernel, kernel), strides=(stride, stride),
                padding=padding(pad), kernel_init=init.conv_kernel(),
                bias_init=init.bias(shape), name=f"conv{i + 1}",
            )(x)
            x = nn.relu(x)
            if pool is not None:
                x = nn.max_pool(x, (pool[0], pool[0]), strides=(pool[1], pool[1]))

        x = x.reshape(x.shape[0], -1)
        use_dropout = self.dropout_on(train) and p.dropout_rate > 0
        masks = self.dropout_masks(dropout_key, x.shape[0]) if use_dropout else None
        features = (*p.dense_features, p.num_classes)
        for i, width in enumerate(features):
            if i > 0 and masks is not None:
                x = x * masks[i - 1]
            x = nn.Dense(
                width, kernel_init=init.dense_kernel(),
                bias_init=init.bias((x.shape[-1], width)), name=f"fc{i + 1}",
            )(x)
            if i < len(features) - 1:
                x = nn.relu(x)
        return x
