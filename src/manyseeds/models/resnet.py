"""ResNet18 as the study used it: torchvision's, one-channel stem, 10 classes.

He et al. (2016), in torchvision's layout (PROTOCOL.md section 2): a 7x7
stride-2 stem convolution without bias (1 -> 64 channels here), batch norm,
ReLU, a 3x3 stride-2 max-pool, four stages of two BasicBlocks (64, 128, 256,
512 channels; stages 2-4 start with stride 2 and a 1x1 projection shortcut),
global average pooling and a dense layer to 10 classes. Images arrive as
`[batch, 28, 28, 1]` pixels in [0, 1], not normalised (the authors' script).

Batch-norm running statistics live in the `batch_stats` collection. Written for
one instance: under `jax.vmap` over `[seed, ...]` each seed keeps its own
statistics. Training mode normalises with the minibatch's statistics and
updates the running ones; evaluation mode uses the running ones and leaves them
alone.

NOTE: Flax's batch norm updates the running variance with the biased batch
variance, PyTorch with the unbiased one; at batch 128 the two differ by under
1%, and only in evaluation mode.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from flax import linen as nn

from manyseeds.models.alexnet import padding
from manyseeds.models.initializers import Initializer
from manyseeds.models.presets import ResNetPreset


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and an identity/projection shortcut."""

    features: int
    stride: int
    preset: ResNetPreset
    initializer: Initializer

    @nn.compact
    def __call__(self, x: jax.Array, train: bool) -> jax.Array:
        conv = functools.partial(
            nn.Conv, use_bias=False, kernel_init=self.initializer.conv_kernel()
        )
        norm = functools.partial(
            nn.BatchNorm, use_running_average=not train,
            momentum=self.preset.bn_momentum, epsilon=self.preset.bn_epsilon,
        )
        s = (self.stride, self.stride)

        y = conv(self.features, (3, 3), strides=s, padding=padding(1), name="conv1")(x)
        y = nn.relu(norm(name="bn1")(y))
        y = conv(self.features, (3, 3), padding=padding(1), name="conv2")(y)
        y = norm(name="bn2")(y)

        shortcut = x
        if self.stride != 1 or x.shape[-1] != self.features:
            shortcut = conv(self.features, (1, 1), strides=s, padding="VALID",
                            name="downsample_conv")(x)
            shortcut = norm(name="downsample_bn")(shortcut)
        return nn.relu(y + shortcut)


class ResNet18(nn.Module):
    """ResNet18 for one instance.

    Attributes:
      preset: the layer sizes.
      initializer: the initialiser of kernels and biases ("torchvision" reproduces
        torchvision's He-normal fan-out convolution kernels).
    """

    preset: ResNetPreset
    initializer: Initializer = Initializer()

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        """Logits `[batch, num_classes]` of images `[batch, S, S, 1]`."""
        p = self.preset
        x = x.astype(jnp.float32)
        x = nn.Conv(
            p.stem_features, (p.stem_kernel, p.stem_kernel),
            strides=(p.stem_stride, p.stem_stride), padding=padding(p.stem_padding),
            use_bias=False, kernel_init=self.initializer.conv_kernel(),
            name="stem_conv",
        )(x)
        x = nn.BatchNorm(
            use_running_average=not train, momentum=p.bn_momentum,
            epsilon=p.bn_epsilon, name="stem_bn",
        )(x)
        x = nn.relu(x)
        if p.stem_pool:
            x = nn.max_pool(x, (3, 3), strides=(2, 2), padding=padding(1))

        stages = zip(p.stage_features, p.blocks_per_stage, strict=True)
        for i, (features, blocks) in enumerate(stages):
            for j in range(blocks):
                stride = 2 if i > 0 and j == 0 else 1
                name = f"stage{i + 1}_block{j + 1}"
                x = BasicBlock(features, stride, p, self.initializer, name=name)(
                    x, train
                )

        x = jnp.mean(x, axis=(1, 2))
        return nn.Dense(
            p.num_classes, kernel_init=self.initializer.dense_kernel(),
            bias_init=self.initializer.bias((x.shape[-1], p.num_classes)), name="fc",
        )(x)
