"""mnistvec: turn images of handwritten digits into a fixed number of straight strokes.

The Python API (`api.py`): `load_model`, `Vectors`, `render`, `SoftRenderer`. Those names load on first
use, so that `import mnistvec` (and every command's start) stays fast.
"""

import os
from importlib.metadata import PackageNotFoundError, version

# Torch's OpenMP workers otherwise spin for a while after every parallel operation, taking the cores the
# native renderer's threads need between two torch operations (measured: --refine ran 4x slower). Set
# before torch is first imported; an explicit setting of the user's is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

try:
    __version__ = version("mnistvec")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

_API = {
    "load_model": "mnistvec.api",
    "render": "mnistvec.api",
    "Vectoriser": "mnistvec.api",
    "Vectors": "mnistvec.io.vectors",
    "SoftRenderer": "mnistvec.raster.layer",
    "InputError": "mnistvec.errors",
}
__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        import importlib

        value = getattr(importlib.import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'mnistvec' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
