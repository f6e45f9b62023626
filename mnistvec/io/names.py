"""Item names to safe relative file paths (no absolute paths, no '..', portable characters, unique)."""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_relative_path(name: str, fallback: str) -> str:
    """'digits/../a b.png' -> 'digits/a_b.png': folders kept, everything that could escape the output dropped."""
    parts = [p for p in re.split(r"[/\\]+", name) if p not in ("", ".", "..")]
    cleaned = [_UNSAFE.sub("_", p).lstrip(".") or "_" for p in parts]
    return "/".join(cleaned) or fallback


def output_stems(names: list[str], seen: dict[str, int] | None = None, start: int = 0) -> list[str]:
    """Safe, unique relative stems for names (a repeated stem gets '-1', '-2', ...).

    Pass the same `seen` dict to successive calls to keep stems unique across the batches of a stream;
    `start` is the index of the first name in the stream (used for unnamed items).
    """
    seen = {} if seen is None else seen
    stems = []
    for i, name in enumerate(names, start):
        stem = safe_relative_path(name, f"item-{i:05d}")
        count = seen.get(stem, 0)
        seen[stem] = count + 1
        stems.append(stem if count == 0 else f"{stem}-{count}")
    return stems
