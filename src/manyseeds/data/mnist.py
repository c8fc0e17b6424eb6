"""MNIST as NumPy arrays, from the official IDX files or tensorflow-datasets.

The IDX path needs nothing but NumPy: it reads the four gzip files of the
original release (LeCun, Cortes & Burges) and checks each against the
official checksums written below, so a corrupt or different file is refused
with one line naming it. Verification runs once per file per process.

Where the folder comes from is decided by `manyseeds.data.paths` (flag,
`MANYSEEDS_MNIST_DIR`, the folder saved by `manyseeds data link`, then
tensorflow-datasets when installed).
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import logging
import struct
import zlib
from pathlib import Path

import numpy as np

from manyseeds.data import paths
from manyseeds.errors import UserError

log = logging.getLogger(__name__)

SPLITS = ("train", "test")
SPLIT_SIZES = {"train": 60_000, "test": 10_000}
IMAGE_SHAPE = (28, 28)
# File names of the official release, per split: (images, labels).
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


@dataclasses.dataclass(frozen=True)
class Checksums:
    """Official checksums of one file: of the `.gz`, and of its contents."""

    gz_md5: str
    gz_sha256: str
    raw_md5: str


# The official release (yann.lecun.com/exdb/mnist): MD5 of the .gz files as
# published with it (and checked by torchvision), their SHA256, and the MD5 of
# the uncompressed files. A re-gzipped copy of the right bytes passes on the
# last one.
CHECKSUMS = {
    "train-images-idx3-ubyte": Checksums(
        "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "6bbc9ace898e44ae57da46a324031adb",
    ),
    "train-labels-idx1-ubyte": Checksums(
        "d53e105ee54ea40749a09fcbcd1e9432",
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "a25bea736e30d166cdddb491f175f624",
    ),
    "t10k-images-idx3-ubyte": Checksums(
        "9fb629c4189551a2d022fa330f9573f3",
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "2646ac647ad5339dbf082846283269ea",
    ),
    "t10k-labels-idx1-ubyte": Checksums(
        "ec29112dd5afa0611ce80d1b7f02629c",
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        "27ae3e4e09519cfbb04c329615203637",
    ),
}

# Verified files of this process: (path, size, mtime_ns) -> status.
_VERIFIED: dict[tuple[str, int, int], str] = {}


@dataclasses.dataclass(frozen=True)
class MnistSplit:
    """One split of MNIST.

    Attributes:
      images: `[n, 28, 28]` uint8, 0 (background) to 255.
      labels: `[n]` int64 digits 0-9.
      source: where it came from: "idx:<folder>" or "tfds:mnist".
    """

    images: np.ndarray
    labels: np.ndarray
    source: str

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def as_float32(self) -> np.ndarray:
        """`[n, 28, 28]` float32 pixels in [0, 1]."""
        return to_float32(self.images)


def to_float32(images: np.ndarray) -> np.ndarray:
    """uint8 pixels `[..., 28, 28]` as float32 in [0, 1] (divided by 255)."""
    return np.asarray(images, dtype=np.float32) / np.float32(255.0)


def load_mnist(
    split: str, mnist_dir: str | Path | None = None, verify: bool = True
) -> MnistSplit:
    """Load one split of MNIST.

    Args:
      split: "train" (60,000 images) or "test" (10,000 images; the paper's
        "validation set", from which the 480 stimuli come).
      mnist_dir: folder of the four IDX gzip files; None: found by
        `paths.resolve_mnist` (environment, saved config, tensorflow-datasets).
      verify: check the files against the official checksums (once per file
        per process).

    Returns:
      The images and labels, and where they came from.

    Raises:
      UserError: no MNIST found, or a file is missing, corrupt or not the
        official one (one line naming the file).
    """
    _check_split(split)
    found = paths.resolve_mnist(mnist_dir)
    if found.is_tfds:
        return _load_tfds(split)
    image_name, label_name = FILES[split]
    images = _read_idx(found.path, image_name, verify)
    labels = _read_idx(found.path, label_name, verify)
    if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
        raise UserError(
            f"{_file_in(found.path, image_name)}: images of shape {images.shape[1:]}"
            f"; expected {IMAGE_SHAPE}"
        )
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise UserError(
            f"{_file_in(found.path, label_name)}: {labels.shape[0]} labels for "
            f"{images.shape[0]} images; expected one label per image"
        )
    log.debug("MNIST %s: %d images from %s", split, len(labels), found.path)
    return MnistSplit(
        images=images,
        labels=labels.astype(np.int64),
        source=f"idx:{found.path.resolve()}",
    )


def load_labels(
    split: str, mnist_dir: str | Path | None = None, verify: bool = True
) -> np.ndarray:
    """`[n]` int64 labels of one split, reading only the labels file when it can."""
    _check_split(split)
    found = paths.resolve_mnist(mnist_dir)
    if found.is_tfds:
        return _load_tfds(split).labels
    labels = _read_idx(found.path, FILES[split][1], verify)
    if labels.ndim != 1:
        raise UserError(
            f"{_file_in(found.path, FILES[split][1])}: expected a 1-d label file"
        )
    return labels.astype(np.int64)


def verify_folder(mnist_dir: str | Path) -> dict[str, str]:
    """Check all four files of a folder against the official checksums.

    Returns:
      file name -> what matched (for example "MD5 matches the official .gz").

    Raises:
      UserError: the folder is empty, or a file is missing or does not match.
    """
    folder = Path(mnist_dir)
    if not folder.is_dir():
        raise UserError(f"{folder}: no such folder")
    status = {}
    for name in CHECKSUMS:
        path = _file_in(folder, name)
        status[path.name] = _verify(path, name)
    return status


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise UserError(f"unknown MNIST split {split!r}; expected 'train' or 'test'")


def _file_in(folder: Path, name: str) -> Path:
    """The `.gz` file of `name` (or the uncompressed one) in `folder`."""
    for candidate in (folder / f"{name}.gz", folder / name):
        if candidate.is_file():
            return candidate
    if not any(folder.iterdir()):
        raise UserError(
            f"{folder}: the MNIST folder is empty; expected the four IDX files "
            f"{', '.join(n + '.gz' for n in CHECKSUMS)}"
        )
    raise UserError(
        f"{folder}: missing {name}.gz; expected the four IDX gzip files of the "
        "official MNIST release"
    )


def _read_idx(folder: Path, name: str, verify: bool) -> np.ndarray:
    """Read, check and parse one IDX file of `folder`."""
    path = _file_in(folder, name)
    data = path.read_bytes()
    if verify:
        _verify(path, name, data)
    if path.suffix == ".gz":
        data = _gunzip(path, data)
    return parse_idx(data, path)


def _verify(path: Path, name: str, data: bytes | None = None) -> str:
    """Match the file against the official checksums; cached per process."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key in _VERIFIED:
        return _VERIFIED[key]
    if data is None:
        data = path.read_bytes()
    official = CHECKSUMS[name]
    md5 = hashlib.md5(data).hexdigest()
    if path.suffix == ".gz":
        if md5 == official.gz_md5:
            status = "MD5 matches the official .gz"
        elif hashlib.sha256(data).hexdigest() == official.gz_sha256:
            status = "SHA256 matches the official .gz"
        elif _content_md5(data) == official.raw_md5:
            status = "content MD5 matches the official file (re-gzipped copy)"
        else:
            raise UserError(
                f"{path}: checksum mismatch (MD5 {md5}, expected {official.gz_md5} "
                "of the official MNIST release); the file is corrupt or not the "
                "original"
            )
    elif md5 == official.raw_md5:
        status = "MD5 matches the official uncompressed file"
    else:
        raise UserError(
            f"{path}: checksum mismatch (MD5 {md5}, expected {official.raw_md5} of "
            "the official uncompressed file); the file is corrupt or not the original"
        )
    _VERIFIED[key] = status
    return status


def _content_md5(data: bytes) -> str | None:
    try:
        return hashlib.md5(gzip.decompress(data)).hexdigest()
    except (OSError, EOFError, zlib.error):
        return None


def _gunzip(path: Path, data: bytes) -> bytes:
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as err:
        raise UserError(f"{path}: not a readable gzip file ({err})") from None


def parse_idx(data: bytes, path: str | Path = "<bytes>") -> np.ndarray:
    """Parse an IDX array of unsigned bytes (the MNIST file format).

    The format: two zero bytes, a type code (0x08 = unsigned byte), the number
    of dimensions, each dimension as a big-endian uint32, then the values.

    Args:
      data: the uncompressed file contents.
      path: the file, for error messages.

    Returns:
      A writable uint8 array of the stored shape.
    """
    if len(data) < 4 or data[:2] != b"\x00\x00":
        raise UserError(f"{path}: not an IDX file (bad magic number)")
    if data[2] != 0x08:
        raise UserError(
            f"{path}: IDX type code {data[2]:#04x}; expected 0x08 (unsigned bytes)"
        )
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise UserError(f"{path}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    expected = header + int(np.prod(shape, dtype=np.int64))
    if len(data) != expected:
        raise UserError(
            f"{path}: {len(data)} bytes for an IDX array of shape {shape}; "
            f"expected {expected} (truncated or padded file)"
        )
    values = np.frombuffer(data, dtype=np.uint8, offset=header)
    return values.reshape(shape).copy()


def _load_tfds(split: str) -> MnistSplit:
    """Load a split through tensorflow-datasets (may download on first use)."""
    import tensorflow_datasets as tfds  # optional extra; imported only here

    try:
        batch = tfds.load("mnist", split=split, batch_size=-1, as_supervised=True)
        images, labels = tfds.as_numpy(batch)
    except Exception as err:  # noqa: BLE001 - any tfds failure means "not available"
        raise UserError(
            f"tensorflow-datasets could not load mnist/{split} ({err}); pass "
            f"--mnist-dir DIR or set {paths.ENV_MNIST}"
        ) from None
    images = np.asarray(images, dtype=np.uint8)
    images = images.reshape(images.shape[0], *IMAGE_SHAPE)
    return MnistSplit(
        images=images,
        labels=np.asarray(labels, dtype=np.int64),
        source="tfds:mnist",
    )
