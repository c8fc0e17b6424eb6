"""`manyseeds models`: the size of every architecture under every preset.

    manyseeds models                       # all architectures and presets
    manyseeds models --arch rtnet --preset paper

Sizes come from tracing (`jax.eval_shape`), so even the 117-million-parameter
RTNet is listed in about a second without allocating its weights.
"""

from __future__ import annotations

import argparse

from manyseeds.config import train_config
from manyseeds.models.initializers import INITS
from manyseeds.models.presets import MODEL_PRESETS
from manyseeds.models.registry import ARCHS, get_model

_HEADER = ("arch", "preset", "parameters", "input", "MFLOPs/image",
           "train MiB/seed", "batch")


def register(subparsers) -> None:
    """Add `manyseeds models`."""
    parser = subparsers.add_parser(
        "models",
        help="list the architectures: parameters, input, FLOPs, memory",
        description=(
            "Print, per architecture and preset, the parameter count, the input "
            "shape, the forward FLOPs per image (2 per multiply-add of the "
            "convolution and dense layers) and an estimate of the memory that "
            "training one seed needs at the preset's batch size."
        ),
    )
    parser.add_argument("--arch", choices=ARCHS, help="one architecture (default: all)")
    parser.add_argument(
        "--preset", choices=("smoke", "quick", "paper"),
        help="one preset (default: all)",
    )
    parser.add_argument("--init", choices=INITS, default="default",
                        help="weight initialiser (does not change the sizes)")
    parser.set_defaults(func=run)


def rows(archs: tuple[str, ...], presets: tuple[str, ...], init: str = "default"
         ) -> list[tuple[str, ...]]:
    """One table row of strings per (arch, preset)."""
    table = []
    for arch in archs:
        for preset in presets:
            spec = get_model(arch, preset, init=init)
            batch = train_config(arch, preset).batch_size
            size = spec.input_size
            table.append((
                arch,
                preset,
                f"{spec.describe()['param_count']:,}",
                f"{size}x{size}x1",
                f"{spec.flops_per_image() / 1e6:,.2f}",
                f"{spec.train_memory_bytes(batch) / 2**20:,.1f}",
                str(batch),
            ))
    return table


def format_table(table: list[tuple[str, ...]]) -> str:
    """Left-aligned text columns, numbers right-aligned."""
    lines = [_HEADER, *table]
    widths = [max(len(row[i]) for row in lines) for i in range(len(_HEADER))]

    def fmt(row):
        cells = [
            cell.ljust(w) if i < 2 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    return "\n".join(fmt(row) for row in lines)


def run(args: argparse.Namespace) -> int:
    archs = (args.arch,) if args.arch else ARCHS
    presets = (args.preset,) if args.preset else tuple(MODEL_PRESETS[archs[0]])
    print(format_table(rows(archs, presets, args.init)))
    return 0
