"""Human trials: read and check a file in the authors' `human.csv` schema.

The published file (Rafiei, Shekhar & Rahnev 2024; PROTOCOL.md section 1) has
one row per trial and the columns

    subject, mnist_index, sat, noise, repeat, response, correct, resp_rt,
    confidence

with `sat` "accuracy focus" / "speed focus" (the instruction condition),
`noise` "easy" / "hard", `mnist_index` a one-based MNIST test index, `correct`
0/1, `resp_rt` in seconds and `confidence` a rating 1-4. `load_humans` turns it
into the tidy `BehaviourTable` (`subject`, `image`, `noise`, `condition`,
`repeat`, `response`, `correct`, `confidence`, `rt`) that the rest of the
package reads. Other data sets can name the columns differently: pass
`columns={"subject": "participant", ...}` (published name -> name in the file),
or `--columns subject=participant,...` on the command line.

Every problem is refused with a `UserError` of one line that names the file,
the row and the column and says what is expected. Rows are counted as a
spreadsheet user sees them: "data row 1" is the first row after the header,
which is line 2 of the file; messages give both.

What counts as a trial: a row with any value besides `subject`. A row with
only `subject` filled in (a subject listed without data, as a spreadsheet
export of an excluded person may leave) is not a trial; such rows are dropped,
and a subject that has nothing but such rows ("a subject with no trials") is
refused, because it would enter every analysis as a person without data.
Entirely empty rows are skipped. Empty or NaN `resp_rt` is allowed (counted in
the summary); every other value must be present. How the two showings of an
image are split between the instruction conditions is not assumed: any split
is accepted.
"""

from __future__ import annotations

import difflib
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from manyseeds.data.stimuli import N_TEST, Stimuli
from manyseeds.data.table import BehaviourTable, meta_path
from manyseeds.errors import UserError

log = logging.getLogger(__name__)

PUBLISHED_COLUMNS = (
    "subject",
    "mnist_index",
    "sat",
    "noise",
    "repeat",
    "response",
    "correct",
    "resp_rt",
    "confidence",
)
# Optional extra column: 1 on every row of a synthetic cohort.
SYNTHETIC_COLUMN = "synthetic"
# Published `sat` values -> tidy condition (accepted in any letter case; the
# tidy names themselves are accepted too).
SAT_VALUES = {
    "accuracy focus": "accuracy",
    "speed focus": "speed",
    "accuracy": "accuracy",
    "speed": "speed",
}
NOISE_VALUES = {"easy": "easy", "hard": "hard"}
# A trial is identified by these published columns.
TRIAL_KEY = ("subject", "mnist_index", "sat", "noise", "repeat")
# Cell values read as "no value".
MISSING = frozenset({"", "nan", "na", "n/a", "null", "none"})
CONFIDENCE_LEVELS = (1, 2, 3, 4)

_INTEGER = ("subject", "mnist_index", "repeat", "response", "correct", "confidence")
_EXPECTED = {
    "subject": "an integer subject number",
    "mnist_index": f"a one-based MNIST test index 1-{N_TEST}",
    "sat": "'accuracy focus' or 'speed focus'",
    "noise": "'easy' or 'hard'",
    "repeat": "a whole number >= 0 (which showing of the image)",
    "response": "the chosen digit, 0-9",
    "correct": "0 or 1",
    "resp_rt": "a response time in seconds >= 0 (empty or NaN when missing)",
    "confidence": "a confidence rating 1, 2, 3 or 4",
}
# Inclusive numeric ranges; None: unbounded.
_RANGES = {
    "subject": (None, None),
    "mnist_index": (1, N_TEST),
    "repeat": (0, None),
    "response": (0, 9),
    "correct": (0, 1),
    "resp_rt": (0, None),
    "confidence": (1, 4),
}
_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def parse_columns(spec: str | None) -> dict[str, str]:
    """Parse `--columns subject=participant,resp_rt=rt_s` into a mapping.

    Returns:
      published column name -> column name in the user's file.
    """
    if not spec:
        return {}
    mapping = {}
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        published, sep, theirs = (part.strip() for part in item.partition("="))
        if not sep or not published or not theirs:
            raise UserError(
                f"--columns: {item!r} is not PUBLISHED=YOURS (for example "
                "subject=participant)"
            )
        mapping[published] = theirs
    _check_mapping(mapping)
    return mapping


def load_humans(
    path: str | Path,
    columns: dict[str, str] | None = None,
    stimuli: Stimuli | None = None,
    name: str = "humans",
) -> BehaviourTable:
    """Read and check a human data file in the published schema.

    Args:
      path: CSV (or tab-separated `.tsv`) with the published columns (see the
        module docstring); extra columns are ignored except `synthetic`.
      columns: published name -> name in this file, for other data sets.
      stimuli: when given, every `mnist_index` must be one of its images, at
        its noise level.
      name: the table's name in outputs.

    Returns:
      The tidy table; `meta` holds kind "human", `name`, `synthetic` (from a
      `synthetic` column or the `<file>.meta.json` sidecar), `source`.

    Raises:
      UserError: one line naming file, row and column, for each kind of
        problem listed in the module docstring.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such human data file")
    sep = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    try:
        raw = pd.read_csv(
            path, sep=sep, dtype=str, keep_default_na=False, skip_blank_lines=False
        )
    except pd.errors.EmptyDataError:
        raise UserError(
            f"{path}: empty file; expected a header with the columns "
            f"{', '.join(PUBLISHED_COLUMNS)}"
        ) from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
        message = " ".join(str(err).split())
        raise UserError(f"{path}: cannot be read as CSV ({message})") from None
    sidecar = _read_sidecar(path)
    return _build(raw.fillna(""), str(path), columns, stimuli, name, sidecar)


def humans_from_frame(
    frame: pd.DataFrame,
    source: str = "<frame>",
    columns: dict[str, str] | None = None,
    stimuli: Stimuli | None = None,
    name: str = "humans",
) -> BehaviourTable:
    """Check an in-memory frame in the published schema (e.g. `synth_cohort`).

    Same rules and result as `load_humans`; `source` stands for the file name
    in messages and `meta`.
    """
    raw = frame.astype(str)
    return _build(raw, source, columns, stimuli, name, sidecar={})


def summarise_humans(table: BehaviourTable) -> dict[str, Any]:
    """What a human table holds, for `manyseeds cohort check` and reports.

    Returns:
      A dict with `name`, `source`, `synthetic`, `trials`, `subjects`,
      `images`, `trials_per_subject` and `accuracy_per_subject` (min, median,
      max), `by_noise` and `by_condition` (accuracy, mean confidence, median
      RT), `confidence_histogram` (rating -> trials), `rt_quantiles`
      (seconds) and `rt_nan` (trials without an RT).
    """
    frame = table.frame
    per_subject = frame.groupby("subject")
    trials = per_subject.size()
    accuracy = per_subject["correct"].mean()
    confidence = frame["confidence"].value_counts()
    rts = frame["rt"].dropna()
    return {
        "name": table.name,
        "source": str(table.meta.get("source", "")),
        "synthetic": table.synthetic,
        "trials": int(len(frame)),
        "subjects": int(trials.shape[0]),
        "images": int(frame["image"].nunique()),
        "trials_per_subject": _spread(trials),
        "accuracy_per_subject": _spread(accuracy),
        "by_noise": _by(frame, "noise"),
        "by_condition": _by(frame, "condition"),
        "confidence_histogram": {
            level: int(confidence.get(float(level), 0)) for level in CONFIDENCE_LEVELS
        },
        "rt_quantiles": {
            f"{q:.0%}": float(rts.quantile(q)) if len(rts) else float("nan")
            for q in _QUANTILES
        },
        "rt_nan": int(frame["rt"].isna().sum()),
    }


def format_summary(summary: dict[str, Any]) -> str:
    """The summary as a few lines of text."""
    tps, acc = summary["trials_per_subject"], summary["accuracy_per_subject"]
    kind = "SYNTHETIC cohort" if summary["synthetic"] else "human data"
    lines = [
        f"{summary['source']}: {kind}",
        f"  {summary['subjects']} subjects, {summary['trials']} trials, "
        f"{summary['images']} images",
        f"  trials per subject: min {tps['min']:.0f}, median {tps['median']:.0f}, "
        f"max {tps['max']:.0f}",
        f"  accuracy per subject: min {acc['min']:.3f}, median {acc['median']:.3f}, "
        f"max {acc['max']:.3f}",
    ]
    for key in ("by_noise", "by_condition"):
        for level, stats in summary[key].items():
            lines.append(
                f"  {level}: accuracy {stats['accuracy']:.3f}, confidence "
                f"{stats['confidence']:.2f}, median RT {stats['median_rt']:.3f} s"
            )
    hist = summary["confidence_histogram"]
    lines.append("  confidence: " + ", ".join(f"{k}: {v}" for k, v in hist.items()))
    quantiles = summary["rt_quantiles"]
    lines.append(
        "  RT quantiles (s): " + ", ".join(f"{k} {v:.3f}" for k, v in quantiles.items())
    )
    lines.append(f"  trials without RT (NaN): {summary['rt_nan']}")
    return "\n".join(lines)


def _spread(values: pd.Series) -> dict[str, float]:
    return {
        "min": float(values.min()),
        "median": float(values.median()),
        "max": float(values.max()),
    }


def _by(frame: pd.DataFrame, column: str) -> dict[str, dict[str, float]]:
    out = {}
    for level, group in frame.groupby(column, sort=True):
        out[str(level)] = {
            "accuracy": float(group["correct"].mean()),
            "confidence": float(group["confidence"].mean()),
            "median_rt": float(group["rt"].median()),
        }
    return out


def _check_mapping(mapping: dict[str, str]) -> None:
    known = (*PUBLISHED_COLUMNS, SYNTHETIC_COLUMN)
    for published in mapping:
        if published not in known:
            close = difflib.get_close_matches(published, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UserError(
                f"--columns: {published!r} is not a published column{hint}; "
                f"expected one of {', '.join(known)}"
            )


def _read_sidecar(path: Path) -> dict[str, Any]:
    sidecar = meta_path(path)
    if not sidecar.is_file():
        return {}
    try:
        values = json.loads(sidecar.read_text())
    except (OSError, ValueError) as err:
        raise UserError(f"{sidecar}: not a readable JSON sidecar ({err})") from None
    return values if isinstance(values, dict) else {}


class _Checker:
    """Validates the raw string cells of one file, column by column."""

    def __init__(self, raw: pd.DataFrame, source: str, mapping: dict[str, str]):
        self.source = source
        self.mapping = mapping
        self.cells = {
            c: raw[mapping.get(c, c)].astype(str).str.strip() for c in PUBLISHED_COLUMNS
        }
        # 1-based data rows (row 1 is the first row after the header).
        self.rows = np.arange(1, len(raw) + 1)

    def label(self, column: str) -> str:
        theirs = self.mapping.get(column, column)
        return f"{theirs!r}" if theirs == column else f"{theirs!r} ({column})"

    def error(self, bad: np.ndarray, column: str, problem: str) -> UserError:
        """One line naming the first bad row and column; `bad` is a mask."""
        rows = self.rows[bad]
        first = int(rows[0])
        more = f" (and {len(rows) - 1} more rows)" if len(rows) > 1 else ""
        return UserError(
            f"{self.source}: data row {first} (line {first + 1} of the file, header "
            f"= line 1), column {self.label(column)}: {problem}; expected "
            f"{_EXPECTED[column]}{more}"
        )

    def value(self, bad: np.ndarray, column: str) -> str:
        return self.cells[column].to_numpy()[bad][0]

    def keep(self, mask: np.ndarray) -> None:
        self.cells = {c: v[mask] for c, v in self.cells.items()}
        self.rows = self.rows[mask]

    def missing(self, column: str) -> np.ndarray:
        return self.cells[column].str.lower().isin(MISSING).to_numpy()

    def numbers(self, column: str) -> np.ndarray:
        """Parse a numeric column; refuses missing (except RT) and non-numbers."""
        missing = self.missing(column)
        if column != "resp_rt" and missing.any():
            raise self.error(missing, column, "missing value")
        text = self.cells[column].where(~missing)
        values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
        bad = ~missing & ~np.isfinite(values)
        if bad.any():
            raise self.error(
                bad, column, f"value {self.value(bad, column)!r} is not a number"
            )
        if column in _INTEGER:
            bad = values != np.round(values)
            if bad.any():
                value = self.value(bad, column)
                raise self.error(bad, column, f"value {value!r} is not a whole number")
        low, high = _RANGES[column]
        bad = np.zeros(len(values), dtype=bool)
        if low is not None:
            bad |= values < low
        if high is not None:
            bad |= values > high
        if bad.any():
            what = "negative" if column == "resp_rt" else f"outside {low}-{high}"
            raise self.error(
                bad, column, f"value {self.value(bad, column)!r} is {what}"
            )
        return values

    def category(self, column: str, allowed: dict[str, str]) -> np.ndarray:
        lowered = self.cells[column].str.lower()
        bad = ~lowered.isin(list(allowed)).to_numpy()
        if bad.any():
            raise self.error(bad, column, f"unknown value {self.value(bad, column)!r}")
        return lowered.map(allowed).to_numpy(dtype=object)


def _build(
    raw: pd.DataFrame,
    source: str,
    columns: dict[str, str] | None,
    stimuli: Stimuli | None,
    name: str,
    sidecar: dict[str, Any],
) -> BehaviourTable:
    """Validate the raw string cells and assemble the tidy table."""
    mapping = dict(columns or {})
    _check_mapping(mapping)
    raw = raw.rename(columns=lambda c: str(c).strip())
    _check_header(raw, source, mapping)
    check = _Checker(raw, source, mapping)
    _drop_empty_rows(check)

    subject = check.numbers("subject")
    image = check.numbers("mnist_index")
    condition = check.category("sat", SAT_VALUES)
    noise = check.category("noise", NOISE_VALUES)
    repeat = check.numbers("repeat")
    response = check.numbers("response")
    correct = check.numbers("correct")
    rt = check.numbers("resp_rt")
    confidence = check.numbers("confidence")

    if stimuli is not None:
        _check_stimuli(check, image, noise, stimuli)
        _warn_label_mismatch(check, image, response, correct, stimuli)
    frame = pd.DataFrame(
        {
            "subject": subject.astype(np.int64),
            "image": image.astype(np.int64),
            "noise": noise.astype(str),
            "condition": condition.astype(str),
            "repeat": repeat.astype(np.int64),
            "response": response,
            "correct": correct,
            "confidence": confidence,
            "rt": rt,
        }
    )
    _check_duplicates(check, frame)

    synthetic = bool(sidecar.get("synthetic", False))
    synthetic_column = mapping.get(SYNTHETIC_COLUMN, SYNTHETIC_COLUMN)
    if synthetic_column in raw.columns:
        flags = raw[synthetic_column].astype(str).str.strip().str.lower()
        synthetic = synthetic or bool(flags.isin(["1", "1.0", "true", "yes"]).any())
    meta = {k: v for k, v in sidecar.items() if k not in ("source", "name", "kind")}
    meta.update(kind="human", name=name, synthetic=synthetic, source=source)
    if mapping:
        meta["columns"] = mapping
    if synthetic:
        log.warning("%s is a SYNTHETIC cohort, not real people", source)
    n_rt = int(np.isnan(rt).sum())
    if n_rt:
        log.info("%s: %d trials without an RT (NaN), kept", source, n_rt)
    return BehaviourTable(frame=frame, meta=meta)


def _check_header(raw: pd.DataFrame, source: str, mapping: dict[str, str]) -> None:
    present = [str(c) for c in raw.columns]
    for column in PUBLISHED_COLUMNS:
        theirs = mapping.get(column, column)
        if theirs in present:
            continue
        close = difflib.get_close_matches(theirs, present, n=1, cutoff=0.6)
        hint = f"closest: {close[0]!r}" if close else "no similar name"
        if theirs == column:
            expected = f"the published column {column!r}, or --columns {column}=NAME"
        else:
            expected = f"the column that --columns maps to {column!r}"
        raise UserError(
            f"{source}: header (line 1): no column {theirs!r} ({hint}); expected "
            f"{expected}"
        )


def _drop_empty_rows(check: _Checker) -> None:
    """Skip blank rows; drop subject-only rows; refuse subjects without trials."""
    empty = {c: check.missing(c) for c in PUBLISHED_COLUMNS}
    no_trial = np.logical_and.reduce([empty[c] for c in PUBLISHED_COLUMNS[1:]])
    placeholder = no_trial & ~empty["subject"]
    if placeholder.any():
        listed = check.cells["subject"].to_numpy()
        with_trials = set(listed[~no_trial])
        orphan = placeholder & ~np.isin(listed, list(with_trials))
        if orphan.any():
            subject = check.value(orphan, "subject")
            rows = check.rows[orphan]
            raise UserError(
                f"{check.source}: data row {rows[0]} (line {rows[0] + 1} of the file, "
                f"header = line 1), column {check.label('subject')}: subject "
                f"{subject} has no trials (only the subject is filled in); expected "
                "at least one trial per subject, or remove its rows"
            )
        log.info(
            "%s: dropped %d rows that list a subject without a trial",
            check.source,
            int(placeholder.sum()),
        )
    check.keep(~no_trial)
    if len(check.rows) == 0:
        raise UserError(f"{check.source}: no trials (only a header or empty rows)")


def _check_stimuli(
    check: _Checker, image: np.ndarray, noise: np.ndarray, stimuli: Stimuli
) -> None:
    known = dict(zip(stimuli.images.tolist(), stimuli.noise.tolist(), strict=True))
    images = image.astype(np.int64)
    outside = ~np.isin(images, stimuli.images)
    if outside.any():
        raise check.error(
            outside,
            "mnist_index",
            f"image {images[outside][0]} is not in the stimulus set "
            f"({stimuli.source}, {len(stimuli)} images)",
        )
    expected = np.array([known[i] for i in images.tolist()], dtype=object)
    wrong = expected != noise
    if wrong.any():
        first = int(np.argmax(wrong))
        raise check.error(
            wrong,
            "noise",
            f"image {images[first]} is {noise[first]!r} here but "
            f"{expected[first]!r} in the stimulus set ({stimuli.source})",
        )


def _warn_label_mismatch(
    check: _Checker,
    image: np.ndarray,
    response: np.ndarray,
    correct: np.ndarray,
    stimuli: Stimuli,
) -> None:
    """Warn when `correct` disagrees with response == the image's MNIST label.

    Not refused: the file is the record of what happened, but a mismatch
    usually means the image indices are shifted (zero- vs one-based) or
    mapped to the wrong column.
    """
    if stimuli.labels is None:
        return
    label_of = dict(zip(stimuli.images.tolist(), stimuli.labels.tolist(), strict=True))
    labels = pd.Series(image.astype(np.int64)).map(label_of).to_numpy(np.float64)
    disagree = (correct == 1) != (response == labels)
    if disagree.any():
        log.warning(
            "%s: %d trials where 'correct' disagrees with the response and the "
            "image's MNIST label (first: data row %d); are the image indices "
            "one-based MNIST test indices?",
            check.source,
            int(disagree.sum()),
            int(check.rows[disagree][0]),
        )


def _check_duplicates(check: _Checker, frame: pd.DataFrame) -> None:
    key = ["subject", "image", "condition", "noise", "repeat"]
    dup = frame.duplicated(subset=key, keep=False).to_numpy()
    if not dup.any():
        return
    later = frame.duplicated(subset=key, keep="first").to_numpy()
    second = int(np.argmax(later))
    same = (frame[key] == frame.iloc[second][key]).all(axis=1).to_numpy()
    first = int(np.argmax(same))
    rows = check.rows
    trial = frame.iloc[second]
    raise UserError(
        f"{check.source}: data rows {rows[first]} and {rows[second]} (lines "
        f"{rows[first] + 1} and {rows[second] + 1} of the file, header = line 1), "
        f"columns {', '.join(check.mapping.get(c, c) for c in TRIAL_KEY)}: the trial "
        f"(subject {trial['subject']}, image {trial['image']}, "
        f"{check.cells['sat'].iloc[second]!r}, {trial['noise']!r}, repeat "
        f"{trial['repeat']}) appears twice; expected each trial once"
    )
