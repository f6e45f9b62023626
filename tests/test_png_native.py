"""The native PNG decoder (`mnistvec.data.png_native`): Pillow's pixels exactly for the files it decodes,
`decoded` False for every other file, and never a decoded file that Pillow would read differently."""

from __future__ import annotations

import io
import os
import struct
import tempfile
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, PngImagePlugin

from mnistvec.data import png_native
from mnistvec.data.png_native import decode_png_gray
from mnistvec.native import load_library

pytestmark = pytest.mark.skipif(
    load_library() is None,
    reason="the native library mnistvec._native is not built (install the package with a Rust toolchain)",
)


def pillow_gray(path) -> np.ndarray:
    """What the decoder must match: Pillow's pixels converted to L."""
    with Image.open(path) as image:
        return np.asarray(image.convert("L"))


def random_image(rng: np.random.Generator, mode: str, height: int, width: int, smooth: bool) -> Image.Image:
    """A gray or RGB image: smooth gradients with a little noise (so that prediction filters pay off), or
    uniform noise."""
    channels = 3 if mode == "RGB" else 1
    if smooth:
        y, x = np.mgrid[0:height, 0:width]
        base = np.stack([(x * (3 + c) + y * (5 - c)) % 256 for c in range(channels)], axis=-1)
        pixels = (base + rng.integers(0, 3, base.shape)).astype(np.uint8)
    else:
        pixels = rng.integers(0, 256, (height, width, channels), dtype=np.uint8)
    return Image.fromarray(pixels[..., 0] if channels == 1 else pixels, mode)


def chunks(data: bytes) -> list[tuple[bytes, bytes, int]]:
    """A PNG file's chunks: (type, data, offset of the chunk's length field)."""
    found, at = [], 8
    while at + 8 <= len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        found.append((data[at + 4 : at + 8], data[at + 8 : at + 8 + length], at))
        at += 12 + length
    return found


def filter_types(data: bytes, height: int, width: int, channels: int) -> set[int]:
    """The filter type bytes of a non-interlaced 8-bit PNG file's rows."""
    raw = zlib.decompress(b"".join(body for kind, body, _ in chunks(data) if kind == b"IDAT"))
    stride = 1 + width * channels
    return {raw[row * stride] for row in range(height)}


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def hand_png(width: int, height: int, colour: int, rows: bytes, interlace: int = 0, depth: int = 8, extra=()) -> bytes:
    """A PNG file written by hand: IHDR, the `extra` chunks, one IDAT of `rows` (filter bytes included)."""
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, interlace)
    body = chunk(b"IHDR", header) + b"".join(extra) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def decode(paths, height, width, threads=0):
    images, decoded = decode_png_gray([str(p) for p in paths], height, width, threads)
    return images, decoded


def test_pillow_written_files_decode_to_pillows_pixels(tmp_path):
    rng = np.random.default_rng(0)
    paths, expected, filters = [], [], set()
    for k in range(240):
        mode = "RGB" if k % 2 else "L"
        height, width = 28, 28
        image = random_image(rng, mode, height, width, smooth=k % 3 != 0)
        path = tmp_path / f"{k}.png"
        image.save(path, compress_level=k % 10, optimize=bool(k // 10 % 2))
        filters |= filter_types(path.read_bytes(), height, width, 3 if mode == "RGB" else 1)
        paths.append(path)
        expected.append(pillow_gray(path))
    images, decoded = decode(paths, 28, 28)
    assert decoded.all()
    np.testing.assert_array_equal(images, np.stack(expected))
    assert filters == {0, 1, 2, 3, 4}, "every filter type occurs"
    again, decoded_again = decode(paths, 28, 28, threads=1)
    assert decoded_again.all() and np.array_equal(again, images)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    mode=st.sampled_from(["L", "RGB"]),
    height=st.integers(1, 70),
    width=st.integers(1, 70),
    smooth=st.booleans(),
    level=st.integers(0, 9),
    optimize=st.booleans(),
)
def test_random_sizes_and_settings(seed, mode, height, width, smooth, level, optimize):
    image = random_image(np.random.default_rng(seed), mode, height, width, smooth)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "image.png"
        image.save(path, compress_level=level, optimize=optimize)
        images, decoded = decode([path], height, width)
        assert decoded.tolist() == [True]
        np.testing.assert_array_equal(images[0], pillow_gray(path))


def test_rgb_to_gray_is_pillows_for_every_channel_value(tmp_path):
    y, x = np.mgrid[0:256, 0:256]
    pixels = np.stack([y, x, (y * 7 + x * 13) % 256], axis=-1).astype(np.uint8)
    path = tmp_path / "rgb.png"
    Image.fromarray(pixels, "RGB").save(path)
    images, decoded = decode([path], *pixels.shape[:2])
    assert decoded.all()
    np.testing.assert_array_equal(images[0], pillow_gray(path))
    r, g, b = (pixels[..., c].astype(np.int64) for c in range(3))
    np.testing.assert_array_equal(images[0], (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16)


def test_harmless_ancillary_chunks_are_decoded(tmp_path):
    rows = b"".join(b"\x02" + bytes(range(k, k + 5)) for k in range(4))
    extra = [chunk(b"gAMA", struct.pack(">I", 45455)), chunk(b"pHYs", bytes(9)), chunk(b"sRGB", b"\0")]
    path = tmp_path / "ancillary.png"
    path.write_bytes(hand_png(5, 4, 0, rows, extra=extra))
    images, decoded = decode([path], 4, 5)
    assert decoded.all()
    np.testing.assert_array_equal(images[0], pillow_gray(path))


def save(image: Image.Image, path: Path, **options) -> Path:
    image.save(path, **options)
    return path


def fallback_files(folder: Path) -> dict[str, Path]:
    """One 8x8 file (or path) per case the decoder must leave to Pillow."""
    rng = np.random.default_rng(1)
    gray = Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8), "L")
    rgb = Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8), "RGB")
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "hello")
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotated
    files = {
        "RGBA": save(rgb.convert("RGBA"), folder / "rgba.png"),
        "LA": save(gray.convert("LA"), folder / "la.png"),
        "palette": save(rgb.convert("P"), folder / "palette.png"),
        "16-bit": save(gray.convert("I;16"), folder / "i16.png"),
        "1-bit": save(gray.convert("1"), folder / "bilevel.png"),
        "tRNS": save(gray, folder / "trns.png", transparency=0),
        "tRNS RGB": save(rgb, folder / "trns_rgb.png", transparency=(1, 2, 3)),
        "eXIf": save(gray, folder / "exif.png", exif=exif),
        "APNG": save(gray, folder / "apng.png", save_all=True, append_images=[rgb.convert("L")]),
        "tEXt": save(gray, folder / "text.png", pnginfo=info),
        "wrong size": save(gray.resize((8, 9)), folder / "wrong_size.png"),
        "JPEG": save(gray, folder / "gray.jpg", format="JPEG"),
        "empty": folder / "empty.png",
        "folder": folder / "a_folder.png",
        "missing": folder / "missing.png",
    }
    files["empty"].write_bytes(b"")
    files["folder"].mkdir()
    interlaced_rows = b"".join(b"\x00" + bytes(range(8)) for _ in range(8))
    files["interlaced"] = folder / "interlaced.png"
    files["interlaced"].write_bytes(hand_png(8, 8, 0, adam7_rows(interlaced_rows, 8, 8), interlace=1))
    return files


def adam7_rows(rows: bytes, height: int, width: int) -> bytes:
    """The Adam7 passes of 8-bit gray `rows` (each a filter byte then `width` samples), filter 0."""
    pixels = np.frombuffer(rows, np.uint8).reshape(height, width + 1)[:, 1:]
    passes = [(0, 0, 8, 8), (0, 4, 8, 8), (4, 0, 8, 4), (0, 2, 4, 4), (2, 0, 4, 2), (0, 1, 2, 2), (1, 0, 2, 1)]
    out = b""
    for y0, x0, dy, dx in passes:
        sub = pixels[y0::dy, x0::dx]
        if sub.size:
            out += b"".join(b"\x00" + row.tobytes() for row in sub)
    return out


def test_every_fallback_case_is_not_decoded(tmp_path):
    files = fallback_files(tmp_path)
    with Image.open(files["interlaced"]) as image:  # the hand-written interlaced file is a valid one
        assert image.info.get("interlace") == 1
        np.testing.assert_array_equal(np.asarray(image), np.tile(np.arange(8, dtype=np.uint8), (8, 1)))
    images, decoded = decode(files.values(), 8, 8)
    assert dict(zip(files, decoded.tolist())) == dict.fromkeys(files, False)
    plain = save(Image.new("L", (8, 8), 7), tmp_path / "plain.png")
    images, decoded = decode([*files.values(), plain], 8, 8)
    assert decoded.tolist() == [False] * len(files) + [True] and (images[-1] == 7).all()


def test_a_fifo_is_not_waited_on(tmp_path):
    fifo = tmp_path / "fifo.png"
    os.mkfifo(fifo)
    result = {}
    worker = threading.Thread(target=lambda: result.update(out=decode([fifo], 8, 8)), daemon=True)
    worker.start()
    worker.join(timeout=10)
    if worker.is_alive():  # release the blocked open before failing
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        worker.join(timeout=10)
        pytest.fail("the decoder blocked opening a FIFO")
    assert result["out"][1].tolist() == [False]


def test_empty_batches_bad_arguments_and_a_missing_library(tmp_path, monkeypatch):
    images, decoded = decode_png_gray([], 28, 28)
    assert images.shape == (0, 28, 28) and decoded.shape == (0,) and decoded.dtype == bool
    plain = save(Image.new("L", (3, 2), 9), tmp_path / "plain.png")
    images, decoded = decode_png_gray([plain, os.fsencode(plain)], 2, 3)
    assert decoded.tolist() == [True, True] and images.shape == (2, 2, 3) and (images == 9).all()
    assert decode_png_gray([plain], 0, 3)[1].tolist() == [False]
    for bad in ({"height": -1}, {"width": 2.5}, {"threads": -1}, {"threads": 2**32}, {"height": True}):
        arguments = {"height": 2, "width": 3} | bad
        with pytest.raises(ValueError):
            decode_png_gray([plain], **arguments)
    monkeypatch.setattr(png_native, "load_library", lambda: None)
    assert decode_png_gray([plain], 2, 3) is None


def valid_samples() -> list[tuple[bytes, int, int]]:
    """A few valid files (bytes, height, width) to corrupt: gray and RGB, stored and compressed, one with
    several IDAT chunks and ancillary chunks."""
    rng = np.random.default_rng(2)
    samples = []
    for mode, level, smooth in [("L", 9, True), ("RGB", 6, False), ("L", 0, False), ("RGB", 1, True)]:
        buffer = io.BytesIO()
        random_image(rng, mode, 9, 11, smooth).save(buffer, "PNG", compress_level=level)
        samples.append((buffer.getvalue(), 9, 11))
    rows = b"".join(bytes([k % 5]) + bytes(rng.integers(0, 256, 6, dtype=np.uint8)) for k in range(5))
    stream = zlib.compress(rows, 9)
    idats = [chunk(b"IDAT", stream[i : i + 7]) for i in range(0, len(stream), 7)]
    head = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 6, 5, 8, 0, 0, 0, 0))
    ancillary = chunk(b"gAMA", struct.pack(">I", 45455)) + chunk(b"iCCP", b"icc\0\0" + zlib.compress(b"profile"))
    samples.append((head + ancillary + b"".join(idats) + chunk(b"tIME", bytes(7)) + chunk(b"IEND", b""), 5, 6))
    return samples


SAMPLES = valid_samples()


def with_fixed_crcs(data: bytes) -> bytes:
    """`data` with every whole chunk's CRC recomputed (so that damage inside reaches the decoder)."""
    out = bytearray(data)
    for kind, body, at in chunks(data):
        end = at + 8 + len(body)
        if end + 4 <= len(out):
            out[end : end + 4] = struct.pack(">I", zlib.crc32(kind + body))
    return bytes(out)


corruption = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(0, 7)),
    st.tuples(st.just("flip, CRCs fixed"), st.integers(0, 10**6), st.integers(0, 7)),
    st.tuples(st.just("truncate"), st.integers(0, 10**6), st.just(0)),
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.integers(0, 255)),
    st.tuples(st.just("bad CRC"), st.integers(0, 10**6), st.integers(1, 255)),
)


def corrupt(data: bytes, how: tuple[str, int, int]) -> bytes:
    kind, where, value = how
    at = where % len(data)
    if kind.startswith("flip"):
        flipped = data[:at] + bytes([data[at] ^ (1 << value)]) + data[at + 1 :]
        return with_fixed_crcs(flipped) if kind.endswith("fixed") else flipped
    if kind == "truncate":
        return data[:at]
    if kind == "insert":
        return data[:at] + bytes([value]) + data[at:]
    crcs = [at + 8 + len(body) for _, body, at in chunks(data) if at + 8 + len(body) < len(data)]
    crc = crcs[where % len(crcs)] if crcs else len(data) - 1
    return data[:crc] + bytes([data[crc] ^ value]) + data[crc + 1 :]


@settings(max_examples=300, deadline=None)
@given(sample=st.sampled_from(range(len(SAMPLES))), damage=st.lists(corruption, min_size=1, max_size=3))
def test_corrupted_files_are_decoded_only_as_pillow_decodes_them(sample, damage):
    data, height, width = SAMPLES[sample]
    for how in damage:
        data = corrupt(data, how) or data[:1]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "damaged.png"
        path.write_bytes(data)
        images, decoded = decode([path], height, width)
        if decoded[0]:
            np.testing.assert_array_equal(images[0], pillow_gray(path))


def test_the_samples_themselves_decode():
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for k, (data, _, _) in enumerate(SAMPLES):
            paths.append(Path(folder) / f"{k}.png")
            paths[-1].write_bytes(data)
        for path, (_, height, width) in zip(paths, SAMPLES):
            images, decoded = decode([path], height, width)
            assert decoded.all()
            np.testing.assert_array_equal(images[0], pillow_gray(path))
