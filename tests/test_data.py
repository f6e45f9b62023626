"""Readers of mnistvec.data: IDX, folders of images, single images, .npz, normalisation and frames."""

from __future__ import annotations

import gzip
import io
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw, ImageOps

from mnistvec.data import (
    DataError,
    Failure,
    ImageSet,
    SourceFrame,
    grayscale,
    iter_batches,
    load_images,
    read_idx_images,
    read_idx_labels,
    resolve_source,
    to_canvas,
    write_idx,
)
from mnistvec.data import folder as folder_module
from mnistvec.data.normalise import NoInk

SHARED_MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"


def digit_array(size: int = 28, seed: int = 0) -> np.ndarray:
    """A uint8 white-on-black ring with a bar, roughly digit-sized, on a ``size``×``size`` black field."""
    image = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(image)
    k = size / 28
    draw.ellipse((7 * k, 5 * k, 20 * k, 22 * k), outline=255, width=max(1, round(3 * k)))
    draw.line((18 * k, 8 * k, 10 * k + seed, 24 * k), fill=200, width=max(1, round(2 * k)))
    return np.asarray(image)


def save(array: np.ndarray, path: Path, mode: str | None = None, **options) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(array) if mode is None else Image.fromarray(array).convert(mode)
    image.save(path, **options)
    return path


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """(x, y) in array index coordinates."""
    ys, xs = np.mgrid[0 : image.shape[0], 0 : image.shape[1]]
    total = image.sum()
    return float((image * xs).sum() / total), float((image * ys).sum() / total)


def record_failures():
    seen: list[Failure] = []
    return seen, seen.append


# ---------------------------------------------------------------- IDX


@pytest.mark.parametrize("suffix", [".gz", ""])
def test_idx_round_trip_with_labels_found_next_to_the_images(tmp_path, suffix):
    images = np.stack([digit_array(seed=s) for s in range(3)])
    labels = np.array([7, 1, 4], np.uint8)
    images_path = write_idx(tmp_path / f"tiny-images-idx3-ubyte{suffix}", images)
    write_idx(tmp_path / f"tiny-labels-idx1-ubyte{suffix}", labels)

    assert np.array_equal(read_idx_images(images_path), images)
    assert np.array_equal(read_idx_labels(tmp_path / f"tiny-labels-idx1-ubyte{suffix}"), labels)

    loaded = load_images(images_path)
    assert loaded.names == [
        "tiny-images-idx3-ubyte-00000",
        "tiny-images-idx3-ubyte-00001",
        "tiny-images-idx3-ubyte-00002",
    ]
    np.testing.assert_allclose(loaded.images, images / 255.0, atol=1e-6)
    assert loaded.labels.tolist() == [7, 1, 4]
    assert all(frame == SourceFrame(28, 28, 28.0, 0.0, 0.0, False) for frame in loaded.frames)


def test_idx_file_is_recognised_by_its_magic_whatever_its_name(tmp_path):
    images = np.stack([digit_array(seed=s) for s in range(2)])
    path = tmp_path / "digits.bin"
    path.write_bytes(gzip.compress((write_idx(tmp_path / "x-images-idx3-ubyte", images)).read_bytes()))
    loaded = load_images(path)
    assert len(loaded) == 2 and loaded.labels is None
    assert loaded.names == ["digits-00000", "digits-00001"]


def test_idx_wrong_magic_names_file_and_magic(tmp_path):
    path = write_idx(tmp_path / "odd-images-idx3-ubyte", np.zeros(5, np.uint8))  # a 1-D array: magic 2049
    with pytest.raises(DataError, match=r"odd-images-idx3-ubyte.*magic number 2049.*expected 2051"):
        read_idx_images(path)
    path.write_bytes(b"\x12\x34\x56\x78" + bytes(100))
    with pytest.raises(DataError, match=r"odd-images-idx3-ubyte: bad IDX magic number 305419896"):
        load_images(path)


def test_labels_file_given_as_images_is_refused(tmp_path):
    path = write_idx(tmp_path / "a-labels-idx1-ubyte.gz", np.arange(4, dtype=np.uint8))
    with pytest.raises(DataError, match=r"a-labels-idx1-ubyte\.gz: this is an IDX labels file"):
        load_images(path)


def test_idx_truncated_raw_and_gzip(tmp_path):
    images = np.stack([digit_array(seed=s) for s in range(4)])
    raw = write_idx(tmp_path / "cut-images-idx3-ubyte", images)
    data = raw.read_bytes()
    raw.write_bytes(data[:-100])
    with pytest.raises(
        DataError, match=r"cut-images-idx3-ubyte: truncated IDX file: .*4 × 28 × 28.*3136 bytes.*only 3036"
    ):
        load_images(raw)

    zipped = tmp_path / "cut-images-idx3-ubyte.gz"
    zipped.write_bytes(gzip.compress(data)[:-40])
    with pytest.raises(DataError, match=r"cut-images-idx3-ubyte\.gz: truncated gzip stream"):
        load_images(zipped)

    raw.write_bytes(data + b"extra")
    with pytest.raises(DataError, match=r"5 unexpected bytes"):
        read_idx_images(raw)


def test_idx_labels_of_the_wrong_count_are_an_error(tmp_path):
    write_idx(tmp_path / "m-images-idx3-ubyte", np.stack([digit_array()] * 3))
    write_idx(tmp_path / "m-labels-idx1-ubyte", np.zeros(2, np.uint8))
    with pytest.raises(DataError, match=r"m-labels-idx1-ubyte: 2 labels for the 3 images"):
        load_images(tmp_path / "m-images-idx3-ubyte")


# ---------------------------------------------------------------- folders: names and order


def test_folder_is_read_recursively_in_sorted_order_with_relative_names(tmp_path):
    root = tmp_path / "in"
    for relative in ["b.png", "a/2.png", "a/10.png", "c.JPG", "a/sub/z.bmp", "d.TIFF", "e.webp", "f.gif", "g.jpeg"]:
        save(digit_array(), root / relative)
    (root / "notes.txt").write_text("not an image")
    save(digit_array(), root / ".hidden.png")
    save(digit_array(), root / ".cache" / "x.png")

    loaded = load_images(root)
    assert loaded.names == [
        "a/10.png",
        "a/2.png",
        "a/sub/z.bmp",
        "b.png",
        "c.JPG",
        "d.TIFF",
        "e.webp",
        "f.gif",
        "g.jpeg",
    ]
    assert loaded.failures == [] and loaded.labels is None
    assert loaded.images.shape == (9, 28, 28) and loaded.images.dtype == np.float32


def test_every_file_keeps_its_extension_so_no_two_share_a_name(tmp_path):
    for name in ("a.png", "a.jpg", "a.png.png", "b.png"):
        save(digit_array(), tmp_path / name)
    assert load_images(tmp_path).names == ["a.jpg", "a.png", "a.png.png", "b.png"]
    (tmp_path / "a.png.png").unlink()  # a file's name does not depend on the others
    assert load_images(tmp_path).names == ["a.jpg", "a.png", "b.png"]


# ---------------------------------------------------------------- folders: pixel modes


def test_28x28_image_is_taken_as_it_is(tmp_path):
    digit = digit_array()
    loaded = load_images(save(digit, tmp_path / "d.png"))
    assert loaded.names == ["d.png"]
    np.testing.assert_allclose(loaded.images[0], digit / 255.0, atol=1e-6)
    assert loaded.frames[0] == SourceFrame(28, 28, 28.0, 0.0, 0.0, False)


def test_light_background_is_inverted_to_white_ink_on_black(tmp_path):
    digit = digit_array()
    loaded = load_images(save(255 - digit, tmp_path / "dark-ink.png"))
    np.testing.assert_allclose(loaded.images[0], digit / 255.0, atol=1e-6)
    assert loaded.frames[0].inverted


def test_rgb_dark_blue_ink_on_white(tmp_path):
    digit = digit_array()
    rgb = np.full((28, 28, 3), 255, np.uint8)
    ink = digit > 0
    rgb[ink] = (20, 30, 120)
    image = load_images(save(rgb, tmp_path / "blue.png")).images[0]
    assert image[ink].min() > 0.5 and image[~ink].max() == 0.0


@pytest.mark.parametrize("ink_is_dark", [True, False])
def test_rgba_digit_on_transparent_background(tmp_path, ink_is_dark):
    digit = digit_array()
    ink = digit > 128
    level = 0 if ink_is_dark else 255
    rgba = np.zeros((28, 28, 4), np.uint8)
    rgba[..., :3] = level  # transparent pixels share the ink's colour, so dropping alpha would leave nothing
    rgba[..., 3] = np.where(ink, 255, 0)
    loaded = load_images(save(rgba, tmp_path / "alpha.png"))
    image = loaded.images[0]
    assert np.all(image[ink] == 1.0) and np.all(image[~ink] == 0.0)
    assert loaded.frames[0].inverted == ink_is_dark


def test_la_image_with_partial_alpha_is_composited(tmp_path):
    ink = digit_array() > 128
    la = np.zeros((28, 28, 2), np.uint8)
    la[..., 1] = np.where(ink, 255, 0)
    image = load_images(save(la, tmp_path / "la.png")).images[0]
    assert np.all(image[ink] == 1.0) and np.all(image[~ink] == 0.0)


def test_16_bit_gray_is_scaled_not_clipped(tmp_path):
    ink = digit_array() > 128
    values = np.where(ink, 40000, 0).astype(np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(values).save(path)
    assert Image.open(path).mode.startswith("I")
    image = load_images(path).images[0]
    np.testing.assert_allclose(image[ink], 40000 / 65535, atol=1e-6)
    assert np.all(image[~ink] == 0.0)

    light = np.where(ink, 1000, 60000).astype(np.uint16)
    Image.fromarray(light).save(path)
    loaded = load_images(path)
    np.testing.assert_allclose(loaded.images[0][ink], 1 - 1000 / 65535, atol=1e-6)
    np.testing.assert_allclose(loaded.images[0][~ink], 1 - 60000 / 65535, atol=1e-6)
    assert loaded.frames[0].inverted


def test_palette_and_one_bit_images(tmp_path):
    ink = digit_array() > 128
    palette = Image.fromarray(ink.astype(np.uint8), mode="L").convert("P")
    palette.putpalette([255, 255, 255, 0, 0, 0] + [0] * 762)  # index 0 white paper, 1 black ink
    palette.save(tmp_path / "p.png")
    Image.fromarray(ink).convert("1").save(tmp_path / "q.png")
    assert Image.open(tmp_path / "p.png").mode == "P" and Image.open(tmp_path / "q.png").mode == "1"

    loaded = load_images(tmp_path)
    assert loaded.names == ["p.png", "q.png"]
    for image in loaded.images:
        assert np.all(image[ink] == 1.0) and np.all(image[~ink] == 0.0)
    assert [frame.inverted for frame in loaded.frames] == [True, False]


def test_palette_gif_with_a_transparent_background(tmp_path):
    ink = digit_array() > 128
    palette = Image.fromarray(ink.astype(np.uint8), mode="L").convert("P")
    palette.putpalette([0, 0, 0, 10, 10, 10] + [0] * 762)  # index 0 transparent black, index 1 near-black ink
    palette.save(tmp_path / "t.gif", transparency=0)
    image = load_images(tmp_path / "t.gif").images[0]
    assert np.all(image[ink] > 0.95) and np.all(image[~ink] == 0.0)


# ---------------------------------------------------------------- normalisation of other sizes


def l_shape_with_dot(width=200, height=120):
    """A black 200×120 field with an L of two bars and a separate 8×8 dot centred at (142, 26)."""
    field = np.zeros((height, width), np.uint8)
    field[20:100, 60:70] = 255
    field[90:100, 60:150] = 255
    field[22:30, 138:146] = 255
    return field


def check_frame_maps_back(image: np.ndarray, frame: SourceFrame, source: np.ndarray):
    """The canvas centre of mass and the dot both map back to where they are in the source."""
    canvas_pixel = frame.scale / 28  # source pixels per canvas pixel

    source_x, source_y = centre_of_mass(source.astype(np.float64))
    expected_cx, expected_cy = frame.to_canvas(source_x + 0.5, source_y + 0.5)
    got_x, got_y = centre_of_mass(image)
    assert abs((got_x + 0.5) / 28 - expected_cx) * 28 < 0.3
    assert abs((got_y + 0.5) / 28 - expected_cy) * 28 < 0.3

    dot_cx, dot_cy = frame.to_canvas(142.0, 26.0)
    col, row = int(dot_cx * 28), int(dot_cy * 28)
    window = image[max(row - 3, 0) : row + 4, max(col - 3, 0) : col + 4]
    assert window.max() > 0.3, "no ink where the frame puts the dot"
    wx, wy = centre_of_mass(window)
    found_x, found_y = frame.to_source((max(col - 3, 0) + wx + 0.5) / 28, (max(row - 3, 0) + wy + 0.5) / 28)
    assert abs(found_x - 142.0) < canvas_pixel and abs(found_y - 26.0) < canvas_pixel


def test_large_image_is_fitted_in_20x20_and_centred_by_mass(tmp_path):
    source = l_shape_with_dot()
    loaded = load_images(save(source, tmp_path / "wide.png"))
    image, frame = loaded.images[0], loaded.frames[0]

    rows = np.flatnonzero((image > 0.5).any(axis=1))
    cols = np.flatnonzero((image > 0.5).any(axis=0))
    assert 18 <= cols[-1] - cols[0] + 1 <= 21, "the long side of the ink box spans about 20 pixels"
    assert rows[-1] - rows[0] + 1 <= 20
    com_x, com_y = centre_of_mass(image)
    assert abs(com_x - 14) < 0.5 and abs(com_y - 14) < 0.5
    assert image.max() == 1.0 and image.min() == 0.0

    assert (frame.width, frame.height, frame.inverted) == (200, 120, False)
    np.testing.assert_allclose(frame.scale, 90 * 28 / 20, rtol=1e-6)  # ink box 90 wide → 20 canvas pixels
    check_frame_maps_back(image, frame, source)


def test_dark_ink_on_light_paper_of_other_size_is_inverted_and_mapped(tmp_path):
    source = l_shape_with_dot()
    paper = (230 - source * (200 / 255)).astype(np.uint8)  # grey paper 230, ink 30
    loaded = load_images(save(paper, tmp_path / "paper.jpg", quality=95))
    assert loaded.frames[0].inverted
    check_frame_maps_back(loaded.images[0], loaded.frames[0], source)


def test_tiny_image_is_upscaled(tmp_path):
    tiny = np.zeros((9, 7), np.uint8)
    tiny[2:7, 3] = 255
    tiny[2, 2:5] = 255
    image = load_images(save(tiny, tmp_path / "tiny.png")).images[0]
    rows = np.flatnonzero((image > 0.5).any(axis=1))
    assert 18 <= rows[-1] - rows[0] + 1 <= 21


@settings(max_examples=40, deadline=None)
@given(
    width=st.integers(30, 400),
    height=st.integers(30, 400),
    box=st.tuples(st.floats(0.05, 0.6), st.floats(0.05, 0.6), st.floats(0.3, 0.95), st.floats(0.3, 0.95)),
    stroke=st.integers(2, 12),
)
def test_any_ellipse_is_fitted_centred_and_mapped_back(width, height, box, stroke):
    x0, y0 = box[0] * width, box[1] * height
    x1, y1 = max(box[2] * width, x0 + 8), max(box[3] * height, y0 + 8)
    image = Image.new("L", (width, height), 0)
    ImageDraw.Draw(image).ellipse((x0, y0, min(x1, width - 1), min(y1, height - 1)), outline=255, width=stroke)
    source = np.asarray(image, np.float32) / 255

    canvas = to_canvas(source)
    com_x, com_y = centre_of_mass(canvas.image)
    assert abs(com_x - 14) < 0.3 and abs(com_y - 14) < 0.3
    ink = canvas.image > 0.5
    longest = max(np.ptp(np.flatnonzero(ink.any(axis=0))), np.ptp(np.flatnonzero(ink.any(axis=1)))) + 1
    assert 17 <= longest <= 21

    source_x, source_y = centre_of_mass(source)
    mapped_x, mapped_y = canvas.frame.to_canvas(source_x + 0.5, source_y + 0.5)
    assert abs(mapped_x * 28 - (com_x + 0.5)) < 0.3 and abs(mapped_y * 28 - (com_y + 0.5)) < 0.3


def test_to_canvas_rejects_blank_and_uniform_images():
    with pytest.raises(NoInk):
        to_canvas(np.zeros((50, 40), np.float32))
    with pytest.raises(NoInk):
        to_canvas(np.full((28, 28), 0.7, np.float32))


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_images_reduced_for_working_size_keep_an_exact_frame(tmp_path, monkeypatch, suffix):
    monkeypatch.setattr(grayscale, "WORKING_MAX_SIDE", 64)
    source = l_shape_with_dot()
    path = save(source, tmp_path / f"reduced{suffix}", **({"quality": 95} if suffix == ".jpg" else {}))
    gray = grayscale.read_gray(path)
    assert gray.factor > 1 and max(gray.pixels.shape) <= 64 * 2  # JPEG draft scales are powers of two
    loaded = load_images(path)
    assert (loaded.frames[0].width, loaded.frames[0].height) == (200, 120)
    check_frame_maps_back(loaded.images[0], loaded.frames[0], source)


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_10000_by_10000_image_is_read_at_reduced_size(tmp_path, suffix):
    image = Image.new("L", (10_000, 10_000), 0)
    ImageDraw.Draw(image).ellipse((3000, 2000, 6000, 8000), outline=255, width=300)
    path = tmp_path / f"huge{suffix}"
    image.save(path, **({"compress_level": 1} if suffix == ".png" else {"quality": 80}))
    del image

    gray = grayscale.read_gray(path)
    assert max(gray.pixels.shape) <= grayscale.WORKING_MAX_SIDE
    assert (gray.source_width, gray.source_height) == (10_000, 10_000)

    loaded = load_images(path)
    frame = loaded.frames[0]
    com_x, com_y = centre_of_mass(loaded.images[0])
    source_x, source_y = frame.to_source((com_x + 0.5) / 28, (com_y + 0.5) / 28)
    canvas_pixel = frame.scale / 28
    assert abs(source_x - 4500) < canvas_pixel and abs(source_y - 5000) < canvas_pixel


@pytest.mark.parametrize(
    ("orientation", "suffix", "working_side"),
    [(3, ".png", 64), (6, ".png", 64), (8, ".png", 64), (6, ".jpg", 2048), (5, ".png", 2048)],
)
def test_exif_orientation_is_applied_and_the_frame_uses_displayed_pixels(
    tmp_path, monkeypatch, orientation, suffix, working_side
):
    monkeypatch.setattr(grayscale, "WORKING_MAX_SIDE", working_side)
    displayed = l_shape_with_dot(width=201, height=121)  # reduced 4×: 51 × 31 working pixels cover 204 × 124
    undo = {
        3: Image.Transpose.ROTATE_180,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_90,
        8: Image.Transpose.ROTATE_270,
    }
    stored = Image.fromarray(displayed).transpose(undo[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"turned{suffix}"
    stored.save(path, exif=exif, **({"quality": 95} if suffix == ".jpg" else {}))
    with Image.open(path) as reopened:
        assert np.array_equal(np.asarray(ImageOps.exif_transpose(reopened)) > 128, displayed > 128)

    loaded = load_images(path)
    frame = loaded.frames[0]
    assert (frame.width, frame.height) == (201, 121)
    check_frame_maps_back(loaded.images[0], frame, displayed)
    upright = load_images(save(displayed, tmp_path / "upright.png")).images[0]
    assert np.abs(loaded.images[0] - upright).mean() < 0.03, "the digit reads upright, as displayed"


def test_image_over_the_decompression_bomb_limit_is_a_failure_line(tmp_path, monkeypatch, capsys):
    save(digit_array(200), tmp_path / "big.png")
    save(digit_array(), tmp_path / "small.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 200×200 > 2 × 1000
    loaded = load_images(tmp_path)
    assert loaded.names == ["small.png"]
    assert [f.path for f in loaded.failures] == [str(tmp_path / "big.png")]
    assert loaded.failures[0].reason.startswith("image too large")
    assert capsys.readouterr().err.count("warning: ") == 1


# ---------------------------------------------------------------- folders: failures


def make_bad_files(folder: Path) -> dict[str, str]:
    """Bad files in ``folder``, mapped to a fragment of the reason each must give."""
    good = io.BytesIO()
    Image.fromarray(digit_array(64)).save(good, "PNG")
    png = bytearray(good.getvalue())
    idat = png.index(b"IDAT")
    png[idat + 8 : idat + 40] = bytes(32)  # zero a run of the compressed data
    (folder / "corrupt.png").write_bytes(bytes(png))

    jpeg = io.BytesIO()
    Image.fromarray(digit_array(64)).save(jpeg, "JPEG")
    (folder / "truncated.jpg").write_bytes(jpeg.getvalue()[: len(jpeg.getvalue()) // 2])

    (folder / "text.png").write_text("this is not a picture\n")
    save(np.zeros((40, 40), np.uint8), folder / "blank.png")
    return {
        "corrupt.png": "corrupt or truncated image data",
        "truncated.jpg": "corrupt or truncated image data",
        "text.png": "not an image file",
        "blank.png": "no ink found",
    }


def test_bad_files_are_reported_one_line_each_and_the_rest_is_read(tmp_path, capsys):
    expected = make_bad_files(tmp_path)
    save(digit_array(), tmp_path / "good1.png")
    save(digit_array(56), tmp_path / "good2.png")

    loaded = load_images(tmp_path)
    assert loaded.names == ["good1.png", "good2.png"]
    reasons = {Path(f.path).name: f.reason for f in loaded.failures}
    assert set(reasons) == set(expected)
    for name, fragment in expected.items():
        assert fragment in reasons[name], (name, reasons[name])

    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == len(expected)
    for line in lines:
        assert line.startswith(f"warning: {tmp_path}{os.sep}") and "\n" not in line


def test_on_failure_callback_replaces_the_default_warning(tmp_path, capsys):
    make_bad_files(tmp_path)
    save(digit_array(), tmp_path / "good.png")
    seen, callback = record_failures()
    loaded = load_images(tmp_path, on_failure=callback)
    assert seen == loaded.failures and len(seen) == 4
    assert capsys.readouterr().err == ""


def test_unreadable_file_is_a_failure(tmp_path):
    path = save(digit_array(), tmp_path / "locked.png")
    save(digit_array(), tmp_path / "open.png")
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("this user can read files with mode 000 (running as root)")
        seen, callback = record_failures()
        loaded = load_images(tmp_path, on_failure=callback)
        assert loaded.names == ["open.png"]
        assert seen == [Failure(str(path), "permission denied")]
    finally:
        path.chmod(0o644)


def test_permission_error_while_opening_is_a_failure(tmp_path, monkeypatch):
    """The same path as the chmod test, reached even where the user can read any file."""
    locked = save(digit_array(), tmp_path / "locked.png")
    save(digit_array(), tmp_path / "open.png")
    real_open = Image.open

    def guarded_open(path, *args, **kwargs):
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(Image, "open", guarded_open)
    # The native decoder hands a file it cannot open to Pillow; here Pillow is what refuses it.
    monkeypatch.setattr(folder_module, "decode_png_gray", lambda *args, **kwargs: None)
    seen, callback = record_failures()
    loaded = load_images(tmp_path, on_failure=callback)
    assert loaded.names == ["open.png"]
    assert seen == [Failure(str(locked), "permission denied")]


def test_folder_of_only_bad_files_raises_after_reporting_each(tmp_path):
    expected = make_bad_files(tmp_path)
    seen, callback = record_failures()
    with pytest.raises(DataError, match=r"none of its 4 image files could be read"):
        load_images(tmp_path, on_failure=callback)
    assert sorted(Path(f.path).name for f in seen) == sorted(expected)


def test_empty_folder_and_folder_without_images_and_missing_path(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match=r"empty: no image files"):
        load_images(empty)
    with pytest.raises(DataError, match=r"empty: no image files"):
        iter_batches(empty, 4)  # raised at the call, before any iteration
    (empty / "readme.txt").write_text("hello")
    with pytest.raises(DataError, match=r"empty: no image files"):
        load_images(empty)
    with pytest.raises(DataError, match=r"nowhere: no such file or folder"):
        load_images(tmp_path / "nowhere")
    with pytest.raises(DataError, match=r"readme.txt: unrecognised file"):
        load_images(empty / "readme.txt")


def test_single_image_file_problems_are_data_errors(tmp_path):
    blank = save(np.full((30, 30), 255, np.uint8), tmp_path / "blank.png")
    with pytest.raises(DataError, match=r"blank.png: no ink found"):
        load_images(blank)
    text = tmp_path / "fake.jpg"
    text.write_text("nope")
    with pytest.raises(DataError, match=r"fake.jpg: not an image file"):
        load_images(text)


# ---------------------------------------------------------------- streaming


def test_iter_batches_reads_a_folder_lazily_and_records_each_failure_once(tmp_path, monkeypatch):
    for k in range(7):
        save(digit_array(seed=k % 3), tmp_path / f"{k:02d}.png")
    (tmp_path / "03b.png").write_text("bad")
    (tmp_path / "06b.png").write_text("bad")

    reads = []  # every file opened, by the native decoder (a batch ahead) or by Pillow
    real_read_canvas, real_decode = folder_module.read_canvas, folder_module.decode_png_gray
    monkeypatch.setattr(folder_module, "read_canvas", lambda path: reads.append(path) or real_read_canvas(path))
    monkeypatch.setattr(
        folder_module, "decode_png_gray", lambda paths, *a: reads.extend(paths) or real_decode(paths, *a)
    )

    seen, callback = record_failures()
    batches = iter_batches(tmp_path, 3, on_failure=callback)
    first = next(batches)
    assert len(first) == 3 and len(reads) <= 2 * 3 + 2, "only about two batches of files are read before the first"
    rest = list(batches)
    assert [len(b) for b in [first, *rest]] == [3, 3, 1]
    assert [n for b in [first, *rest] for n in b.names] == [f"{k:02d}.png" for k in range(7)]
    recorded = [f for b in [first, *rest] for f in b.failures]
    assert recorded == seen and sorted(Path(f.path).name for f in recorded) == ["03b.png", "06b.png"]

    whole = load_images(tmp_path, on_failure=lambda f: None)
    assert np.array_equal(whole.images, np.concatenate([b.images for b in [first, *rest]]))


def test_iter_batches_slices_in_memory_sources_and_respects_limit(tmp_path):
    images = np.stack([digit_array(seed=s % 4) for s in range(10)])
    path = write_idx(tmp_path / "ten-images-idx3-ubyte", images)
    assert [len(b) for b in iter_batches(path, 4)] == [4, 4, 2]
    assert [len(b) for b in iter_batches(str(path), 4, limit=5)] == [4, 1]
    assert len(load_images(path, limit=3)) == 3
    assert resolve_source(path).count() == 10


# ---------------------------------------------------------------- npz


def test_npz_with_names_labels_and_mixed_value_kinds(tmp_path):
    images = np.stack([digit_array(seed=s) for s in range(3)])
    path = tmp_path / "set.npz"
    np.savez(path, images=images, names=np.array(["one", "two/deep", "three"]), labels=np.array([1, 2, 3]))
    loaded = load_images(path)
    assert loaded.names == ["one", "two/deep", "three"] and loaded.labels.tolist() == [1, 2, 3]
    np.testing.assert_allclose(loaded.images, images / 255.0, atol=1e-6)
    assert resolve_source(path).count() == 3

    single = tmp_path / "single.npz"
    np.savez(single, images=(l_shape_with_dot() / 255.0).astype(np.float64))
    loaded = load_images(single)
    assert loaded.names == ["single"] and loaded.frames[0].width == 200
    check_frame_maps_back(loaded.images[0], loaded.frames[0], l_shape_with_dot())


def test_npz_blank_items_are_failures_and_drop_their_labels(tmp_path):
    images = np.stack([digit_array(), np.zeros((28, 28), np.uint8), digit_array(seed=2)])
    path = tmp_path / "gaps.npz"
    np.savez(path, images=images, labels=np.array([5, 6, 7]))
    seen, callback = record_failures()
    loaded = load_images(path, on_failure=callback)
    assert loaded.names == ["gaps-00000", "gaps-00002"] and loaded.labels.tolist() == [5, 7]
    assert seen == [Failure(f"{path}[1]", "no ink found")] == loaded.failures


def test_npz_items_with_bad_values_are_failures_and_the_rest_is_read(tmp_path):
    images = np.stack([digit_array(seed=s) for s in range(5)]).astype(np.float32) / 255
    images[1, 3, 4] = np.nan
    images[2, 0, :2] = [np.inf, -np.inf]
    images[3, 5, 5] = 1.5
    path = tmp_path / "mixed.npz"
    np.savez(path, images=images, labels=np.arange(5))
    seen, callback = record_failures()
    loaded = load_images(path, on_failure=callback)
    assert loaded.names == ["mixed-00000", "mixed-00004"] and loaded.labels.tolist() == [0, 4]
    assert (
        seen
        == loaded.failures
        == [
            Failure(f"{path}[1]", "1 NaN or infinite values"),
            Failure(f"{path}[2]", "2 NaN or infinite values"),
            Failure(f"{path}[3]", "float values must lie in [0, 1], found 0 to 1.5"),
        ]
    )
    integers = tmp_path / "ints.npz"
    np.savez(integers, images=np.stack([digit_array().astype(np.int16), np.full((28, 28), 300, np.int16)]))
    seen, callback = record_failures()
    assert load_images(integers, on_failure=callback).names == ["ints-00000"]
    assert seen == [Failure(f"{integers}[1]", "integer values must lie in 0..255, found 300 to 300")]


def test_npz_problems_are_data_errors(tmp_path):
    missing = tmp_path / "missing.npz"
    np.savez(missing, pictures=np.zeros((2, 28, 28)))
    with pytest.raises(DataError, match=r"missing.npz: no 'images' array in this .npz \(it holds pictures\)"):
        load_images(missing)

    out_of_range = tmp_path / "range.npz"
    np.savez(out_of_range, images=np.full((1, 28, 28), 3.0))
    with pytest.raises(DataError, match=r"range.npz: none of its 1 images could be read"):
        load_images(out_of_range, on_failure=lambda failure: None)

    wrong_names = tmp_path / "names.npz"
    np.savez(wrong_names, images=np.stack([digit_array()] * 2), names=np.array(["a"]))
    with pytest.raises(DataError, match=r"names.npz: 2 images but 1 names"):
        load_images(wrong_names)

    not_npz = tmp_path / "junk.npz"
    not_npz.write_text("junk")
    with pytest.raises(DataError, match=r"junk.npz: "):
        load_images(not_npz)


# ---------------------------------------------------------------- types


def test_source_frame_maps_both_ways():
    frame = SourceFrame(width=200, height=120, scale=126.0, offset_x=37.5, offset_y=-4.25, inverted=True)
    x, y = frame.to_source(np.array([0.0, 0.5, 1.0]), np.array([0.0, 0.25, 1.0]))
    np.testing.assert_allclose(x, [37.5, 100.5, 163.5])
    np.testing.assert_allclose(y, [-4.25, 27.25, 121.75])
    back_x, back_y = frame.to_canvas(x, y)
    np.testing.assert_allclose(back_x, [0.0, 0.5, 1.0])
    np.testing.assert_allclose(back_y, [0.0, 0.25, 1.0])


def test_image_set_indexing_and_concat():
    images = np.stack([np.full((28, 28), k / 10, np.float32) for k in range(5)])
    frames = [SourceFrame(28, 28, 28.0, 0.0, 0.0, bool(k % 2)) for k in range(5)]
    full = ImageSet(images, [f"n{k}" for k in range(5)], frames, np.arange(5), [Failure("x", "y")])
    assert len(full) == 5
    assert full[1:3].names == ["n1", "n2"] and full[1:3].labels.tolist() == [1, 2] and full[1:3].failures == []
    assert full[-1].names == ["n4"] and full[[4, 0]].labels.tolist() == [4, 0]
    joined = ImageSet.concat([full[:2], full[2:]])
    assert joined.names == full.names and np.array_equal(joined.images, full.images)
    with pytest.raises(IndexError):
        full[5]
    with pytest.raises(ValueError, match="shape"):
        ImageSet(np.zeros((1, 27, 28)), ["a"], frames[:1])


def test_unknown_mnist_split_is_an_error():
    with pytest.raises(DataError, match=r"mnist:val: unknown MNIST split 'val'"):
        load_images("mnist:val")


# ---------------------------------------------------------------- the shared MNIST subset


@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason=f"the shared MNIST folder {SHARED_MNIST} is missing")
def test_train_5k_subset_loads_with_plausible_ink():
    loaded = load_images(SHARED_MNIST / "train-5k-images-idx3-ubyte.gz")
    assert loaded.images.shape == (5000, 28, 28) and loaded.failures == []
    assert loaded.images.min() == 0.0 and loaded.images.max() == 1.0
    ink_fraction = (loaded.images > 0.5).mean(axis=(1, 2))
    assert 0.05 < ink_fraction.mean() < 0.25 and ink_fraction.min() > 0.01
    assert np.all(loaded.images[:, 0, :] == 0) and not any(f.inverted for f in loaded.frames)
    assert np.bincount(loaded.labels).tolist() == [500] * 10


def test_the_native_png_decoder_reads_a_folder_exactly_as_pillow_does(tmp_path, monkeypatch):
    from mnistvec.native import load_library

    if load_library() is None:
        pytest.skip("the native library is not built")
    rng = np.random.default_rng(3)
    for k in range(12):
        save(digit_array(seed=k % 5), tmp_path / f"gray-{k:02d}.png", compress_level=k % 10)
    save(255 - digit_array(seed=2), tmp_path / "inverted.png")  # dark ink on light paper
    save(digit_array(seed=1), tmp_path / "rgb.png", mode="RGB")
    save(
        np.stack([digit_array(seed=3), rng.integers(0, 255, (28, 28), np.uint8), digit_array()], -1),
        tmp_path / "colour.png",
    )
    save(digit_array(seed=1), tmp_path / "rgba.png", mode="RGBA")
    save(digit_array(56, seed=2), tmp_path / "large.png")
    save(digit_array(seed=4), tmp_path / "scan.jpg")
    save(np.zeros((28, 28), np.uint8), tmp_path / "blank.png")
    save(rng.integers(0, 255, (28, 28), np.uint8), tmp_path / "noise.png")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    (tmp_path / "sub").mkdir()
    save(digit_array(seed=2), tmp_path / "sub" / "deeper.png")

    def read_all() -> tuple[list, list]:
        seen, callback = record_failures()
        return list(iter_batches(tmp_path, 4, on_failure=callback)), seen

    natively, native_failures = read_all()
    decoded = []
    real = folder_module.decode_png_gray
    monkeypatch.setattr(folder_module, "decode_png_gray", lambda *a, **k: decoded.append(real(*a, **k)) or None)
    by_pillow, pillow_failures = read_all()
    assert sum(int(d.sum()) for _, d in decoded) >= 15, "most of these files are the native decoder's"
    assert native_failures == pillow_failures and len(pillow_failures) == 2  # blank, broken
    assert len(natively) == len(by_pillow) == 5
    for a, b in zip(natively, by_pillow):
        assert a.names == b.names and a.frames == b.frames and a.doubts == b.doubts and a.failures == b.failures
        assert a.images.dtype == b.images.dtype and np.array_equal(a.images, b.images)
