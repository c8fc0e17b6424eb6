"""Noisy stimuli: one noise seed, identical images for every instance, no clipping."""

import dataclasses

import jax.numpy as jnp
import numpy as np
import pytest

from manyseeds.behaviour import noise
from manyseeds.behaviour.evaluate import Evaluator, Instances
from manyseeds.config import BehaviourConfig
from manyseeds.data.stimuli import Stimuli, resolve_stimuli
from manyseeds.errors import UserError


@dataclasses.dataclass(frozen=True, eq=False)
class ProbeSpec:
    """A 'network' whose logits are statistics of its input, not of its weights,
    so instances agree bit for bit exactly when their inputs do."""

    arch: str = "alexnet"
    preset: str = "probe"
    input_size: int = 28
    bayesian: bool = False

    def prepare(self, images):
        return jnp.asarray(images, jnp.float32)

    def apply(self, variables, x, rng, train):
        flat = x.reshape(x.shape[0], -1)
        stats = jnp.stack([
            flat.sum(1), (flat**2).sum(1), flat[:, 100], flat[:, 400], flat.max(1),
            flat[:, 0], flat[:, 783], flat[:, 300] * 3, flat[:, 500] * 2, flat.min(1),
        ], axis=1)
        return stats + 0.0 * variables["params"]["w"], {}


def small_stimuli(stimuli_path, mnist_dir, per_level=3) -> Stimuli:
    full = resolve_stimuli(stimuli_path, mnist_dir=mnist_dir)
    index = np.concatenate([
        np.flatnonzero(full.noise == level)[:per_level] for level in ("easy", "hard")
    ])
    return Stimuli(full.images[index], full.noise[index], full.labels[index], "test")


def test_base_noise_depends_only_on_the_seed_and_the_image():
    a = np.asarray(noise.base_noise(np.array([5, 7, 9]), 28, noise_seed=0))
    b = np.asarray(noise.base_noise(np.array([9, 5]), 28, noise_seed=0))
    np.testing.assert_array_equal(a[0], b[1])
    np.testing.assert_array_equal(a[2], b[0])
    other = np.asarray(noise.base_noise(np.array([5]), 28, noise_seed=1))
    assert not np.array_equal(a[0], other[0])
    assert a.shape == (3, 28, 28, 1) and a.min() >= 0.0 and a.max() < 1.0


def test_noise_is_added_after_resizing_scaled_by_level_and_not_clipped():
    clean = jnp.full((2, 3, 3, 1), 0.5)
    base = jnp.full((2, 3, 3, 1), 0.75)
    out = noise.add_noise(clean, base, jnp.array([1.0, 3.0]))
    np.testing.assert_allclose(out[0], 1.25)
    np.testing.assert_allclose(out[1], 2.75)  # above 1: not clipped
    levels = noise.levels_per_image(np.array(["easy", "hard", "easy"]),
                                    {"easy": 1.5, "hard": 2.5})
    np.testing.assert_array_equal(levels, [1.5, 2.5, 1.5])


def test_noise_grid_is_the_authors_250_levels():
    grid = noise.noise_grid((1.00, 3.50, 0.01))
    assert len(grid) == 250 and grid[0] == 1.0 and grid[-1] == 3.49
    with pytest.raises(UserError):
        noise.noise_grid((2.0, 1.0, 0.1))


def test_every_instance_sees_the_bit_identical_noisy_image(stimuli_path, mnist_dir):
    spec = ProbeSpec()
    stimuli = small_stimuli(stimuli_path, mnist_dir)
    prepared = noise.prepare_stimuli(spec, stimuli, noise_seed=3, mnist_dir=mnist_dir)
    w = np.random.default_rng(0).normal(size=(4, 10)).astype(np.float32)
    instances = Instances(spec, {"params": {"w": w}}, (0, 1, 2, 3), "test")
    evaluator = Evaluator(instances, prepared, BehaviourConfig(), progress=False)
    result = evaluator.run("hard", 2.0)
    for k in range(1, 4):
        np.testing.assert_array_equal(result.confidence[k], result.confidence[0])
    # ... and it is image + 2.0 x the image's own U[0,1) pattern.
    pixels, _ = noise.stimulus_pixels(stimuli, mnist_dir)
    hard = stimuli.noise == "hard"
    expected = pixels[hard] + 2.0 * np.asarray(
        noise.base_noise(stimuli.images[hard], 28, noise_seed=3)
    )
    one = {"params": {"w": 0 * w[0]}}
    logits, _ = spec.apply(one, jnp.asarray(expected), None, False)
    top = jnp.sort(logits)
    np.testing.assert_allclose(result.confidence[0, 0], top[:, -1] - top[:, -2],
                               rtol=1e-6)
