"""The seed axis: how single-instance functions run for many instances at once.

This is the one place that knows about the seed axis. A function written for
one instance, `fn(per_seed, shared)`, is lifted to `[seed, ...]` inputs in
two layers:

1. Devices. The seed axis is sharded over a 1-D mesh named `seed` that spans
   every device of every host (`jax.devices()`); `shard_map` hands each
   device its own block of instances, so no step ever communicates.
2. Within a device, one of three strategies:

   vmap     all local instances in one batched computation. Fastest on GPU
            and TPU; convolutions become grouped convolutions, which XLA runs
            slowly on CPU.
   loop     one instance after another inside the same jitted program
            (`lax.map`), so every convolution is an ordinary one.
   chunked  `lax.map` over chunks of `chunk_size` instances, vmapped inside a
            chunk: bounds activation memory on an accelerator.

All three compute the same function; batched and single-instance kernels
may round differently, so results agree to float tolerance, not bitwise.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from manyseeds.errors import UserError

log = logging.getLogger(__name__)

SEED_AXIS = "seed"


@dataclasses.dataclass(frozen=True)
class SeedLayout:
    """How the seed axis is laid out over devices and batched within them.

    Attributes:
      mesh: 1-D device mesh with axis `seed`.
      strategy: "vmap", "loop" or "chunked".
      chunk_size: instances per vmapped chunk (for "chunked").
      num_seeds: real instances.
      padded_seeds: instances actually computed: `num_seeds` rounded up to a
        multiple of the device count (the extra ones are dropped on output).
    """

    mesh: Mesh
    strategy: str
    chunk_size: int
    num_seeds: int
    padded_seeds: int

    @property
    def num_devices(self) -> int:
        return self.mesh.devices.size

    @property
    def seeds_per_device(self) -> int:
        return self.padded_seeds // self.num_devices

    @property
    def sharded(self) -> NamedSharding:
        """Sharding of a `[seed, ...]` array."""
        return NamedSharding(self.mesh, P(SEED_AXIS))

    @property
    def replicated(self) -> NamedSharding:
        return NamedSharding(self.mesh, P())


def make_layout(
    num_seeds: int,
    strategy: str,
    chunk_size: int | None = None,
    devices: list | None = None,
) -> SeedLayout:
    """Lay `num_seeds` instances over `devices` (default: all, every host)."""
    devices = list(devices if devices is not None else jax.devices())
    if strategy not in ("vmap", "loop", "chunked"):
        raise UserError(f"unknown seed strategy {strategy!r}; use vmap, loop, chunked")
    n_dev = len(devices)
    padded = -(-num_seeds // n_dev) * n_dev
    per_device = padded // n_dev
    if strategy == "loop":
        chunk = 1
    elif strategy == "vmap":
        chunk = per_device
    else:
        chunk = max(1, min(chunk_size or per_device, per_device))
        while per_device % chunk:  # lax.map needs equal chunks
            chunk -= 1
    if padded != num_seeds:
        log.info(
            "%d seeds over %d devices: computing %d (the last %d are padding)",
            num_seeds, n_dev, padded, padded - num_seeds,
        )
    mesh = Mesh(np.array(devices), (SEED_AXIS,))
    return SeedLayout(mesh, strategy, chunk, num_seeds, padded)


def lift(
    fn: Callable[[Any, Any], Any], layout: SeedLayout
) -> Callable[[Any, Any], Any]:
    """Lift `fn(per_seed, shared)` to `[seed, ...]` per-seed inputs and outputs.

    Args:
      fn: a pure function of one instance's inputs and inputs shared by all.
      layout: devices and strategy.

    Returns:
      `lifted(per_seed, shared)`, to be called inside `jax.jit`; `per_seed`
      leaves are `[seed, ...]` sharded by `layout.sharded`, `shared` leaves are
      replicated.
    """

    def local(per_seed, shared):
        if layout.strategy == "vmap":
            return jax.vmap(fn, in_axes=(0, None))(per_seed, shared)
        return jax.lax.map(
            lambda one: fn(one, shared), per_seed, batch_size=layout.chunk_size
        )

    if layout.num_devices == 1:
        return local
    return jax.shard_map(
        local,
        mesh=layout.mesh,
        in_specs=(P(SEED_AXIS), P()),
        out_specs=P(SEED_AXIS),
        check_vma=False,
    )


def put_seeded(tree: Any, layout: SeedLayout) -> Any:
    """Place a host-local `[seed, ...]` tree (all seeds) on the mesh."""
    sharding = layout.sharded

    def put(x):
        x = np.asarray(x)
        return jax.make_array_from_callback(x.shape, sharding, lambda idx: x[idx])

    return jax.tree.map(put, tree)


def put_replicated(tree: Any, layout: SeedLayout) -> Any:
    """Place a host-local tree, identical on every host, on every device."""
    sharding = layout.replicated

    def put(x):
        x = np.asarray(x)
        return jax.make_array_from_callback(x.shape, sharding, lambda idx: x[idx])

    return jax.tree.map(put, tree)


def gather_seeded(tree: Any, layout: SeedLayout) -> Any:
    """Bring a `[seed, ...]` tree to host numpy, dropping padding instances.

    On several hosts every host receives all instances (a collective).
    """
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        tree = multihost_utils.process_allgather(tree, tiled=True)
    return jax.tree.map(lambda x: np.asarray(x)[: layout.num_seeds], tree)
