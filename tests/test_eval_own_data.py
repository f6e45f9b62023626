"""`mnistvec eval` on a user's own digits: labels from a CSV file or class sub-folders, agreement without
labels, every image's readings in --json, one-line errors for a bad labels file."""

import json
import shutil

import pytest
from click.testing import CliRunner
from conftest import REPO

from mnistvec.cli import EXIT_ERROR, cli

DIGITS = REPO / "examples" / "digits" / "mnist"
PICKED = ["digit-0-0", "digit-1-1", "digit-3-0", "digit-5-2", "digit-7-0", "digit-9-1"]


def run_eval(*args):
    return CliRunner().invoke(cli, ["eval", *[str(a) for a in args]], catch_exceptions=False)


@pytest.fixture
def flat(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    for name in PICKED:
        shutil.copy(DIGITS / f"{name}.png", folder / f"{name}.png")
    return folder


def write_csv(path, text):
    path.write_text(text)
    return path


def test_labels_from_a_csv_file_give_accuracy_agreement_and_per_image_readings(tmp_path, flat, tiny_model):
    rows = "".join(f"{name}{'.png' if k % 2 else ''},{name.split('-')[1]}\n" for k, name in enumerate(PICKED))
    labels = write_csv(tmp_path / "labels.csv", "Name,Label,notes\n" + rows.replace("\n", ",x\n"))
    result = run_eval(
        "--model", tiny_model, "--data", flat, "--labels", labels, "--json", tmp_path / "e.json", "--device", "cpu"
    )
    assert result.exit_code == 0, result.output
    assert "classifier accuracy on reconstructions" in result.stdout and "agreement" in result.stdout
    assert "agreement" not in result.stderr and "wrote" in result.stderr  # results on stdout, the rest not
    scores = json.loads((tmp_path / "e.json").read_text())
    assert scores["labels_from"] == str(labels) and scores["reconstruction"]["accuracy"] is not None
    items = {row["name"]: row for row in scores["items"]}
    assert sorted(items) == [f"{name}.png" for name in PICKED]
    for name, row in items.items():
        assert row["label"] == int(name.split("-")[1])
        assert row["prediction_original"] in range(10) and row["prediction_drawing"] in range(10)
        assert 0 < row["confidence"] <= 1 and row["mse"] >= 0 and row["suspect"] is None
    agreement = sum(r["prediction_original"] == r["prediction_drawing"] for r in items.values()) / len(items)
    assert scores["reconstruction"]["agreement"] == pytest.approx(agreement)


def test_class_sub_folders_give_the_labels(tmp_path, tiny_model):
    folder = tmp_path / "classes"
    for name in PICKED:
        (folder / name.split("-")[1]).mkdir(parents=True, exist_ok=True)
        shutil.copy(DIGITS / f"{name}.png", folder / name.split("-")[1] / f"{name}.png")
    result = run_eval("--model", tiny_model, "--data", folder, "--json", tmp_path / "e.json", "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert "class sub-folders" in result.stderr and "classifier accuracy on reconstructions" in result.stdout
    scores = json.loads((tmp_path / "e.json").read_text())
    assert {row["name"]: row["label"] for row in scores["items"]} == {
        f"{name.split('-')[1]}/{name}.png": int(name.split("-")[1]) for name in PICKED
    }


def test_without_labels_agreement_only(tmp_path, flat, tiny_model):
    result = run_eval("--model", tiny_model, "--data", flat, "--json", tmp_path / "e.json", "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert "agreement" in result.stdout and "accuracy on reconstructions" not in result.stdout
    assert "no labels" in result.stderr
    scores = json.loads((tmp_path / "e.json").read_text())
    assert scores["reconstruction"]["accuracy"] is None and scores["reconstruction"]["agreement"] is not None
    assert [row["label"] for row in scores["items"]] == [None] * len(PICKED)


@pytest.mark.parametrize(
    "text, problem",
    [
        ("name,label\ndigit-0-0,0\nnot-there,4\n", r"1 name\(s\) are no image of .*'not-there'"),
        ("name,label\ndigit-0-0,seven\n", r"line 2: the label of 'digit-0-0' is 'seven', not a digit 0-9"),
        ("name,label\ndigit-0-0,12\n", r"line 2: .* is '12', not a digit 0-9"),
        ("file,digit\ndigit-0-0,0\n", r"no column named name or label"),
        ("name\ndigit-0-0\n", r"no column named label"),
        ("name,label\ndigit-0-0,0\ndigit-1-1,1\n", r"no label for 4 of the 6 images: 'digit-3-0.png'"),
        ("name,label\ndigit-0-0,0\ndigit-0-0.png,6\n", r"line 3: 'digit-0-0.png' is labelled 6, but 'digit-0-0'"),
    ],
)
def test_a_bad_labels_file_is_one_line(tmp_path, flat, tiny_model, text, problem):
    import re

    labels = write_csv(tmp_path / "labels.csv", text)
    result = run_eval("--model", tiny_model, "--data", flat, "--labels", labels, "--device", "cpu")
    assert result.exit_code == EXIT_ERROR, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {labels}: "), result.output
    assert re.search(problem, lines[0]), lines[0]


def test_a_missing_labels_file_is_one_line(tmp_path, flat, tiny_model):
    result = run_eval("--model", tiny_model, "--data", flat, "--labels", tmp_path / "none.csv")
    assert result.exit_code == EXIT_ERROR and result.stderr.strip() == f"error: {tmp_path / 'none.csv'}: no such file"


def test_names_past_the_limit_are_known_and_need_no_score(tmp_path, flat, tiny_model):
    labels = write_csv(tmp_path / "labels.csv", "name,label\n" + "".join(f"{n},{n.split('-')[1]}\n" for n in PICKED))
    result = run_eval(
        "--model",
        tiny_model,
        "--data",
        flat,
        "--labels",
        labels,
        "--limit",
        2,
        "--json",
        tmp_path / "e.json",
        "--device",
        "cpu",
    )
    assert result.exit_code == 0, result.output
    assert [row["name"] for row in json.loads((tmp_path / "e.json").read_text())["items"]] == [
        f"{n}.png" for n in PICKED[:2]
    ]
