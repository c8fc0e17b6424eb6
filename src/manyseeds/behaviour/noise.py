"""The noisy stimuli: the 480 images at the model's input size plus uniform noise.

PROTOCOL.md section 3: every image is resized to the architecture's input size
(`ModelSpec.prepare`), then `U[0, 1) x noise_level` is added, pixel by pixel, at
that size. The authors' test scripts did exactly this (resize, to [0, 1], add
`rand * noise`) and did NOT clip the result, so noisy pixels range over
`[0, 1 + noise_level)`; we follow them and do not clip either. RTNet's input
normalisation (mean 0.1307, sd 0.3081) happens inside the model, after the
noise.

Two properties every instance relies on:

- One noise seed. The base pattern `U[0, 1)` of an image depends only on
  `BehaviourConfig.noise_seed` and the image's one-based MNIST index (its key
  is the noise seed folded with the index), never on the instance, the order of
  the images or which other images are evaluated. Every instance therefore sees
  the bit-identical noisy image, and a test on a few images sees the same noise
  as the full run.
- One pattern per image across levels. The level only scales the base pattern:
  `noisy = image + level x base`. The authors reseeded the generator before
  every level of their sweep, so their noise too was one pattern scaled by the
  level; this keeps accuracy a smooth, in practice monotone, function of the
  level, which the calibration's bisection relies on (see `calibrate`).

Each noise condition (easy / hard) has its own level; `levels_per_image` turns
`{"easy": x, "hard": y}` into the `[image]` levels.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np

from manyseeds.data import mnist
from manyseeds.data.stimuli import Stimuli
from manyseeds.data.table import NOISE_LEVELS
from manyseeds.errors import UserError


@dataclasses.dataclass(frozen=True)
class StimulusSet:
    """The stimuli ready for one architecture, before noise.

    Attributes:
      images: `[image]` one-based MNIST test indices.
      noise: `[image]` noise condition, "easy" or "hard".
      labels: `[image]` true digits.
      clean: `[image, S, S, 1]` float32 pixels in [0, 1], resized by
        `spec.prepare`.
      base_noise: `[image, S, S, 1]` float32 `U[0, 1)`, the pattern that the
        noise level scales.
    """

    images: np.ndarray
    noise: np.ndarray
    labels: np.ndarray
    clean: jax.Array
    base_noise: jax.Array

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def subset(self, index: np.ndarray) -> StimulusSet:
        """The images at positions `index` (noise patterns unchanged)."""
        index = np.asarray(index)
        return StimulusSet(
            images=self.images[index], noise=self.noise[index],
            labels=self.labels[index], clean=self.clean[index],
            base_noise=self.base_noise[index],
        )


def stimulus_pixels(
    stimuli: Stimuli, mnist_dir: str | None = None, test: mnist.MnistSplit | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The 28x28 pixels and labels of the stimulus images.

    Args:
      stimuli: the stimulus set (one-based MNIST test indices).
      mnist_dir: MNIST folder (None: found as `data.mnist` does).
      test: the MNIST test split, if already loaded.

    Returns:
      `([image, 28, 28, 1] float32 in [0, 1], [image] int64 labels)`.
    """
    if test is None:
        test = mnist.load_mnist("test", mnist_dir)
    rows = np.asarray(stimuli.images, dtype=np.int64) - 1
    if rows.min(initial=0) < 0 or rows.max(initial=0) >= len(test):
        raise UserError(
            f"stimuli {stimuli.source}: indices outside 1..{len(test)} of the MNIST "
            "test set"
        )
    pixels = mnist.to_float32(test.images[rows])[..., None]
    return pixels, np.asarray(test.labels[rows], dtype=np.int64)


def base_noise(
    image_ids: np.ndarray, size: int, noise_seed: int
) -> jax.Array:
    """The `U[0, 1)` pattern of each image at the model's input size.

    Args:
      image_ids: `[image]` one-based MNIST test indices.
      size: side S of the model input.
      noise_seed: `BehaviourConfig.noise_seed`.

    Returns:
      `[image, S, S, 1]` float32; row i depends only on `noise_seed` and
      `image_ids[i]`.
    """
    root = jax.random.PRNGKey(noise_seed)
    ids = jnp.asarray(np.asarray(image_ids, dtype=np.uint32))

    def one(image_id):
        return jax.random.uniform(
            jax.random.fold_in(root, image_id), (size, size, 1), jnp.float32
        )

    return jax.jit(jax.vmap(one))(ids)


def prepare_stimuli(
    spec,
    stimuli: Stimuli,
    noise_seed: int,
    mnist_dir: str | None = None,
    test: mnist.MnistSplit | None = None,
) -> StimulusSet:
    """Resize the stimulus images for `spec` and draw their noise patterns.

    Args:
      spec: the `ModelSpec` (its `prepare` and `input_size`).
      stimuli: the stimulus set.
      noise_seed: seed of the noise patterns.
      mnist_dir, test: where the MNIST test images come from.

    Returns:
      The `StimulusSet`; labels are taken from MNIST (and must agree with
      `stimuli.labels` when those are known).
    """
    pixels, labels = stimulus_pixels(stimuli, mnist_dir, test)
    if stimuli.labels is not None and not np.array_equal(stimuli.labels, labels):
        raise UserError(f"stimuli {stimuli.source}: labels disagree with MNIST")
    unknown = sorted(set(np.unique(stimuli.noise)) - set(NOISE_LEVELS))
    if unknown:
        raise UserError(
            f"stimuli {stimuli.source}: noise condition(s) {unknown}; expected "
            f"{NOISE_LEVELS}"
        )
    clean = jax.jit(spec.prepare)(pixels)
    return StimulusSet(
        images=np.asarray(stimuli.images, dtype=np.int64),
        noise=np.asarray(stimuli.noise).astype(str),
        labels=labels,
        clean=clean,
        base_noise=base_noise(stimuli.images, spec.input_size, noise_seed),
    )


def levels_per_image(noise: np.ndarray, levels: Mapping[str, float]) -> np.ndarray:
    """`[image]` float32 noise level of each image from its condition's level.

    Images of a condition missing from `levels` get level 0 (their value is
    not used by the caller).
    """
    out = np.zeros(len(noise), np.float32)
    for condition, level in levels.items():
        out[np.asarray(noise) == condition] = level
    return out


@jax.jit
def add_noise(clean: jax.Array, base: jax.Array, levels: jax.Array) -> jax.Array:
    """`clean + level x base`, not clipped (the authors did not clip).

    Args:
      clean: `[image, S, S, 1]` resized pixels in [0, 1].
      base: `[image, S, S, 1]` `U[0, 1)` patterns.
      levels: `[image]` noise level of each image.

    Returns:
      `[image, S, S, 1]` float32 noisy images, in `[0, 1 + level)`.
    """
    return clean + levels[:, None, None, None] * base


def noisy_images(stimulus_set: StimulusSet, levels: Mapping[str, float]) -> jax.Array:
    """The noisy `[image, S, S, 1]` images at per-condition `levels`."""
    per_image = levels_per_image(stimulus_set.noise, levels)
    return add_noise(
        stimulus_set.clean, stimulus_set.base_noise, jnp.asarray(per_image)
    )


def noise_grid(grid: tuple[float, float, float]) -> np.ndarray:
    """The calibration grid `start, start + step, ... < stop` (rounded to 1e-6).

    The default `(1.00, 3.50, 0.01)` gives the authors' 250 levels 1.00-3.49.
    """
    start, stop, step = grid
    if step <= 0 or stop <= start:
        raise UserError(f"noise grid {grid}: expected start < stop and step > 0")
    count = int(np.floor((stop - start) / step + 1e-9))
    if start + count * step < stop - 1e-9:
        count += 1
    return np.round(start + step * np.arange(count), 6)
