"""Tests of `manyseeds data ...` and `manyseeds cohort ...` through `cli.main`."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from manyseeds import cli
from manyseeds.data import mnist, paths
from manyseeds.data.table import meta_path

# No user config, no data environment, no tensorflow-datasets.
pytestmark = pytest.mark.usefixtures("isolated_data_config")


def _run(capsys, command, *args):
    """Run `manyseeds <command> <args>`: the command's words, then any paths."""
    code = cli.main([*command.split(), *map(str, args)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def _one_line_error(code, out, err):
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and "error:" in err


def test_data_check_reports_what_it_found(capsys, mnist_dir):
    code, out, _ = _run(capsys, "data check --mnist-dir", mnist_dir)
    assert code == 0
    assert "train: 60000 images 28x28 uint8, first label 5" in out
    assert "test: 10000 images 28x28 uint8, first label 7" in out
    assert "labels: 0:980 1:1135" in out  # test-set histogram starts like this
    assert out.count("MD5 matches the official") == 4
    assert "(from --mnist-dir)" in out
    assert "stimuli: drawn:seed=0" in out and "easy: 240 images" in out


def test_data_check_with_the_stimulus_file(capsys, mnist_dir, stimuli_path):
    code, out, _ = _run(
        capsys, "data check --mnist-dir", mnist_dir, "--stimuli", stimuli_path
    )
    assert code == 0
    assert f"stimuli: npz:{stimuli_path} (from --stimuli)" in out
    assert "hard: 240 images; per digit 1:30 2:30" in out


def test_data_check_on_an_empty_folder(capsys, tmp_path):
    (tmp_path / "empty").mkdir()
    result = _run(capsys, "data check --mnist-dir", tmp_path / "empty")
    _one_line_error(*result)
    assert "empty" in result[2]


def test_data_check_on_a_corrupted_folder(capsys, tmp_path, mnist_dir):
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name in mnist.CHECKSUMS:
        (folder / f"{name}.gz").symlink_to(mnist_dir / f"{name}.gz")
    broken = folder / "train-images-idx3-ubyte.gz"
    broken.unlink()
    broken.write_bytes(b"\x1f\x8b not really gzip")
    result = _run(capsys, "data check --mnist-dir", folder)
    _one_line_error(*result)
    assert "train-images-idx3-ubyte.gz: checksum mismatch" in result[2]


def test_data_check_without_mnist_says_what_to_set(capsys):
    result = _run(capsys, "data check")
    _one_line_error(*result)
    assert "--mnist-dir" in result[2] and paths.ENV_MNIST in result[2]


def test_link_then_no_flags_needed(capsys, tmp_path, mnist_dir, stimuli_path):
    code, out, _ = _run(capsys, "data link", mnist_dir, "--stimuli", stimuli_path)
    assert code == 0 and "linked mnist_dir" in out
    saved = json.loads(paths.config_file().read_text())
    assert saved == {
        "mnist_dir": str(mnist_dir.resolve()),
        "stimuli": str(stimuli_path.resolve()),
    }
    code, out, _ = _run(capsys, "data check")
    assert code == 0 and "train: 60000 images" in out
    assert f"(from manyseeds data link, saved in {paths.config_file()})" in out
    assert "stimuli: npz:" in out


def test_link_refuses_a_bad_folder_and_saves_nothing(capsys, tmp_path):
    (tmp_path / "empty").mkdir()
    _one_line_error(*_run(capsys, "data link", tmp_path / "empty"))
    assert not paths.config_file().exists()
    _one_line_error(*_run(capsys, "data link"))


def test_cohort_synth_then_check(capsys, tmp_path, mnist_dir, stimuli_path):
    out_file = tmp_path / "cohort.csv"
    synth = "cohort synth --subjects 4 --seed 1 --idiosyncrasy 0.5 --mnist-dir"
    code, out, _ = _run(capsys, synth, mnist_dir, "--out", out_file)
    assert code == 0 and "SYNTHETIC" in out
    frame = pd.read_csv(out_file)
    assert frame["subject"].nunique() == 4 and len(frame) == 4 * 960
    assert json.loads(meta_path(out_file).read_text())["params"]["seed"] == 1

    code, out, _ = _run(capsys, "cohort check", out_file)
    assert code == 0 and out.rstrip().endswith("OK")
    assert "SYNTHETIC cohort" in out and "4 subjects, 3840 trials, 480 images" in out
    assert "own 480 images" in out

    # Drawn stimuli are not the experiment's: checking against the npz fails.
    code, _, err = _run(capsys, "cohort check", out_file, "--stimuli", stimuli_path)
    assert code == 2 and "not in the stimulus set" in err


def test_cohort_synth_uses_the_stimulus_file(capsys, tmp_path, mnist_dir, stimuli_path):
    out_file = tmp_path / "cohort.csv"
    synth = "cohort synth --subjects 2 --mnist-dir"
    code, out, _ = _run(
        capsys, synth, mnist_dir, "--stimuli", stimuli_path, "--out", out_file
    )
    assert code == 0 and f"stimuli: npz:{stimuli_path}" in out
    code, out, _ = _run(capsys, "cohort check", out_file, "--stimuli", stimuli_path)
    assert code == 0 and "every image is in the stimulus set" in out


def test_cohort_check_with_renamed_columns(capsys, tmp_path, mnist_dir):
    source = tmp_path / "cohort.csv"
    synth = "cohort synth --subjects 2 --mnist-dir"
    assert _run(capsys, synth, mnist_dir, "--out", source)[0] == 0
    renamed = tmp_path / "theirs.csv"
    frame = pd.read_csv(source)
    frame = frame.rename(columns={"subject": "participant", "resp_rt": "rt_s"})
    frame.to_csv(renamed, index=False)
    _one_line_error(*_run(capsys, "cohort check", renamed))
    mapping = "subject=participant,resp_rt=rt_s"
    code, out, _ = _run(capsys, "cohort check", renamed, "--columns", mapping)
    assert code == 0 and "2 subjects" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["cohort", "check", "no-such-file.csv"],
        ["cohort", "check", "x.csv", "--columns", "subject"],
        ["cohort", "synth", "--subjects", "0", "--out", "x.csv"],
        ["cohort", "synth", "--idiosyncrasy", "-1", "--out", "x.csv"],
    ],
)
def test_user_mistakes_exit_2_in_one_line(capsys, tmp_path, mnist_dir, argv):
    if argv[1] == "synth":
        argv = [*argv, "--mnist-dir", str(mnist_dir)]
    _one_line_error(*_run(capsys, "", *argv))


def test_bare_group_prints_help(capsys):
    code, out, _ = _run(capsys, "cohort")
    assert code == 2 and "synth" in out and "check" in out
