"""Tests of the MNIST IDX reader, its checksums, and where MNIST is found."""

from __future__ import annotations

import gzip
import sys
import types

import numpy as np
import pytest

from manyseeds.data import mnist, paths
from manyseeds.errors import UserError

# No user config, no data environment, no tensorflow-datasets.
pytestmark = pytest.mark.usefixtures("isolated_data_config")


@pytest.fixture(scope="session")
def train(mnist_dir):
    return mnist.load_mnist("train", mnist_dir)


@pytest.fixture(scope="session")
def test_split(mnist_dir):
    return mnist.load_mnist("test", mnist_dir)


def _folder_with(tmp_path, mnist_dir, replace=None):
    """A copy of the MNIST folder: links to the real files, `replace` written."""
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name in mnist.CHECKSUMS:
        target = folder / f"{name}.gz"
        if replace and name in replace:
            target.write_bytes(replace[name])
        else:
            target.symlink_to(mnist_dir / f"{name}.gz")
    return folder


def test_counts_shapes_and_first_labels(train, test_split):
    assert train.images.shape == (60_000, 28, 28)
    assert test_split.images.shape == (10_000, 28, 28)
    assert train.images.dtype == np.uint8 and train.labels.dtype == np.int64
    assert train.labels[0] == 5
    assert test_split.labels[0] == 7
    assert set(np.unique(test_split.labels)) == set(range(10))
    assert train.source.startswith("idx:")


def test_float32_pixels_in_unit_interval(test_split):
    pixels = test_split.as_float32()
    assert pixels.dtype == np.float32
    assert pixels.min() == 0.0 and pixels.max() == 1.0
    np.testing.assert_allclose(pixels[0] * 255, test_split.images[0], atol=1e-4)


def test_labels_only_match_full_load(mnist_dir, test_split):
    np.testing.assert_array_equal(
        mnist.load_labels("test", mnist_dir), test_split.labels
    )


def test_checksums_pass_on_the_official_files(mnist_dir):
    status = mnist.verify_folder(mnist_dir)
    assert sorted(status) == sorted(f"{n}.gz" for n in mnist.CHECKSUMS)
    assert all("matches the official" in s for s in status.values())


def test_verification_is_cached_per_process(mnist_dir, monkeypatch):
    mnist.verify_folder(mnist_dir)

    def no_hashing(*args, **kwargs):
        raise AssertionError("checksum recomputed")

    monkeypatch.setattr(mnist.hashlib, "md5", no_hashing)
    monkeypatch.setattr(mnist.hashlib, "sha256", no_hashing)
    assert len(mnist.verify_folder(mnist_dir)) == 4
    assert len(mnist.load_labels("test", mnist_dir)) == 10_000


def test_corrupted_copy_fails_the_checksum(tmp_path, mnist_dir):
    good = (mnist_dir / "t10k-labels-idx1-ubyte.gz").read_bytes()
    bad = bytearray(good)
    bad[len(bad) // 2] ^= 0xFF
    folder = _folder_with(tmp_path, mnist_dir, {"t10k-labels-idx1-ubyte": bytes(bad)})
    with pytest.raises(UserError, match="t10k-labels-idx1-ubyte.gz: checksum mismatch"):
        mnist.load_mnist("test", folder)
    with pytest.raises(UserError, match="t10k-labels-idx1-ubyte.gz"):
        mnist.verify_folder(folder)
    # Without verification the damage is still caught, by gzip or the parser.
    with pytest.raises(UserError, match="t10k-labels-idx1-ubyte.gz"):
        mnist.load_mnist("test", folder, verify=False)


def test_regzipped_copy_passes_on_its_contents(tmp_path, mnist_dir):
    raw = gzip.decompress((mnist_dir / "t10k-labels-idx1-ubyte.gz").read_bytes())
    regzipped = gzip.compress(raw, compresslevel=1, mtime=0)
    folder = _folder_with(tmp_path, mnist_dir, {"t10k-labels-idx1-ubyte": regzipped})
    status = mnist.verify_folder(folder)
    assert "content MD5" in status["t10k-labels-idx1-ubyte.gz"]
    assert mnist.load_labels("test", folder)[0] == 7


def test_other_labels_fail_even_when_well_formed(tmp_path, mnist_dir):
    raw = bytearray(
        gzip.decompress((mnist_dir / "t10k-labels-idx1-ubyte.gz").read_bytes())
    )
    raw[8] = (raw[8] + 1) % 10
    folder = _folder_with(
        tmp_path, mnist_dir, {"t10k-labels-idx1-ubyte": gzip.compress(bytes(raw))}
    )
    with pytest.raises(UserError, match="checksum mismatch"):
        mnist.load_labels("test", folder)
    assert mnist.load_labels("test", folder, verify=False)[0] == raw[8]


def test_empty_folder_is_refused_in_one_line(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UserError) as err:
        mnist.load_mnist("test", empty)
    assert "empty" in str(err.value) and "\n" not in str(err.value)


def test_missing_file_is_named(tmp_path, mnist_dir):
    folder = _folder_with(tmp_path, mnist_dir)
    (folder / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(UserError, match="missing train-labels-idx1-ubyte.gz"):
        mnist.load_mnist("train", folder)


def test_parse_idx_refuses_bad_headers_and_truncation():
    header = bytes([0, 0, 8, 1]) + (5).to_bytes(4, "big")
    np.testing.assert_array_equal(
        mnist.parse_idx(header + bytes(range(5))), np.arange(5)
    )
    with pytest.raises(UserError, match="truncated or padded"):
        mnist.parse_idx(header + bytes(3))
    with pytest.raises(UserError, match="bad magic"):
        mnist.parse_idx(b"\x01\x02\x08\x01")
    with pytest.raises(UserError, match="type code"):
        mnist.parse_idx(bytes([0, 0, 0x0D, 1]) + (1).to_bytes(4, "big") + bytes(4))


def test_unknown_split_is_refused(mnist_dir):
    with pytest.raises(UserError, match="unknown MNIST split"):
        mnist.load_mnist("validation", mnist_dir)


def test_precedence_flag_then_environment_then_saved(tmp_path, mnist_dir, monkeypatch):
    other = tmp_path / "other"
    other.mkdir()
    paths.save_config(**{paths.CONFIG_MNIST: str(other)})
    assert paths.resolve_mnist().path == other
    assert "manyseeds data link" in paths.resolve_mnist().origin

    monkeypatch.setenv(paths.ENV_MNIST, str(mnist_dir))
    found = paths.resolve_mnist()
    assert found.path == mnist_dir and found.origin == f"${paths.ENV_MNIST}"

    assert paths.resolve_mnist(other).path == other
    assert paths.resolve_mnist(other).origin == "--mnist-dir"


def test_nothing_found_says_what_to_set():
    assert paths.find_mnist() is None
    with pytest.raises(UserError) as err:
        mnist.load_mnist("test")
    assert "--mnist-dir" in str(err.value) and paths.ENV_MNIST in str(err.value)


def test_configured_folder_that_vanished_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.ENV_MNIST, str(tmp_path / "gone"))
    with pytest.raises(UserError, match=f"{paths.ENV_MNIST}=.*no such folder"):
        paths.resolve_mnist()
    monkeypatch.delenv(paths.ENV_MNIST)
    paths.save_config(**{paths.CONFIG_MNIST: str(tmp_path / "gone")})
    with pytest.raises(UserError, match="no longer exists"):
        paths.resolve_mnist()


def test_corrupt_config_file_is_refused(tmp_path):
    paths.config_file().write_text("{not json")
    with pytest.raises(UserError, match="config file cannot be read"):
        paths.find_mnist()


def _fake_tfds(calls):
    """A stand-in for tensorflow_datasets that records calls (no download)."""
    module = types.ModuleType("tensorflow_datasets")

    def load(name, split, batch_size, as_supervised):
        calls.append((name, split, batch_size, as_supervised))
        n = 3 if split == "test" else 4
        images = np.arange(n * 28 * 28, dtype=np.uint8).reshape(n, 28, 28, 1)
        return images, np.arange(n, dtype=np.int32)

    module.load = load
    module.as_numpy = lambda batch: batch
    return module


def test_tfds_is_used_only_without_an_idx_folder(monkeypatch, mnist_dir):
    calls = []
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", _fake_tfds(calls))
    monkeypatch.setattr(paths, "tfds_available", lambda: True)

    split = mnist.load_mnist("test")
    assert calls == [("mnist", "test", -1, True)]
    assert split.source == "tfds:mnist"
    assert split.images.shape == (3, 28, 28) and split.images.dtype == np.uint8
    assert split.labels.dtype == np.int64

    monkeypatch.setenv(paths.ENV_MNIST, str(mnist_dir))
    assert mnist.load_labels("test").shape == (10_000,)
    assert len(calls) == 1
