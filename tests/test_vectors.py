"""The Vectors batch: validation names the first bad item; .npz round trips keep everything."""

import numpy as np
import pytest

from mnistvec.io.vectors import Vectors, VectorsError


def make(batch=3, n=4, **overrides):
    rng = np.random.default_rng(0)
    fields = dict(lines=rng.uniform(0, 1, (batch, n, 4)), widths=np.full((batch, n), 0.05), opacity=np.ones((batch, n)))
    fields.update(overrides)
    return Vectors(**fields)


def test_arrays_become_float32_contiguous():
    batch = make()
    assert batch.lines.dtype == np.float32 and batch.lines.flags.c_contiguous
    assert len(batch) == 3 and batch.n_lines == 4


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(lines=np.zeros((3, 4, 3))), r"\[B, N, 4\]"),
        (dict(lines=np.zeros((3, 4))), "3 dimensions"),
        (dict(widths=np.zeros((3, 5))), "widths must have shape"),
        (dict(opacity=np.zeros((2, 4))), "opacity must have shape"),
        (dict(lines=np.array([[["a", "b", "c", "d"]]])), "numeric"),
        (dict(names=["a", "b"]), "names has 2 entries"),
    ],
)
def test_shape_and_dtype_errors_say_what_is_wrong(overrides, message):
    with pytest.raises(VectorsError, match=message):
        make(**overrides)


def test_validate_names_the_first_bad_item():
    lines = np.random.default_rng(1).uniform(0, 1, (4, 2, 4))
    lines[2, 1, 3] = np.nan
    widths = np.full((4, 2), 0.05)
    widths[3, 0] = np.inf
    batch = Vectors(lines, widths, np.ones((4, 2)), names=["a", "b", "c", "d"])
    assert [i for i, _ in batch.bad_items()] == [2, 3]
    with pytest.raises(
        VectorsError, match=r"item 2 \(c\): lines has a non-finite value \(nan\) at position 7 \(and 1 more"
    ):
        batch.validate()


def test_opacity_outside_unit_interval_and_negative_widths_are_bad():
    batch = make(
        opacity=np.array([[1, 1, 1, 1.5], [1, 1, 1, 1], [1, 1, 1, 1]]),
        widths=np.array([[0.1] * 4, [0.1] * 4, [0.1, -0.1, 0.1, 0.1]]),
    )
    assert [i for i, _ in batch.bad_items()] == [0, 2]
    assert make().validate() is not None


def test_npz_round_trip_keeps_names_frames_and_meta(tmp_path):
    frames = np.array([[200, 120, 150.0, -10.0, 4.0, 1.0]] * 3)
    batch = make(names=["x/one", "two", "three"], frames=frames, meta={"model": "ae-16"})
    path = tmp_path / "sub" / "v.npz"
    batch.save(path)
    back = Vectors.load(path)
    np.testing.assert_array_equal(back.lines, batch.lines)
    np.testing.assert_array_equal(back.widths, batch.widths)
    np.testing.assert_array_equal(back.frames, frames)
    assert back.names == ["x/one", "two", "three"]
    assert back.meta["model"] == "ae-16" and back.meta["format_version"] == 1 and back.meta["n_lines"] == 4
    assert [p.name for p in path.parent.iterdir()] == ["v.npz"]  # no temp file left behind


def test_subset_keeps_names():
    batch = make(names=["a", "b", "c"])
    assert batch.subset(np.array([2, 0])).names == ["c", "a"]
    assert make().name(1) == "item-00001"


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(VectorsError, match="no such file"):
        Vectors.load(tmp_path / "missing.npz")
    junk = tmp_path / "junk.npz"
    junk.write_text("not a zip")
    with pytest.raises(VectorsError, match="junk.npz: not a readable vectors"):
        Vectors.load(junk)
    partial = tmp_path / "partial.npz"
    np.savez(partial, lines=np.zeros((1, 2, 4)))
    with pytest.raises(VectorsError, match="partial.npz: missing array\\(s\\) widths, opacity"):
        Vectors.load(partial)
    future = tmp_path / "future.npz"
    np.savez(
        future,
        lines=np.zeros((1, 2, 4)),
        widths=np.zeros((1, 2)),
        opacity=np.zeros((1, 2)),
        meta=np.array('{"format_version": 99}'),
    )
    with pytest.raises(VectorsError, match="newer"):
        Vectors.load(future)
