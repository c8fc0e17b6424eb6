"""Choosing how the seed axis is batched, per backend and memory.

`auto` picks, per device:

- CPU: `loop`. XLA lowers a vmapped convolution to a grouped convolution,
  which its CPU backend runs slower than the same work as separate
  convolutions, so on a CPU each instance takes its step in its own compiled
  call, its state kept apart from the others' between steps (`lift.Unstacked`).
  Measured on 2 cores, quick AlexNet, batch 128: 60 seeds this way 11,735
  images/s; vmap over 8 seeds 4,090; one seed alone 7,898 (`manyseeds bench
  train` prints the same comparison).
- GPU and TPU: `vmap` over all local instances when their training memory
  fits the device, otherwise `chunked` with the largest chunk that fits.
  Parameters and Adam moments of every local instance stay resident; only
  the activations and gradients of one chunk are live at a time.
"""

from __future__ import annotations

import logging

import jax

from manyseeds.config import TrainConfig
from manyseeds.training.lift import SeedLayout, make_layout

log = logging.getLogger(__name__)

# Fraction of device memory the plan may use (XLA needs headroom).
_MEMORY_FRACTION = 0.8
_BYTES_PER_PARAM_RESIDENT = 12  # float32 parameter + two Adam moments


def device_memory_bytes(device) -> int | None:
    """Usable memory of an accelerator, or None when it is not reported."""
    try:
        stats = device.memory_stats() or {}
    except Exception:  # noqa: BLE001 - backends without memory stats
        return None
    return stats.get("bytes_limit")


def plan_chunk(
    seeds_per_device: int, resident_bytes: int, chunk_bytes: int, memory: int
) -> int:
    """Largest chunk of instances whose training fits in `memory`.

    Args:
      seeds_per_device: instances on one device.
      resident_bytes: parameters + optimiser state of one instance.
      chunk_bytes: activations + gradients of one instance's step.
      memory: usable device bytes.

    Returns:
      Instances per chunk, between 1 and `seeds_per_device`.
    """
    free = memory * _MEMORY_FRACTION - seeds_per_device * resident_bytes
    if free < chunk_bytes:
        log.warning(
            "%d instances need about %.1f GB resident, more than the device "
            "holds; trying one at a time", seeds_per_device,
            seeds_per_device * resident_bytes / 1e9,
        )
        return 1
    return int(max(1, min(seeds_per_device, free // chunk_bytes)))


def choose_layout(config: TrainConfig, spec, devices=None) -> SeedLayout:
    """The seed layout of a run: `config.strategy`, or the automatic choice."""
    devices = list(devices if devices is not None else jax.devices())
    strategy, chunk = config.strategy, config.chunk_size
    if strategy == "auto":
        strategy, chunk = _auto(config, spec, devices)
    layout = make_layout(config.seeds, strategy, chunk, devices)
    log.info(
        "%s: %d seeds on %d %s device(s), strategy %s (chunk %d)",
        config.arch, config.seeds, layout.num_devices, devices[0].platform,
        layout.strategy, layout.chunk_size,
    )
    return layout


def _auto(config: TrainConfig, spec, devices) -> tuple[str, int | None]:
    if devices[0].platform == "cpu":
        return "loop", 1
    per_device = -(-config.seeds // len(devices))
    memory = device_memory_bytes(devices[0])
    if memory is None:
        return "vmap", None
    params = spec.param_count(jax.eval_shape(spec.init, jax.random.PRNGKey(0)))
    resident = params * _BYTES_PER_PARAM_RESIDENT
    step_bytes = max(spec.train_memory_bytes(config.batch_size) - resident, 1)
    chunk = plan_chunk(per_device, resident, step_bytes, memory)
    return ("vmap", None) if chunk >= per_device else ("chunked", chunk)
