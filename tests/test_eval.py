"""`mnistvec eval` on trained models: the table, --json, --report and the mistakes a user can make."""

import json

import numpy as np
from click.testing import CliRunner
from conftest import synthetic_digits
from PIL import Image

from mnistvec.cli import EXIT_ERROR, EXIT_PARTIAL, EXIT_USAGE, cli


def labelled_npz(tmp_path, count=20):
    path = tmp_path / "digits.npz"
    np.savez(path, images=(synthetic_digits(count, seed=7) * 255).astype(np.uint8), labels=np.arange(count) % 10)
    return path


def run_eval(*args):
    return CliRunner().invoke(cli, ["eval", *[str(a) for a in args]], catch_exceptions=False)


def test_a_model_with_a_prior_gets_reconstruction_and_sample_scores_and_a_report(tmp_path, tiny_lfi):
    result = run_eval(
        "--model",
        tiny_lfi,
        "--data",
        labelled_npz(tmp_path),
        "--samples",
        50,
        "--device",
        "cpu",
        "--json",
        tmp_path / "e.json",
        "--report",
        tmp_path / "rep",
    )
    assert result.exit_code == 0, result.output
    assert "chamfer distance" in result.output and "sample class entropy" in result.output
    scores = json.loads((tmp_path / "e.json").read_text())
    assert scores["count"] == 20 and scores["numbers_per_digit"] <= 4 * 6
    assert sum(scores["samples"]["histogram"]) == 50
    assert 0.9 < scores["classifier_t10k_accuracy"] < 1  # the bundled classifier's own figure
    report = (tmp_path / "rep" / "report.md").read_text()
    for figure in ("reconstructions.png", "worst.png", "samples.png", "per-digit-accuracy.png"):
        assert f"({figure})" in report and Image.open(tmp_path / "rep" / figure).size[0] > 100


def test_an_autoencoder_has_no_sample_scores(tmp_path, tiny_model):
    result = run_eval("--model", tiny_model, "--data", labelled_npz(tmp_path), "--json", tmp_path / "e.json")
    assert result.exit_code == 0, result.output
    scores = json.loads((tmp_path / "e.json").read_text())
    assert scores["samples"] is None and scores["reconstruction"]["accuracy"] is not None


def test_data_without_labels_is_scored_without_accuracy(tmp_path, tiny_model):
    path = tmp_path / "nolabels.npz"
    np.savez(path, images=(synthetic_digits(5) * 255).astype(np.uint8))
    result = run_eval("--model", tiny_model, "--data", path, "--json", tmp_path / "e.json")
    assert result.exit_code == 0 and "no labels" in result.output
    assert json.loads((tmp_path / "e.json").read_text())["reconstruction"]["accuracy"] is None


def test_user_mistakes_get_one_line(tmp_path, tiny_model):
    both = run_eval("--model", tiny_model, "--baseline", "skeleton")
    assert both.exit_code == EXIT_USAGE and "either a model" in both.output
    missing = run_eval("--model", tmp_path / "none.pt", "--data", labelled_npz(tmp_path))
    assert missing.exit_code == EXIT_ERROR and "none.pt: no such checkpoint" in missing.output
    not_a_model = tmp_path / "junk.pt"
    not_a_model.write_bytes(b"not a checkpoint")
    junk = run_eval("--model", not_a_model, "--data", labelled_npz(tmp_path))
    assert junk.exit_code == EXIT_ERROR and "Traceback" not in junk.output


def test_unreadable_files_are_named_left_out_and_the_rest_scored(tmp_path, tiny_model):
    folder = tmp_path / "digits"
    folder.mkdir()
    Image.fromarray((synthetic_digits(1)[0] * 255).astype(np.uint8)).save(folder / "good.png")
    (folder / "broken.png").write_bytes(b"not a png at all")
    result = CliRunner().invoke(
        cli, ["eval", "--model", str(tiny_model), "--data", str(folder), "--json", str(tmp_path / "e.json")]
    )
    assert result.exit_code == EXIT_PARTIAL
    assert result.output.count("broken.png") == 1 and "Traceback" not in result.output
    scores = json.loads((tmp_path / "e.json").read_text())
    assert scores["count"] == 1 and scores["failed"] == 1
