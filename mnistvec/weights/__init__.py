"""Trained weights shipped with the package (see `mnistvec.render.surrogate_weights`)."""
