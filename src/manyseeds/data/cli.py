"""Command-line entry points of the data stage: `manyseeds data` and `cohort`.

Commands:
  `data check [--mnist-dir D] [--stimuli F]`: what was found, and verified.
  `data link DIR [--stimuli F]`: remember the locations for later runs.
  `cohort synth --subjects 60 --seed 0 --out F`: a synthetic cohort.
  `cohort check FILE [--columns ...]`: validate and summarise a human file.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from manyseeds.data import cohort, humans, mnist, paths, stimuli
from manyseeds.errors import UserError


def register(subparsers) -> None:
    """Add the `data` and `cohort` commands."""
    _register_data(subparsers)
    _register_cohort(subparsers)


def _register_data(subparsers) -> None:
    data = subparsers.add_parser(
        "data", help="find, verify and link MNIST and the stimulus set"
    )
    actions = data.add_subparsers(dest="action", metavar="ACTION")
    data.set_defaults(func=lambda args: _usage(data))

    check = actions.add_parser(
        "check", help="report the MNIST splits and the stimulus set in force"
    )
    _add_mnist_dir(check)
    _add_stimuli(check)
    check.add_argument(
        "--no-verify",
        dest="verify",
        action="store_false",
        help="skip the checksum check of the IDX files",
    )
    check.set_defaults(func=_data_check)

    link = actions.add_parser(
        "link",
        help="verify an IDX folder (and a stimulus file) and save them so that "
        "later runs need no flag",
    )
    link.add_argument("mnist_dir", nargs="?", metavar="DIR", help="MNIST IDX folder")
    link.add_argument(
        "--stimuli", metavar="FILE", help="stimulus file (noise_index.npz) to save"
    )
    link.set_defaults(func=_data_link)


def _register_cohort(subparsers) -> None:
    group = subparsers.add_parser(
        "cohort", help="make or check a human data file (published human.csv schema)"
    )
    actions = group.add_subparsers(dest="action", metavar="ACTION")
    group.set_defaults(func=lambda args: _usage(group))

    synth = actions.add_parser(
        "synth", help="write a SYNTHETIC cohort in the published human.csv schema"
    )
    synth.add_argument("--subjects", type=int, default=cohort.DEFAULT_SUBJECTS)
    synth.add_argument("--seed", type=int, default=0, help="seed of the cohort")
    synth.add_argument(
        "--idiosyncrasy",
        type=float,
        default=1.0,
        help="strength of subject-specific image effects (0 = none)",
    )
    _add_stimuli(synth)
    _add_mnist_dir(synth)
    synth.add_argument("--out", required=True, metavar="FILE", help="CSV to write")
    synth.set_defaults(func=_cohort_synth)

    check = actions.add_parser("check", help="validate and summarise a human file")
    check.add_argument("file", metavar="FILE", help="CSV in the published schema")
    check.add_argument(
        "--columns",
        metavar="MAP",
        help="published=yours column names, e.g. subject=participant,resp_rt=rt_s",
    )
    check.add_argument(
        "--stimuli",
        metavar="FILE",
        help="noise_index.npz to check the images against (default: "
        f"${paths.ENV_STIMULI} or the saved one, if any)",
    )
    check.set_defaults(func=_cohort_check)


def _add_mnist_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--mnist-dir",
        metavar="DIR",
        help=f"folder of the four MNIST IDX .gz files (default: ${paths.ENV_MNIST}, "
        "the linked folder, or tensorflow-datasets)",
    )


def _add_stimuli(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stimuli",
        metavar="FILE",
        help=f"noise_index.npz of the experiment (default: ${paths.ENV_STIMULI}, "
        "the linked file, or a seeded balanced draw)",
    )
    parser.add_argument(
        "--stimuli-seed",
        type=int,
        default=0,
        help="seed of the balanced draw used when there is no stimulus file",
    )


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _data_check(args: argparse.Namespace) -> int:
    # Everything is read and checked first, so a bad folder prints one line.
    found = paths.resolve_mnist(args.mnist_dir)
    where = "tensorflow-datasets" if found.is_tfds else str(found.path)
    lines = [f"MNIST: {where} (from {found.origin})"]
    if found.is_tfds:
        lines.append("  checksums: checked by tensorflow-datasets itself")
    elif args.verify:
        for name, status in mnist.verify_folder(found.path).items():
            lines.append(f"  {name}: {status}")
    else:
        lines.append("  checksums: not checked (--no-verify)")
    for split in mnist.SPLITS:
        data = mnist.load_mnist(split, args.mnist_dir, verify=args.verify)
        counts = np.bincount(data.labels, minlength=10)
        lines.append(
            f"  {split}: {len(data)} images {data.images.shape[1]}x"
            f"{data.images.shape[2]} {data.images.dtype}, first label "
            f"{data.labels[0]}"
        )
        lines.append(
            "    labels: " + " ".join(f"{d}:{c}" for d, c in enumerate(counts))
        )
    lines += _stimuli_lines(args)
    print("\n".join(lines))
    return 0


def _stimuli_lines(args: argparse.Namespace) -> list[str]:
    found = paths.find_stimuli(args.stimuli)
    stim = stimuli.resolve_stimuli(
        args.stimuli, seed=args.stimuli_seed, mnist_dir=args.mnist_dir
    )
    origin = f"from {found.origin}" if found else "no stimulus file: seeded draw"
    lines = [f"stimuli: {stim.source} ({origin})"]
    summary = stim.summary()
    for level in ("easy", "hard"):
        digits = summary.get(f"{level}_per_digit")
        per = " ".join(f"{d}:{c}" for d, c in digits.items()) if digits else "unknown"
        lines.append(f"  {level}: {summary[level]} images; per digit {per}")
    return lines


def _data_link(args: argparse.Namespace) -> int:
    if not args.mnist_dir and not args.stimuli:
        raise UserError("data link: give an MNIST folder DIR, --stimuli FILE, or both")
    values = {}
    if args.mnist_dir:
        folder = Path(args.mnist_dir).expanduser().resolve()
        if not folder.is_dir():
            raise UserError(f"{args.mnist_dir}: no such folder")
        for name, status in mnist.verify_folder(folder).items():
            print(f"  {name}: {status}")
        values[paths.CONFIG_MNIST] = str(folder)
    if args.stimuli:
        path = Path(args.stimuli).expanduser().resolve()
        if not path.is_file():
            raise UserError(f"--stimuli {args.stimuli}: no such file")
        stimuli.load_stimuli_npz(path)
        values[paths.CONFIG_STIMULI] = str(path)
    config = paths.save_config(**values)
    for key, value in values.items():
        print(f"linked {key} = {value} (saved in {config})")
    for env, key in (
        (paths.ENV_MNIST, paths.CONFIG_MNIST),
        (paths.ENV_STIMULI, paths.CONFIG_STIMULI),
    ):
        if key in values and os.environ.get(env):
            print(f"note: ${env} is set and takes precedence over the saved {key}")
    return 0


def _cohort_synth(args: argparse.Namespace) -> int:
    stim = stimuli.resolve_stimuli(
        args.stimuli, seed=args.stimuli_seed, mnist_dir=args.mnist_dir
    )
    frame = cohort.synth_cohort(
        n_subjects=args.subjects,
        seed=args.seed,
        stimuli=stim,
        idiosyncrasy=args.idiosyncrasy,
    )
    path = cohort.write_cohort(frame, args.out)
    table = humans.load_humans(path, stimuli=stim)
    print(f"wrote {path} (and {path.name}.meta.json): SYNTHETIC people")
    print(f"stimuli: {stim.source}")
    print(humans.format_summary(humans.summarise_humans(table)))
    return 0


def _cohort_check(args: argparse.Namespace) -> int:
    columns = humans.parse_columns(args.columns)
    found = paths.find_stimuli(args.stimuli)
    stim = stimuli.load_stimuli_npz(found.path) if found else None
    table = humans.load_humans(args.file, columns=columns, stimuli=stim)
    summary = humans.summarise_humans(table)
    print(humans.format_summary(summary))
    if stim is not None:
        print(f"  every image is in the stimulus set {stim.source} ({found.origin})")
    else:
        own = stimuli.stimuli_from_humans(table)
        print(f"  stimulus set: the file's own {len(own)} images (no stimulus file)")
    print("OK")
    return 0
