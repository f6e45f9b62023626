"""A small log-log line chart drawn with PIL, for benchmark figures (no plotting library needed)."""

from __future__ import annotations

import math

from PIL import Image, ImageDraw

COLOURS = [(200, 60, 60), (60, 110, 190), (60, 150, 80), (200, 140, 40), (130, 80, 170)]


def panel(
    draw: ImageDraw.ImageDraw,
    box: tuple[int, int, int, int],
    title: str,
    xlabel: str,
    series: dict[str, list[tuple[float, float]]],
) -> None:
    """One log-log panel in `box` (left, top, right, bottom): each series a list of (x, y) points."""
    left, top, right, bottom = box
    points = [p for values in series.values() for p in values if p[1] > 0]
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x_lo, x_hi = math.log10(min(xs)), math.log10(max(xs))
    y_lo, y_hi = math.floor(math.log10(min(ys))), math.ceil(math.log10(max(ys)))
    x_of = lambda x: left + (math.log10(x) - x_lo) / max(x_hi - x_lo, 1e-9) * (right - left)
    y_of = lambda y: bottom - (math.log10(y) - y_lo) / max(y_hi - y_lo, 1e-9) * (bottom - top)
    for decade in range(y_lo, y_hi + 1):
        draw.line([(left, y_of(10**decade)), (right, y_of(10**decade))], fill=(225, 225, 225))
        draw.text((left - 38, y_of(10**decade) - 6), f"1e{decade}", fill="black")
    for x in sorted(set(xs)):
        label = f"{x:g}"
        draw.text((min(x_of(x) - 3 * len(label), right - 6 * len(label)), bottom + 6), label, fill="black")
    draw.text((left, top - 16), title, fill="black")
    draw.text((right - 60, bottom + 20), xlabel, fill="black")
    for k, values in enumerate(series.values()):
        colour = COLOURS[k % len(COLOURS)]
        line = [(x_of(x), y_of(y)) for x, y in values if y > 0]
        if len(line) > 1:
            draw.line(line, fill=colour, width=2)
        for x, y in line:
            draw.ellipse([x - 2, y - 2, x + 2, y + 2], fill=colour)


def save_panels(path, panels: list[tuple[str, str, dict]], ylabel: str, width: int = 360, height: int = 300) -> None:
    """Panels side by side, a shared legend below; each panel (title, x label, series)."""
    image = Image.new("RGB", (width * len(panels), height + 40), "white")
    draw = ImageDraw.Draw(image)
    for k, (title, xlabel, series) in enumerate(panels):
        panel(draw, (k * width + 50, 40, (k + 1) * width - 15, height - 40), title, xlabel, series)
    draw.text((6, 6), ylabel, fill="black")
    names = list(panels[0][2])
    for k, name in enumerate(names):
        draw.text((50 + 150 * k, height + 12), name, fill=COLOURS[k % len(COLOURS)])
    image.save(path)
