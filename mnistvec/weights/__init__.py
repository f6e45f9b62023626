"""Trained weights shipped with the package (see `mnistvec.models.surrogate_weights`)."""
