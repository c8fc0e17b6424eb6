"""`manyseeds bench rtnet`: batched RTNet evaluation against a per-image loop.

    manyseeds bench rtnet --seeds 60 --preset quick

Both sides use the same instances, the same noisy images and the same weight
samples (the keys of `manyseeds.behaviour.accumulate`), so they reach the same
decisions; the bench checks that on the trials the loop runs.

- batched: `behaviour.evaluate.Evaluator`, i.e. the jitted accumulation of
  every instance over all images (480: 2 noise conditions x 240) and both
  thresholds in one run, through `training.lift.SeedMap`. Compile time is
  measured separately and left out.
- loop: the original notebook's way: for every instance, image and threshold
  (each threshold run on its own), draw a sample, run ONE jitted
  single-image forward pass, add the softmax on the host, check the
  threshold, repeat. It is timed on a subset (`--loop-instances` x
  `--loop-images` per noise condition) and extrapolated with its time per
  sample to the number of samples the full set needs (the batched run's RTs
  summed over instances, images and thresholds).

Instances are freshly initialised (`jax.vmap(spec.init)`) unless `--run`
names a trained run; untrained instances have flat softmaxes and so long RTs
(~25 samples at threshold 5 instead of ~6-8), which makes both sides slower.

Measured on the project's shared 2-core CPU (quick preset, noise 2.0):
`--seeds 60` (fresh), shared sampling: batched 24 s vs an extrapolated 1,700
s for the loop, 70x (compile 13 s, not counted); a trained 4-instance quick
run (noise 1.0): 38x, since its short RTs leave the per-step weight sample
less to be shared over; `--sampling per-image`: 1.6x, because there every
image-sample draws its own ~110k weights, which costs more than the forward
pass, batched or not (see `behaviour.accumulate`).
"""

from __future__ import annotations

import functools
import logging
import time

import jax
import numpy as np

from manyseeds.behaviour import accumulate as acc_lib
from manyseeds.behaviour import noise as noise_lib
from manyseeds.behaviour.evaluate import Evaluator, fresh_instances
from manyseeds.config import PRESETS, STRATEGIES, BehaviourConfig
from manyseeds.data.stimuli import Stimuli, resolve_stimuli
from manyseeds.data.table import NOISE_LEVELS
from manyseeds.errors import UserError

log = logging.getLogger(__name__)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "rtnet", help="batched RTNet evaluation vs a per-image Python loop"
    )
    p.add_argument("--seeds", type=int, default=60, help="instances (fresh)")
    p.add_argument("--preset", choices=PRESETS, default="quick")
    p.add_argument("--run", help="a trained RTNet run instead of fresh instances")
    p.add_argument("--noise", type=float, default=2.0, help="noise level (both)")
    p.add_argument(
        "--sampling", choices=("shared", "per-image"), default="shared",
        help="RTNet sampling variant (default shared: the authors' batched code)",
    )
    p.add_argument("--images", type=int, help="images per noise condition (240)")
    p.add_argument("--max-steps", type=int, default=BehaviourConfig.max_steps)
    p.add_argument("--loop-instances", type=int, default=2)
    p.add_argument("--loop-images", type=int, default=4, help="per noise condition")
    p.add_argument("--stimuli", help="noise_index.npz")
    p.add_argument("--mnist-dir", help="MNIST IDX folder")
    p.add_argument("--strategy", choices=STRATEGIES, default="auto")
    p.set_defaults(func=run)


def _instances(args):
    from manyseeds.behaviour.evaluate import instances_from_run
    from manyseeds.models import get_model
    from manyseeds.training.run import load_run

    if args.run:
        instances = instances_from_run(load_run(args.run))
        if not instances.spec.bayesian:
            raise UserError(f"{args.run}: not an RTNet run")
        return instances
    if args.seeds < 1:
        raise UserError(f"--seeds {args.seeds}: expected at least 1")
    return fresh_instances(get_model("rtnet", args.preset), args.seeds)


def _stimuli(args) -> Stimuli:
    stimuli = resolve_stimuli(args.stimuli, mnist_dir=args.mnist_dir)
    if args.images is None:
        return stimuli
    if args.images < 1:
        raise UserError(f"--images {args.images}: expected at least 1")
    index = np.concatenate([
        np.flatnonzero(stimuli.noise == level)[: args.images] for level in NOISE_LEVELS
    ])
    return Stimuli(
        stimuli.images[index], stimuli.noise[index],
        None if stimuli.labels is None else stimuli.labels[index], stimuli.source,
    )


def run(args) -> int:
    instances = _instances(args)
    spec = instances.spec
    config = BehaviourConfig(
        shared_sample=args.sampling == "shared", max_steps=args.max_steps
    )
    thresholds = dict(config.thresholds)
    prepared = noise_lib.prepare_stimuli(
        spec, _stimuli(args), config.noise_seed, args.mnist_dir
    )
    evaluator = Evaluator(instances, prepared, config, args.strategy, progress=True)
    n_inst, n_img = len(instances), len(prepared)

    compile_s = evaluator.compile(NOISE_LEVELS[0])
    start = time.perf_counter()
    results = {c: evaluator.run(c, args.noise) for c in NOISE_LEVELS}
    batched_s = time.perf_counter() - start
    # The loop runs every threshold on its own: its samples are all RTs summed.
    loop_total = sum(int(r.rt.sum()) for r in results.values())
    batched_samples = sum(int(r.rt.max(axis=1).sum()) for r in results.values())

    loop_s, loop_samples, agree, checked = _time_loop(args, evaluator, results)
    per_sample = loop_s / loop_samples
    loop_estimate = per_sample * loop_total
    ratio = loop_estimate / batched_s

    print(
        f"RTNet {spec.preset}: {n_inst} instances x {n_img} images x "
        f"{len(thresholds)} thresholds {thresholds}, sampling {args.sampling}, "
        f"noise {args.noise}, backend {jax.default_backend()} "
        f"(strategy {evaluator.layout.strategy})"
    )
    print(
        f"  batched: {batched_s:.2f} s ({batched_samples:,} image-samples, "
        f"{batched_s / batched_samples * 1e6:.1f} us each; compile "
        f"{compile_s:.1f} s, not counted)"
    )
    print(
        f"  per-image loop: {per_sample * 1e3:.3f} ms per sample, measured on "
        f"{loop_samples:,} samples ({args.loop_instances} instances x "
        f"{2 * args.loop_images} images x each threshold); extrapolated to "
        f"{loop_total:,} samples: {loop_estimate:.1f} s"
    )
    print(f"  decisions agree with the loop on {agree}/{checked} checked trials")
    print(f"  speed-up of the batched evaluation: {ratio:.1f}x")
    return 0 if agree == checked else 1


def _time_loop(args, evaluator: Evaluator, results) -> tuple[float, int, int, int]:
    """Time the per-image loop on a subset; check it against the batched run."""
    cfg, spec = evaluator.config, evaluator.spec
    make_probs = functools.partial(
        acc_lib.sample_probs, spec, restrict=cfg.restrict_to_task_digits
    )
    step = acc_lib.step_probs_fn(make_probs, cfg.shared_sample)
    count = min(args.loop_instances, len(evaluator.instances))
    loop_s, samples, agree, checked = 0.0, 0, 0, 0
    for k in range(count):
        variables = jax.tree.map(lambda a, k=k: jax.numpy.asarray(a[k]),
                                 evaluator.instances.variables)
        key = evaluator.keys[k]
        probs = functools.partial(step, variables)
        for condition in NOISE_LEVELS:
            result = results[condition]
            take = result.positions[: args.loop_images]
            part = evaluator.stimuli.subset(take)
            images = np.asarray(noise_lib.noisy_images(part, {condition: args.noise}))
            jax.block_until_ready(probs(images[0], key, int(part.images[0]), 0))
            for row, name in enumerate(evaluator.conditions):
                threshold = dict(cfg.thresholds)[name]
                start = time.perf_counter()
                out = acc_lib.reference_loop(
                    probs, images, part.images, key, threshold, cfg.max_steps,
                    cfg.shared_sample,
                )
                loop_s += time.perf_counter() - start
                samples += int(out["rt"].sum())
                n = len(take)
                same = (out["rt"] == result.rt[k, row, :n]) & (
                    out["choice"] == result.choice[k, row, :n]
                )
                agree += int(same.sum())
                checked += n
    return loop_s, samples, agree, checked
