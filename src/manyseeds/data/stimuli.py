"""The stimulus set: which MNIST test images people saw, at which noise level.

The human experiment (PROTOCOL.md section 1) showed 480 images of the MNIST
test set: 240 at low noise ("easy") and 240 at high noise ("hard"), 30 of each
digit 1-8 per level. The set comes from one of three places, in this order of
precedence (`resolve_stimuli`):

1. the authors' `noise_index.npz` (keys `low`, `high`: one-based MNIST test
   indices), from `--stimuli`, `MANYSEEDS_STIMULI` or the saved config;
2. the images of a human file (its `mnist_index`, `noise` pairs: the images
   those people saw);
3. an equivalent balanced set drawn by a seeded rule (`draw_stimuli`).

Image indices are one-based throughout, as in the published files: MNIST test
image k is row k - 1 of the test arrays.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from manyseeds.data import mnist, paths
from manyseeds.data.table import NOISE_LEVELS, BehaviourTable
from manyseeds.errors import UserError

log = logging.getLogger(__name__)

# PROTOCOL.md section 1: 240 images per noise level, 30 per digit 1-8.
PER_LEVEL = 240
PER_DIGIT = 30
DIGITS = tuple(range(1, 9))
N_TEST = mnist.SPLIT_SIZES["test"]
# npz key -> noise level of the tidy table.
NPZ_LEVELS = {"low": "easy", "high": "hard"}


@dataclasses.dataclass(frozen=True)
class Stimuli:
    """The images of the experiment and their noise levels.

    Attributes:
      images: `[image]` int64 one-based MNIST test-set indices (480 for the
        published design), easy images first.
      noise: `[image]` "easy" or "hard".
      labels: `[image]` int64 digits, or None when MNIST was not available.
      source: "npz:<path>", "humans:<path>" or "drawn:seed=<k>".
    """

    images: np.ndarray
    noise: np.ndarray
    labels: np.ndarray | None
    source: str

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def with_labels(self, test_labels: np.ndarray) -> Stimuli:
        """A copy with `labels` looked up in the `[10000]` MNIST test labels."""
        labels = np.asarray(test_labels, dtype=np.int64)[self.images - 1]
        return dataclasses.replace(self, labels=labels)

    def as_frame(self) -> pd.DataFrame:
        """One row per image: `image`, `noise`, and `label` when known."""
        frame = pd.DataFrame({"image": self.images, "noise": self.noise})
        if self.labels is not None:
            frame["label"] = self.labels
        return frame

    def summary(self) -> dict:
        """Counts per noise level (and per digit when labels are known)."""
        out: dict = {"source": self.source, "images": len(self)}
        for level in NOISE_LEVELS:
            mask = self.noise == level
            out[level] = int(mask.sum())
            if self.labels is not None:
                digits, counts = np.unique(self.labels[mask], return_counts=True)
                out[f"{level}_per_digit"] = {
                    int(d): int(c) for d, c in zip(digits, counts, strict=True)
                }
        return out


def load_stimuli_npz(path: str | Path) -> Stimuli:
    """Read the authors' `noise_index.npz` and check it.

    Args:
      path: file with integer arrays `low` and `high`, 240 one-based MNIST
        test indices each, disjoint.

    Returns:
      Stimuli without labels (attach them with `with_labels`).

    Raises:
      UserError: unreadable file, missing key, wrong size, type or range, an
        index repeated, or an image at both noise levels.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError) as err:
        raise UserError(f"{path}: not a readable .npz file ({err})") from None
    parts = []
    for key, level in NPZ_LEVELS.items():
        if key not in arrays:
            raise UserError(
                f"{path}: no array {key!r}; expected keys 'low' and 'high' (found "
                f"{', '.join(sorted(arrays)) or 'none'})"
            )
        values = arrays[key]
        if not np.issubdtype(values.dtype, np.integer):
            raise UserError(
                f"{path}: {key!r} has dtype {values.dtype}; expected integer MNIST "
                "test indices"
            )
        if values.shape != (PER_LEVEL,):
            raise UserError(
                f"{path}: {key!r} has shape {values.shape}; expected ({PER_LEVEL},)"
            )
        bad = (values < 1) | (values > N_TEST)
        if bad.any():
            raise UserError(
                f"{path}: {key!r}[{int(np.argmax(bad))}] = {values[bad][0]} is "
                f"outside 1..{N_TEST}; expected one-based MNIST test indices"
            )
        parts.append((values.astype(np.int64), level))
    images = np.concatenate([values for values, _ in parts])
    noise = np.concatenate([np.full(len(values), level) for values, level in parts])
    _check_unique(images, noise, str(path))
    return Stimuli(images=images, noise=noise, labels=None, source=f"npz:{path}")


def stimuli_from_humans(
    table: BehaviourTable, test_labels: np.ndarray | None = None
) -> Stimuli:
    """The stimulus set of a human table: its distinct (image, noise) pairs.

    Args:
      table: human trials (see `manyseeds.data.humans.load_humans`).
      test_labels: `[10000]` MNIST test labels, to attach labels (optional).

    Raises:
      UserError: an image was shown at both noise levels.
    """
    pairs = table.frame[["image", "noise"]].drop_duplicates()
    pairs = pairs.assign(rank=pairs["noise"].map(_noise_rank))
    pairs = pairs.sort_values(["rank", "image"])
    source = f"humans:{table.meta.get('source', table.name)}"
    images = pairs["image"].to_numpy(dtype=np.int64)
    noise = np.asarray(pairs["noise"].astype(str).to_numpy(), dtype=str)
    _check_unique(images, noise, source)
    stimuli = Stimuli(images=images, noise=noise, labels=None, source=source)
    return stimuli if test_labels is None else stimuli.with_labels(test_labels)


def draw_stimuli(
    test_labels: np.ndarray,
    seed: int = 0,
    per_digit: int = PER_DIGIT,
    digits: tuple[int, ...] = DIGITS,
) -> Stimuli:
    """Draw a balanced stimulus set like the experiment's, by a seeded rule.

    For each digit in `digits` (in order), `2 * per_digit` distinct test images
    of that digit are drawn without replacement with
    `numpy.random.default_rng(seed)`; the first half are easy, the second
    hard. Within a level the images are sorted by index. The same seed gives
    the same set (PROTOCOL.md section 1: 30 per digit 1-8 per noise level,
    disjoint low/high).

    Args:
      test_labels: `[10000]` labels of the MNIST test set.
      seed: the draw's seed.
      per_digit: images per digit per noise level.
      digits: the task's digits.

    Returns:
      Stimuli with labels, source "drawn:seed=<seed>".
    """
    test_labels = np.asarray(test_labels, dtype=np.int64)
    rng = np.random.default_rng(seed)
    easy, hard = [], []
    for digit in digits:
        pool = np.flatnonzero(test_labels == digit) + 1
        if len(pool) < 2 * per_digit:
            raise UserError(
                f"only {len(pool)} test images of digit {digit}; cannot draw "
                f"{2 * per_digit}"
            )
        chosen = rng.choice(pool, size=2 * per_digit, replace=False)
        easy.append(chosen[:per_digit])
        hard.append(chosen[per_digit:])
    easy_images = np.sort(np.concatenate(easy))
    hard_images = np.sort(np.concatenate(hard))
    images = np.concatenate([easy_images, hard_images]).astype(np.int64)
    noise = np.array(["easy"] * len(easy_images) + ["hard"] * len(hard_images))
    return Stimuli(
        images=images,
        noise=noise,
        labels=test_labels[images - 1],
        source=f"drawn:seed={seed}",
    )


def resolve_stimuli(
    flag: str | Path | None = None,
    humans: BehaviourTable | str | Path | None = None,
    seed: int = 0,
    mnist_dir: str | Path | None = None,
) -> Stimuli:
    """The stimulus set in force: npz file > a human file's images > a draw.

    Args:
      flag: the `--stimuli` path; without it `MANYSEEDS_STIMULI` and the saved
        config are tried (see `manyseeds.data.paths`).
      humans: a human table (or the path of a human CSV) whose images to use
        when no npz file is configured.
      seed: seed of the balanced draw, used when neither is available.
      mnist_dir: MNIST folder, for labels (and required for the draw).

    Returns:
      The stimuli, with labels whenever MNIST can be found.
    """
    found = paths.find_stimuli(flag)
    if found is not None:
        stimuli = load_stimuli_npz(found.path)
    elif humans is not None:
        if not isinstance(humans, BehaviourTable):
            from manyseeds.data.humans import load_humans

            humans = load_humans(humans)
        stimuli = stimuli_from_humans(humans)
    else:
        stimuli = draw_stimuli(mnist.load_labels("test", mnist_dir), seed=seed)
    if stimuli.labels is None:
        if mnist_dir is not None or paths.find_mnist() is not None:
            stimuli = stimuli.with_labels(mnist.load_labels("test", mnist_dir))
        else:
            log.info("no MNIST configured: the stimulus set has no labels")
    log.info("stimuli: %d images from %s", len(stimuli), stimuli.source)
    return stimuli


def _noise_rank(level: str) -> int:
    return NOISE_LEVELS.index(level) if level in NOISE_LEVELS else len(NOISE_LEVELS)


def _check_unique(images: np.ndarray, noise: np.ndarray, source: str) -> None:
    """Refuse an image listed twice (within a level or at both levels)."""
    values, counts = np.unique(images, return_counts=True)
    if (counts > 1).any():
        image = int(values[counts > 1][0])
        levels = sorted({str(level) for level in noise[images == image]})
        where = "at both noise levels" if len(levels) > 1 else f"twice in {levels[0]!r}"
        raise UserError(
            f"{source}: image {image} is listed {where}; expected each stimulus "
            "image once, at one noise level"
        )
