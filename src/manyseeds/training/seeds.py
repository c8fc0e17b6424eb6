"""Instance seeds and their three independent random streams.

Every instance is defined by one integer seed. From it come three keys
(PROTOCOL.md section 2: the authors set one global seed per instance, so all
three varied together; here each is its own stream):

    init   the initial weights
    data   the order of the training images (a fresh permutation per epoch)
    noise  dropout masks and RTNet weight samples during training

A stream can be frozen across instances by giving it a fixed seed, so that a
study can vary, say, only the initial weights.

Keys are raw `uint32[2]` arrays (`jax.random.PRNGKey`) so that they stack
along the seed axis and checkpoint like any other array.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

STREAMS = ("init", "data", "noise")


@dataclasses.dataclass(frozen=True)
class SeedStreams:
    """Which seed drives each stream of every instance.

    Attributes:
      seeds: `[seed]` the instance seeds.
      init_seed, data_seed, noise_seed: a fixed seed for that stream shared by
        all instances, or None to derive it from each instance's seed.
    """

    seeds: tuple[int, ...]
    init_seed: int | None = None
    data_seed: int | None = None
    noise_seed: int | None = None

    def keys(self, stream: str) -> jax.Array:
        """`[seed, 2]` uint32 keys of one stream for every instance."""
        fixed = {
            "init": self.init_seed, "data": self.data_seed, "noise": self.noise_seed
        }[stream]
        index = STREAMS.index(stream)
        seeds = [fixed if fixed is not None else s for s in self.seeds]
        return jnp.stack([stream_key(s, index) for s in seeds])


def stream_key(seed: int, stream_index: int) -> jax.Array:
    """The key of stream `stream_index` of instance `seed`."""
    return jax.random.fold_in(jax.random.PRNGKey(seed), stream_index)


def epoch_permutation(data_key: jax.Array, epoch: int, num_train: int) -> jax.Array:
    """The training-image order of one instance in one epoch, `[num_train]`."""
    return jax.random.permutation(jax.random.fold_in(data_key, epoch), num_train)


def seed_list(count: int, offset: int = 0) -> tuple[int, ...]:
    """Seeds `offset, ..., offset + count - 1`."""
    return tuple(int(s) for s in np.arange(offset, offset + count))
