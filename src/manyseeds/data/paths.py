"""Where the data lives: MNIST and the stimulus file, found without guessing.

Nothing here reads the data itself; it only decides which folder or file to
use and says how it was found, so that every command can report it.

MNIST is looked for, in this order:

1. a flag (`--mnist-dir DIR`, or the `mnist_dir` argument of a function);
2. the environment variable `MANYSEEDS_MNIST_DIR`;
3. the folder saved by `manyseeds data link DIR` in the user config file
   (`MANYSEEDS_CONFIG`, else `~/.config/manyseeds/config.json`);
4. tensorflow-datasets, when it is installed (the optional `tfds` extra).

The stimulus file (`noise_index.npz`) is looked for in the same way (flag
`--stimuli`, `MANYSEEDS_STIMULI`, the saved config) but has no fourth source:
without it the stimulus set comes from a human file or a seeded draw (see
`manyseeds.data.stimuli`).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from manyseeds.errors import UserError

log = logging.getLogger(__name__)

ENV_MNIST = "MANYSEEDS_MNIST_DIR"
ENV_STIMULI = "MANYSEEDS_STIMULI"
ENV_CONFIG = "MANYSEEDS_CONFIG"
# Keys of the user config file.
CONFIG_MNIST = "mnist_dir"
CONFIG_STIMULI = "stimuli"


@dataclasses.dataclass(frozen=True)
class Found:
    """A data location and how it was found.

    Attributes:
      path: the folder or file; None when the source is tensorflow-datasets.
      origin: how it was chosen, in words a user can act on (for example
        "--mnist-dir", "$MANYSEEDS_MNIST_DIR", "manyseeds data link, saved in
        <config file>").
    """

    path: Path | None
    origin: str

    @property
    def is_tfds(self) -> bool:
        return self.path is None


def config_file() -> Path:
    """The user config file: `$MANYSEEDS_CONFIG`, else ~/.config/manyseeds."""
    value = os.environ.get(ENV_CONFIG)
    if value:
        return Path(value).expanduser()
    return Path.home() / ".config" / "manyseeds" / "config.json"


def read_config() -> dict[str, Any]:
    """The saved settings; empty when there is no config file yet."""
    path = config_file()
    if not path.is_file():
        return {}
    try:
        values = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise UserError(
            f"{path}: the manyseeds config file cannot be read ({err}); fix or "
            "delete it"
        ) from None
    if not isinstance(values, dict):
        raise UserError(f"{path}: expected a JSON object in the manyseeds config file")
    return values


def save_config(**values: str) -> Path:
    """Merge `values` into the user config file and return its path."""
    path = config_file()
    merged = read_config()
    merged.update(values)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(merged, indent=2) + "\n")
    except OSError as err:
        raise UserError(
            f"{path}: cannot write the manyseeds config file ({err}); set "
            f"{ENV_CONFIG} to a writable path"
        ) from None
    log.info("saved %s to %s", ", ".join(sorted(values)), path)
    return path


def tfds_available() -> bool:
    """Whether tensorflow-datasets can be imported (checked without importing)."""
    if "tensorflow_datasets" in sys.modules:
        return True
    return importlib.util.find_spec("tensorflow_datasets") is not None


def find_mnist(flag: str | Path | None = None, tfds: bool = True) -> Found | None:
    """The MNIST source by the precedence in the module docstring, or None.

    Args:
      flag: a folder given explicitly (the `--mnist-dir` flag).
      tfds: fall back to tensorflow-datasets when it is installed.

    Returns:
      The folder and its origin, `Found(None, "tensorflow-datasets")`, or None
      when nothing is configured.

    Raises:
      UserError: a configured folder does not exist.
    """
    found = _find("--mnist-dir", flag, ENV_MNIST, CONFIG_MNIST, want_dir=True)
    if found is not None:
        return found
    if tfds and tfds_available():
        return Found(None, "tensorflow-datasets (no IDX folder configured)")
    return None


def resolve_mnist(flag: str | Path | None = None, tfds: bool = True) -> Found:
    """Like `find_mnist`, but a UserError says what to set when nothing is found."""
    found = find_mnist(flag, tfds=tfds)
    if found is None:
        raise UserError(
            "MNIST not found: pass --mnist-dir DIR (a folder with the four IDX .gz "
            f"files), set {ENV_MNIST}, run `manyseeds data link DIR` once, or "
            "install the tfds extra (pip install 'manyseeds[tfds]')"
        )
    return found


def find_stimuli(flag: str | Path | None = None) -> Found | None:
    """The stimulus `.npz` file by flag, environment, saved config; else None.

    Raises:
      UserError: a configured file does not exist.
    """
    return _find("--stimuli", flag, ENV_STIMULI, CONFIG_STIMULI, want_dir=False)


def resolve_stimuli_file(flag: str | Path | None = None) -> Found:
    """Like `find_stimuli`, but a UserError says what to set when none is found."""
    found = find_stimuli(flag)
    if found is None:
        raise UserError(
            "stimulus file not found: pass --stimuli FILE (noise_index.npz), set "
            f"{ENV_STIMULI}, or run `manyseeds data link --stimuli FILE` once"
        )
    return found


def _find(
    flag_name: str,
    flag: str | Path | None,
    env: str,
    key: str,
    want_dir: bool,
) -> Found | None:
    """Apply flag > environment > saved config for one location."""
    what = "folder" if want_dir else "file"
    if flag is not None and str(flag) != "":
        return Found(_existing(Path(flag), want_dir, f"{flag_name} {flag}"), flag_name)
    value = os.environ.get(env)
    if value:
        path = _existing(Path(value), want_dir, f"${env}={value}")
        return Found(path, f"${env}")
    saved = read_config().get(key)
    if saved:
        path = Path(saved).expanduser()
        if not (path.is_dir() if want_dir else path.is_file()):
            raise UserError(
                f"{path}: the {what} saved in {config_file()} by `manyseeds data "
                f"link` no longer exists; link it again or pass {flag_name}"
            )
        return Found(path, f"manyseeds data link, saved in {config_file()}")
    return None


def _existing(path: Path, want_dir: bool, said: str) -> Path:
    path = path.expanduser()
    if want_dir and not path.is_dir():
        raise UserError(f"{said}: no such folder")
    if not want_dir and not path.is_file():
        raise UserError(f"{said}: no such file")
    return path
