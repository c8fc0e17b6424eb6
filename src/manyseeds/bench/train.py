"""`manyseeds bench train`: training throughput of every seed strategy.

    manyseeds bench train --arch alexnet --preset quick --seeds 8

Everything is measured in one run, on the same synthetic images:

- each seed strategy (`vmap`, `loop`, `chunked`, and what `auto` picks) with
  the trainer's own jitted step, all seeds at once;
- the sequential JAX baseline: the same model trained one seed at a time
  with a jitted single-seed step (what 60 separate jobs would do);
- a PyTorch baseline of the same architecture (CPU), when torch is installed;
- the matmul rate of this machine (a jitted float32 matrix product), against
  which the achieved training FLOP rate is set (training ~ 3x forward FLOPs).

Throughput is training images per second summed over seeds; compile time is
excluded and printed separately.
"""

from __future__ import annotations

import logging
import os
import time

import jax
import jax.numpy as jnp
import numpy as np

from manyseeds.config import ARCHS, PRESETS, train_config
from manyseeds.training.lift import keeps_apart, make_layout, unstack
from manyseeds.training.strategy import choose_layout
from manyseeds.training.trainer import Runner, TrainData

log = logging.getLogger(__name__)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("train", help="training throughput per seed strategy")
    p.add_argument("--arch", choices=ARCHS, default="alexnet")
    p.add_argument("--preset", choices=PRESETS, default="quick")
    p.add_argument("--seeds", type=int, default=8)
    p.add_argument("--steps", type=int, default=10, help="timed steps per strategy")
    p.add_argument("--batch-size", type=int, help="default: the preset's")
    p.add_argument(
        "--strategies", default="vmap,loop,chunked",
        help="comma-separated strategies to time (auto is always added)",
    )
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch baseline")
    p.set_defaults(func=run)


def _synthetic_data(num: int) -> TrainData:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (num, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, num).astype(np.int32)
    return TrainData(images, labels, images[:8], labels[:8], "synthetic")


def _time_steps(runner: Runner, steps: int, batch: int) -> tuple[float, float]:
    """(compile + first step seconds, seconds per step after that)."""
    state = runner.init_state()
    if keeps_apart(runner.layout):  # as the trainer does between steps
        state = unstack(state, runner.layout.padded_seeds)
    perm = runner.permutation(0)
    t0 = time.perf_counter()
    state, m = runner.step(state, perm[:, :batch])
    jax.block_until_ready(m)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    for k in range(steps):
        start = ((k + 1) * batch) % (perm.shape[1] - batch)
        state, m = runner.step(state, perm[:, start:start + batch])
    jax.block_until_ready((state, m))
    return first, (time.perf_counter() - t0) / steps


def matmul_flops_per_second(size: int = 2048, repeats: int = 10) -> float:
    """Measured float32 matrix-product rate of the default device."""
    a = jax.random.normal(jax.random.PRNGKey(0), (size, size), jnp.float32)
    f = jax.jit(lambda x: x @ x)
    jax.block_until_ready(f(a))
    t0 = time.perf_counter()
    for _ in range(repeats):
        out = f(a)
    jax.block_until_ready(out)
    return 2 * size**3 * repeats / (time.perf_counter() - t0)


def run(args) -> int:
    from manyseeds.models import get_model

    config = train_config(args.arch, args.preset, seeds=args.seeds)
    spec = get_model(args.arch, args.preset, init=config.init)
    if args.batch_size:
        config = config.replace(batch_size=args.batch_size)
    batch = config.batch_size
    data = _synthetic_data(batch * (args.steps + 2))
    auto = choose_layout(config.replace(strategy="auto"), spec)
    names = [s for s in args.strategies.split(",") if s]
    rows = []
    for name in names:
        layout = make_layout(config.seeds, name, max(1, config.seeds // 2))
        runner = Runner(config.replace(strategy=name), spec, layout, data)
        first, per_step = _time_steps(runner, args.steps, batch)
        rows.append((name, layout.chunk_size, first, per_step))
        log.info("%s: %.3f s/step (first step %.1f s)", name, per_step, first)
    single = make_layout(1, "vmap")
    seq_runner = Runner(config.replace(seeds=1), spec, single, data)
    seq_first, seq_step = _time_steps(seq_runner, args.steps, batch)
    seq_ips = batch / seq_step  # one seed's images per second; seeds run in turn
    torch_ips = None if args.no_torch else _torch_images_per_second(
        args.arch, args.preset, batch, args.steps
    )
    matmul = matmul_flops_per_second()
    train_flops = 3 * spec.flops_per_image()
    _print_table(args, config, rows, auto, seq_ips, seq_first, torch_ips, matmul,
                 train_flops)
    return 0


def _print_table(args, config, rows, auto, seq_ips, seq_first, torch_ips, matmul,
                 train_flops) -> None:
    seeds, batch = config.seeds, config.batch_size
    print(
        f"bench train: {args.arch} {args.preset}, {seeds} seeds, batch {batch}, "
        f"{args.steps} timed steps, backend {jax.default_backend()} "
        f"({jax.device_count()} device(s), {os.cpu_count()} CPU cores)"
    )
    print(f"matmul rate: {matmul / 1e9:.1f} GFLOP/s; training FLOPs per image "
          f"(3x forward): {train_flops / 1e6:.2f} MFLOP")
    header = (f"{'strategy':<12}{'chunk':>6}{'compile s':>11}{'images/s':>11}"
              f"{'x seq':>8}{'x torch':>9}{'% matmul':>10}")
    print(header)
    print("-" * len(header))

    def line(name, chunk, first, ips):
        vs_torch = f"{ips / torch_ips:.2f}" if torch_ips else "n/a"
        frac = 100 * ips * train_flops / matmul
        print(f"{name:<12}{chunk:>6}{first:>11.1f}{ips:>11.0f}{ips / seq_ips:>8.2f}"
              f"{vs_torch:>9}{frac:>9.1f}%")

    by_name = {}
    for name, chunk, first, per_step in rows:
        ips = seeds * batch / per_step
        by_name[name] = ips
        line(name, chunk, first, ips)
    if auto.strategy in by_name:
        line(f"auto={auto.strategy}", auto.chunk_size, float("nan"),
             by_name[auto.strategy])
    line("sequential", 1, seq_first, seq_ips)
    if torch_ips:
        line("pytorch", 1, float("nan"), torch_ips)
    else:
        print("pytorch: not measured (install the `bench` extra: torch)")


def _torch_images_per_second(arch, preset, batch, steps) -> float | None:
    try:
        from manyseeds.bench import torch_models
    except ImportError:
        log.warning("torch is not installed: no PyTorch baseline")
        return None
    return torch_models.images_per_second(arch, preset, batch, steps)
