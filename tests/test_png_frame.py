"""`encode --png` draws the SVG's picture: the source image's frame, size and polarity."""

import xml.etree.ElementTree as ET

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import REPO
from PIL import Image

from mnistvec.cli import cli
from mnistvec.raster import render_numpy

SVG = "{http://www.w3.org/2000/svg}"


def svg_picture(path, zoom: float = 1.0) -> np.ndarray:
    """The SVG's strokes rasterised by the project's native renderer in the SVG's own frame (its viewBox,
    scaled by `zoom`), in the SVG's polarity: values in [0, 1], 1 white."""
    root = ET.parse(path).getroot()
    _, _, width, height = (float(v) for v in root.get("viewBox").split())
    ink_is_black = root.find(f"{SVG}rect").get("fill") == "white"
    rows = [
        [float(line.get(k)) for k in ("x1", "y1", "x2", "y2", "stroke-width", "stroke-opacity")]
        for line in root.iter(f"{SVG}line")
    ]
    strokes = np.array(rows, np.float32).reshape(1, -1, 6)
    picture = render_numpy(
        strokes[..., :4], strokes[..., 4], strokes[..., 5], round(height * zoom), round(width * zoom), zoom
    )[0]
    return 1.0 - picture if ink_is_black else picture


@pytest.mark.parametrize("size, zoom", [(None, 1.0), (112, 2.0)])
def test_png_and_svg_of_an_off_centre_input_are_the_same_picture(tmp_path, tiny_model, size, zoom):
    digit = 255 - np.asarray(Image.open(REPO / "examples" / "digits" / "mnist" / "digit-3-0.png").convert("L"))
    page = np.full((40, 56), 255, np.uint8)  # dark ink on white, 56 wide, 40 high, the digit to the right
    page[6:34, 25:53] = digit
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(page).save(folder / "page.png")
    out = tmp_path / "out"
    args = ["encode", str(folder), str(out), "--model", str(tiny_model), "--device", "cpu", "--png"]
    result = CliRunner().invoke(cli, args + ([] if size is None else ["--size", str(size)]), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    png = np.asarray(Image.open(out / "png" / "page.png.png"), np.float32) / 255.0
    assert png.shape == (round(40 * zoom), round(56 * zoom))
    assert png[0, 0] == 1.0  # light background, as the source and its SVG
    difference = np.abs(png - svg_picture(out / "svg" / "page.png.svg", zoom))
    assert difference.mean() < 0.002 and difference.max() < 0.05
