"""The `mnistvec` command line: the group of commands, and how a run starts (`main`).

Each command, its options beside its code, is a module of `mnistvec.commands`; the exit codes and the
printing of errors are in `commands/common.py`.
"""

from __future__ import annotations

import signal
import warnings

import click

from mnistvec import __version__
from mnistvec.commands.common import (  # noqa: F401
    EXIT_CODES_HELP,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_NOT_AVAILABLE,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
)
from mnistvec.commands.encode import encode
from mnistvec.commands.evaluate import evaluate
from mnistvec.commands.render import render
from mnistvec.commands.sample import sample
from mnistvec.commands.train import train
from mnistvec.io.console import warn


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}, epilog=EXIT_CODES_HELP)
@click.version_option(__version__, "--version", "-V", prog_name="mnistvec")
def cli() -> None:
    """Turn images of handwritten digits into a fixed number of straight strokes (vector drawings).

    \b
    Typical use:
      mnistvec train --method vae --out runs/vae              train a vectoriser on MNIST
      mnistvec encode images/ out/ --model runs/vae/model.pt  vectorise a folder to NPZ, SVG (and PNG)
      mnistvec sample --model runs/vae/model.pt --grid g.png  draw new digits from the VAE's prior
      mnistvec render out/vectors.npz drawn/ --size 112       draw a vectors file as PNG and SVG
      mnistvec eval --model runs/vae/model.pt --report rep/   score a model (or --baseline skeleton)
    """
    warnings.showwarning = _show_warning


for command in (train, encode, sample, render, evaluate):
    cli.add_command(command)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Python warnings (the library's, e.g. a missing native renderer) as the CLI's one-line warnings."""
    warn(str(message))


def _terminate(signum, frame) -> None:
    raise KeyboardInterrupt


def main() -> None:
    """Console-script entry point: SIGTERM stops like Ctrl-C (exit code 130, every file whole), and a closed
    stdout or stderr silences the diagnostics instead of stopping the work (`console.guard_std_streams`)."""
    from mnistvec.io.console import guard_std_streams

    guard_std_streams()
    signal.signal(signal.SIGTERM, _terminate)
    cli(prog_name="mnistvec")


if __name__ == "__main__":
    main()
