"""`manyseeds bench analysis`: the JAX analysis engine against the NumPy reference.

    manyseeds bench analysis [--splits 1000] [--reference-splits 2]

Times the whole analysis of the paper's size (60 people x 3 architectures x 60
instances x all metrics x 1,000 split-halves x 2,000 bootstrap resamples, 480
images, 2 conditions; RT for people and one architecture) on synthetic
behaviour (`analysis.synthetic`), in one run:

- the JAX engine (`analysis.engine.run`, float32), cold: compile time
  counts; it is run a second time, warm, and the difference is reported as the
  compile time;
- the NumPy reference (`analysis.reference.run`) on `--reference-splits` and
  twice as many split-halves; the difference gives the time per split-half,
  the rest the fixed part, and both are extrapolated to `--splits`.

Missing values (`--missing`): "realistic" leaves 3% of the instances'
accuracy missing (networks answering 0 or 9, PROTOCOL.md section 3) and the
people complete; "all" removes 3% of every array; "none" nothing. The engine
takes its fastest path where nothing is missing.

Targets (issue: analysis engine): the full analysis in 30 s or less on 2 CPU
cores, and at least 20 times faster than the reference.
"""

from __future__ import annotations

import os
import time

import numpy as np

from manyseeds.analysis import engine, reference, results, synthetic
from manyseeds.config import AnalysisConfig

TARGET_SECONDS = 30.0
TARGET_RATIO = 20.0


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "analysis", help="analysis engine (JAX) against the NumPy reference"
    )
    p.add_argument("--subjects", type=int, default=60)
    p.add_argument("--archs", type=int, default=3, help="architectures")
    p.add_argument("--instances", type=int, default=60, help="per architecture")
    p.add_argument("--images", type=int, default=480)
    p.add_argument("--splits", type=int, default=1000)
    p.add_argument("--bootstrap", type=int, default=2000)
    p.add_argument("--chunk", type=int, default=AnalysisConfig().chunk)
    p.add_argument("--reference-splits", type=int, default=2,
                   help="split-halves of the reference's shorter run")
    p.add_argument("--missing", choices=("realistic", "all", "none"),
                   default="realistic")
    p.set_defaults(func=run)


def bench_inputs(args):
    """Synthetic people and instances of the requested size and missingness."""
    archs = tuple(f"arch{k}" for k in range(args.archs))
    inputs = synthetic.planted_inputs(
        n_subjects=args.subjects, archs=archs, n_instances=args.instances,
        n_images=args.images, rt_archs=archs[-1:],
        missing=0.03 if args.missing == "all" else 0.0, seed=0,
    )
    if args.missing == "realistic":
        rng = np.random.default_rng(1)
        for per_metric in inputs.models.values():
            accuracy = per_metric["accuracy"]
            accuracy[rng.random(accuracy.shape) < 0.03] = np.nan
    return inputs


def _timed(function, *args, **kwargs):
    start = time.perf_counter()
    out = function(*args, **kwargs)
    return out, time.perf_counter() - start


def run(args) -> int:
    inputs = bench_inputs(args)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count())
    print(
        f"analysis bench: {args.subjects} people x {args.archs} architectures x "
        f"{args.instances} instances, {args.images} images, 2 conditions, metrics "
        f"{', '.join(inputs.metrics)} (rt: people and {inputs.archs[-1]}), "
        f"{args.splits} split-halves, {args.bootstrap} bootstrap resamples; "
        f"missing: {args.missing}; {cores} CPU cores"
    )
    config = AnalysisConfig(n_splits=args.splits, n_bootstrap=args.bootstrap,
                            seed=0, chunk=args.chunk)

    def full():
        return results.statistics(engine.run(inputs, config))

    entries, cold = _timed(full)
    _, warm = _timed(full)
    print(f"JAX engine (float32): {cold:.1f} s in total, of which compile ~"
          f"{max(cold - warm, 0.0):.1f} s (warm rerun {warm:.1f} s); "
          f"{len(entries)} statistics")

    splits = engine.draw_splits(0, 2 * args.reference_splits, args.images)
    resamples = engine.draw_resamples(0, args.bootstrap, args.subjects)
    times = []
    for n in (args.reference_splits, 2 * args.reference_splits):
        _, seconds = _timed(reference.run, inputs, splits[:n], resamples, config)
        times.append(seconds)
    per_split = max((times[1] - times[0]) / args.reference_splits, 1e-9)
    fixed = max(times[0] - args.reference_splits * per_split, 0.0)
    extrapolated = fixed + args.splits * per_split
    print(f"NumPy reference: {times[0]:.1f} s for {args.reference_splits} and "
          f"{times[1]:.1f} s for {2 * args.reference_splits} split-halves -> "
          f"{per_split:.2f} s per split-half + {fixed:.1f} s fixed; "
          f"{args.splits} split-halves ~ {extrapolated:.0f} s (extrapolated)")
    ratio = extrapolated / cold
    print(f"speed-up: {ratio:.0f}x (target >= {TARGET_RATIO:.0f}x); JAX total "
          f"{cold:.1f} s (target <= {TARGET_SECONDS:.0f} s on 2 CPU cores)")
    return 0
