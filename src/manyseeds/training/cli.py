"""`manyseeds train`: train many instances of one architecture at once."""

from __future__ import annotations

import argparse
import logging

from manyseeds.config import ARCHS, PRESETS, STRATEGIES
from manyseeds.errors import UserError

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="train N seeds of one architecture in one process",
        description="Train N instances of one architecture, stacked on a seed "
        "axis and sharded over all devices. Defaults come from the preset "
        "(PROTOCOL.md section 2 for `paper`).",
    )
    p.add_argument("--arch", choices=ARCHS, required=True)
    p.add_argument("--preset", choices=PRESETS, default="quick")
    p.add_argument("--seeds", type=_positive, help="number of instances")
    p.add_argument("--out", required=True, help="run folder")
    p.add_argument("--resume", action="store_true", help="continue an unfinished run")
    p.add_argument("--mnist-dir", help="MNIST IDX folder (or MANYSEEDS_MNIST_DIR)")
    g = p.add_argument_group("training (default: the preset's)")
    g.add_argument("--epochs", type=_positive)
    g.add_argument("--batch-size", type=_positive)
    g.add_argument("--lr", type=float, dest="learning_rate")
    g.add_argument("--weight-decay", type=float, help="L2 inside Adam (authors: 1e-3)")
    g.add_argument(
        "--plateau", action="store_true", dest="plateau_halving",
        help="halve the learning rate on a validation-loss plateau (authors)",
    )
    g.add_argument("--plateau-patience", type=_positive)
    g.add_argument("--train-subset", type=_positive, help="train on N images")
    g.add_argument("--val-subset", type=_positive, help="validate on N test images")
    s = p.add_argument_group("seeds and devices")
    s.add_argument("--seed-offset", type=int, help="first instance seed")
    s.add_argument(
        "--init", choices=("default", "torch", "torchvision"),
        help="weight initialiser (default: the preset's)",
    )
    s.add_argument("--init-seed", type=int, help="freeze the init stream")
    s.add_argument("--data-seed", type=int, help="freeze the data-order stream")
    s.add_argument("--noise-seed", type=int, help="freeze the dropout/sample stream")
    s.add_argument("--strategy", choices=STRATEGIES, help="seed batching")
    s.add_argument("--chunk-size", type=_positive, help="seeds per vmapped chunk")
    s.add_argument(
        "--checkpoint-every", type=_positive, help="also checkpoint every N steps"
    )
    s.add_argument("--no-progress", action="store_true", help="no progress bar")
    d = p.add_argument_group("several hosts (jax.distributed)")
    d.add_argument(
        "--distributed", action="store_true",
        help="join the other hosts with jax.distributed.initialize() "
        "(auto-detected on Cloud TPU and SLURM)",
    )
    d.add_argument("--coordinator", help="host:port of process 0")
    d.add_argument("--num-processes", type=_positive)
    d.add_argument("--process-id", type=int)
    p.set_defaults(func=run)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


_OVERRIDES = (
    "seeds", "epochs", "batch_size", "learning_rate", "weight_decay",
    "plateau_patience", "train_subset", "val_subset", "seed_offset", "init_seed",
    "data_seed", "noise_seed", "strategy", "chunk_size", "init",
)


def init_distributed(args) -> None:
    """Join the other processes before JAX touches a device."""
    import jax

    # CPU collectives between processes (a no-op on GPU/TPU). Set before the
    # backend starts: asking for the backend here would start it too early.
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    kwargs = {}
    if args.coordinator:
        kwargs = {
            "coordinator_address": args.coordinator,
            "num_processes": args.num_processes,
            "process_id": args.process_id,
        }
    jax.distributed.initialize(**kwargs)
    log.info(
        "process %d of %d, %d local / %d global devices", jax.process_index(),
        jax.process_count(), jax.local_device_count(), jax.device_count(),
    )


def run(args) -> int:
    if args.distributed or args.coordinator:
        init_distributed(args)
    from manyseeds.config import train_config
    from manyseeds.training.trainer import train

    overrides = {
        k: getattr(args, k) for k in _OVERRIDES if getattr(args, k) is not None
    }
    if args.plateau_halving:
        overrides["plateau_halving"] = True
    if overrides.get("learning_rate", 1.0) <= 0:
        raise UserError("--lr must be positive")
    config = train_config(args.arch, args.preset, **overrides)
    train(
        config, args.out, mnist_dir=args.mnist_dir, resume=args.resume,
        checkpoint_every=args.checkpoint_every, progress=not args.no_progress,
    )
    return 0
