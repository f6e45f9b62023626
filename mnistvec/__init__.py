"""mnistvec: turn images of handwritten digits into a fixed number of straight strokes."""

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
