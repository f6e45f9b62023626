"""Models: an image encoder to strokes, wrapped by each training method (`ae`, ...)."""
