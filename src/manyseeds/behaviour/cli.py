"""`manyseeds evaluate`: a run's instances on the noisy stimuli, as a table.

    manyseeds evaluate --run runs/rtnet --humans humans.csv --out rtnet.csv

calibrates the noise level per condition against the humans' group accuracy
(bisection over the grid of `BehaviourConfig.noise_grid`), then writes the
tidy behaviour table and its `<out>.meta.json` sidecar. `--noise-easy X
--noise-hard Y` skips the calibration.
"""

from __future__ import annotations

import dataclasses
import logging

from manyseeds.config import STRATEGIES, BehaviourConfig
from manyseeds.errors import UserError

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    """Add `evaluate`."""
    p = subparsers.add_parser(
        "evaluate",
        help="test a run's instances on the noisy stimuli (calibrated to people)",
        description=(
            "Run every instance of a trained run on the 480 noisy stimuli, with the "
            "noise level per condition calibrated so that the instances' group "
            "accuracy matches the people's (PROTOCOL.md sections 2-3), and write "
            "the tidy behaviour table."
        ),
    )
    p.add_argument("--run", required=True, help="run folder written by `train`")
    p.add_argument(
        "--humans", help="human CSV (published schema) whose accuracy to match; "
        "optional when both noise levels are given",
    )
    p.add_argument("--stimuli", help="noise_index.npz (default: as `data` finds it)")
    p.add_argument("--mnist-dir", help="MNIST IDX folder (or MANYSEEDS_MNIST_DIR)")
    p.add_argument("--out", required=True, help="table to write (.csv or .parquet)")
    p.add_argument("--noise-easy", type=float, help="easy level; skips calibration")
    p.add_argument("--noise-hard", type=float, help="hard level; skips calibration")
    p.add_argument(
        "--shared-sample", action="store_true",
        help="RTNet: one weight sample per step shared by all images still running "
        "(the authors' batched code) instead of one per image",
    )
    p.add_argument(
        "--restrict-digits", action="store_true",
        help="read out digits 1-8 only (default: 0/9 responses are missing)",
    )
    p.add_argument(
        "--off-task", choices=("missing", "error"), default="missing",
        help="a 0/9 response makes the trial missing (default) or an error",
    )
    p.add_argument("--max-steps", type=int, help="RTNet: cap on samples per image")
    p.add_argument("--eval-seed", type=int, help="RTNet: seed of the samples")
    p.add_argument("--noise-seed", type=int, help="seed of the noise patterns")
    p.add_argument(
        "--noise-grid", type=float, nargs=3, metavar=("START", "STOP", "STEP"),
        help="calibration grid (default 1.00 3.50 0.01: the authors' 1.00-3.49)",
    )
    p.add_argument(
        "--sweep", action="store_true",
        help="calibrate by the full sweep of the grid (the authors' method; slow)",
    )
    p.add_argument("--strategy", choices=STRATEGIES, default="auto")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def behaviour_config(args) -> BehaviourConfig:
    """The `BehaviourConfig` of the flags (defaults where a flag is absent)."""
    from manyseeds.behaviour.noise import noise_grid

    changes = {
        "shared_sample": args.shared_sample,
        "restrict_to_task_digits": args.restrict_digits,
        "off_task": args.off_task,
    }
    for flag, field in (
        ("max_steps", "max_steps"), ("eval_seed", "eval_seed"),
        ("noise_seed", "noise_seed"),
    ):
        if getattr(args, flag) is not None:
            changes[field] = getattr(args, flag)
    if args.noise_grid is not None:
        changes["noise_grid"] = tuple(args.noise_grid)
        noise_grid(changes["noise_grid"])  # refuses a bad grid
    if changes.get("max_steps", 1) < 1:
        raise UserError(f"--max-steps {args.max_steps}: expected at least 1")
    return dataclasses.replace(BehaviourConfig(), **changes)


def run(args) -> int:
    from manyseeds.behaviour.evaluate import check_output, evaluate_run
    from manyseeds.data.humans import load_humans
    from manyseeds.data.stimuli import resolve_stimuli

    check_output(args.out)
    given = (args.noise_easy, args.noise_hard)
    if (given[0] is None) != (given[1] is None):
        raise UserError("give both --noise-easy and --noise-hard, or neither")
    levels = None if given[0] is None else {"easy": given[0], "hard": given[1]}
    if levels is None and not args.humans:
        raise UserError("--humans FILE is needed to calibrate the noise level")
    config = behaviour_config(args)
    humans = load_humans(args.humans) if args.humans else None
    stimuli = resolve_stimuli(args.stimuli, humans, mnist_dir=args.mnist_dir)
    if stimuli.labels is None:
        raise UserError("the stimuli need MNIST labels: pass --mnist-dir DIR")
    table, calibration = evaluate_run(
        args.run, humans, stimuli, config, noise_levels=levels, out=args.out,
        mnist_dir=args.mnist_dir, method="sweep" if args.sweep else "bisection",
        strategy=args.strategy, progress=not args.no_progress,
    )
    for condition, found in calibration["conditions"].items():
        human = found.get("human_accuracy")
        human_text = "n/a" if human is None else f"{human:.3f}"
        print(
            f"{condition}: noise {found['level']:.2f}, instances "
            f"{found['model_accuracy']:.3f}, humans {human_text} ({found['method']})"
        )
    accuracy = table.meta["accuracy_per_instance"]
    print(
        f"{table.name}: {table.meta['instances']} instances, accuracy "
        f"{accuracy['min']:.3f}-{accuracy['max']:.3f}; wrote {args.out}"
    )
    if calibration.get("humans_synthetic"):
        print("NOTE: calibrated against a SYNTHETIC human cohort")
    return 0
