"""SVG files are honest: rasterised by an independent SVG renderer, they match the native image."""

import io
import shutil
import subprocess
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from conftest import EXAMPLE_VECTORS, random_strokes
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from mnistvec.io.svg import canvas_frame, svg_drawing
from mnistvec.io.vectors import Vectors
from mnistvec.raster import render_numpy

SVG_NS = "{http://www.w3.org/2000/svg}"
needs_rsvg = pytest.mark.skipif(
    shutil.which("rsvg-convert") is None, reason="rsvg-convert not installed (Debian package librsvg2-bin)"
)


def rasterise(svg_text: str, size: int) -> np.ndarray:
    png = subprocess.run(
        ["rsvg-convert", "-w", str(size), "-h", str(size), "-f", "png"],
        input=svg_text.encode(),
        capture_output=True,
        check=True,
    ).stdout
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float32)[..., 0] / 255.0


@needs_rsvg
@pytest.mark.parametrize("size", [28, 112])
@pytest.mark.parametrize("source", ["random", "examples"])
def test_rsvg_matches_native(size, source):
    if source == "random":
        lines, widths, opacity = random_strokes(7, 12, 16)
    else:
        ex = Vectors.load(EXAMPLE_VECTORS)
        lines, widths, opacity = ex.lines, ex.widths, ex.opacity
    native = render_numpy(lines, widths, opacity, size, size, float(size))
    for i in range(len(lines)):
        svg = svg_drawing(lines[i], widths[i], opacity[i], canvas_frame(28))
        diff = np.abs(rasterise(svg, size) - native[i]).mean()
        assert diff <= 0.01, f"item {i}: mean abs diff {diff:.4f}"


@needs_rsvg
def test_inverted_frame_draws_black_ink_on_white():
    lines, widths, opacity = random_strokes(8, 1, 6)
    native = render_numpy(lines, widths, opacity, 28, 28, 28.0)[0]
    svg = svg_drawing(lines[0], widths[0], opacity[0], (28, 28, 28, 0, 0, 1))
    assert np.abs(rasterise(svg, 28) - (1.0 - native)).mean() <= 0.01


def test_svg_structure_and_source_frame():
    lines = np.array([[0.0, 0.0, 1.0, 0.5], [0.5, 0.5, 0.5, 0.5]], np.float32)
    svg = svg_drawing(lines, np.array([0.1, 0.2]), np.array([1.0, 0.25]), (200, 100, 50, 10, 5, 0), title='a <b> & "c"')
    root = ET.fromstring(svg)
    assert root.get("viewBox") == "0 0 200 100"
    assert root.find(f"{SVG_NS}title").text == 'a <b> & "c"'
    assert root.find(f"{SVG_NS}rect").get("fill") == "black"
    group = root.find(f"{SVG_NS}g")
    assert group.get("stroke") == "white" and group.get("stroke-linecap") == "round"
    first, second = group.findall(f"{SVG_NS}line")
    assert [first.get(k) for k in ("x1", "y1", "x2", "y2", "stroke-width")] == ["10", "5", "60", "30", "5"]
    assert second.get("stroke-opacity") == "0.25"


def test_strokes_with_opacity_zero_are_not_written():
    lines = np.array([[0.1, 0.1, 0.9, 0.9], [0.2, 0.8, 0.8, 0.2], [0.5, 0.1, 0.5, 0.9]], np.float32)
    text = svg_drawing(lines, np.full(3, 0.05), np.array([1.0, 0.0, 0.5]), canvas_frame(28))
    drawn = ET.fromstring(text).findall(".//{http://www.w3.org/2000/svg}line")
    assert [float(line.get("stroke-opacity")) for line in drawn] == [1.0, 0.5]


@pytest.mark.skipif(not __import__("mnistvec.native").native.load_library(), reason="the native library is not built")
@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 6),
    st.integers(0, 5),
    st.sampled_from([1.0, 28.0, 640.0, 1e5, 1e9]),
    st.floats(-1e6, 1e6),
    st.integers(0, 2**32 - 1),
)
def test_native_line_elements_are_the_python_text_byte_for_byte(batch, n_lines, scale, offset, seed):
    import mnistvec.io.svg as svg

    rng = np.random.default_rng(seed)
    lines = rng.normal(0.5, 2.0, (batch, n_lines, 4)) * rng.choice([1e-7, 1e-3, 1.0, 1e3], (batch, n_lines, 4))
    widths = rng.uniform(-0.1, 0.3, (batch, n_lines))
    opacity = rng.choice([0.0, 1e-5, 0.0004, 0.5, 1.0, 1.5], (batch, n_lines))
    frames = np.tile([scale, scale, scale, offset, -offset, float(seed % 2)], (batch, 1))
    titles = [f"item {k}" for k in range(batch)]
    native = svg.svg_drawings(lines, widths, opacity, frames, titles)
    real = svg.load_library
    try:
        svg.load_library = lambda: None
        python = svg.svg_drawings(lines, widths, opacity, frames, titles)
    finally:
        svg.load_library = real
    assert native == python
