"""Classical vectorisers with no model at all, scored by the same metrics as the learned ones.

skeleton   threshold -> skeleton -> polylines -> Douglas-Peucker to at most N segments; width from the
           distance transform (needs scikit-image: pip install "mnistvec[baselines]")
potrace    the potrace program's filled outlines, rasterised by rsvg-convert (both Debian packages)
"""

BASELINES = ("skeleton", "potrace")


class MissingComponentError(RuntimeError):
    """An optional package or program a baseline needs is not installed (the message says how to get it)."""
