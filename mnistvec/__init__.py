"""mnistvec: turn images of handwritten digits into a fixed number of straight strokes."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mnistvec")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
