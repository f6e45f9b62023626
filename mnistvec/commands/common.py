"""What the commands share: exit codes, how a user's mistake is told, and the options several commands take.

A command's module holds its click options and its short body; the work lives in the layer below
(`encoding`, `evaluation`, `training`), imported inside the command so that `mnistvec --help` stays fast.
"""

from __future__ import annotations

import errno
import functools
import math
import sys
import traceback

import click

from mnistvec.config import DEVICES, PRIORS

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3
EXIT_NOT_AVAILABLE = 4
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = f"""\b
Exit codes:
  {EXIT_OK}  everything succeeded
  {EXIT_ERROR}  an error stopped the command (unreadable input, unwritable output, ...)
  {EXIT_USAGE}  the command line itself was wrong
  {EXIT_PARTIAL}  some items failed (each named in a warning line); all the others were written
  {EXIT_NOT_AVAILABLE}  an optional component the command needs is not installed (scikit-image, potrace)
  {EXIT_INTERRUPTED}  stopped by Ctrl-C or SIGTERM (what was finished is saved)
"""

BUG_REPORT = (
    "error: this is a bug in mnistvec, not a problem with your input; please report it with the "
    "traceback above and the command you ran"
)
FULL_DISK_HINT = " (free some space and run the same command again: finished work is kept)"


class UserError(click.ClickException):
    """A mistake in the user's input or environment: printed as one line, no traceback."""

    exit_code = EXIT_ERROR

    def show(self, file=None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


class MissingComponent(UserError):
    """An optional package or program the command needs is not installed."""

    exit_code = EXIT_NOT_AVAILABLE


def user_errors(func):
    """A user's mistake (`InputError`) or an OS error about their files as one line, no traceback; a missing
    optional component as one line and exit code 4; Ctrl-C or SIGTERM as exit code 130; any other exception
    is a bug: its traceback, then a line asking to report it."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from mnistvec.baselines import MissingComponentError
        from mnistvec.errors import InputError

        try:
            return func(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:  # a second Ctrl-C, or a signal outside a graceful stop: files are whole
            click.echo("interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except MissingComponentError as err:
            raise MissingComponent(str(err)) from None
        except InputError as err:
            raise UserError(str(err)) from None
        except OSError as err:
            where = f"{err.filename}: " if err.filename else ""
            hint = FULL_DISK_HINT if err.errno in (errno.ENOSPC, errno.EDQUOT) else ""
            raise UserError(f"{where}{err.strerror or err}{hint}") from None
        except Exception:
            traceback.print_exc()
            click.echo(BUG_REPORT, err=True)
            sys.exit(EXIT_ERROR)

    return wrapper


class FiniteFloat(click.FloatRange):
    """The type of every float option: a finite number (NaN and infinities are a usage error naming the
    option), within the given range when there is one."""

    def convert(self, value, param, ctx):
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return super().convert(number, param, ctx)


SEED = click.IntRange(0, 2**32 - 1)
"""The type of every seed option: the seeds every random generator takes, and the streams derived from them."""


def device_option(func):
    return click.option(
        "--device", type=click.Choice(DEVICES), default="auto", show_default=True, help="auto: CUDA when present."
    )(func)


def mirror_option(func):
    return click.option("--mirror", metavar="URL", default=None, help="Download MNIST from this base URL instead.")(
        func
    )


def batch_size_option(default: int):
    return click.option(
        "--batch-size", type=click.IntRange(1), default=default, show_default=True, help="Images per batch."
    )


def refine_option(name: str = "refine"):
    """`--refine K`, whose default is the model's own (`config.encode_refine`)."""
    return click.option(
        "--refine",
        name,
        type=click.IntRange(0),
        default=None,
        metavar="K",
        help="K steps of per-image gradient descent on the strokes after the encoder (slower, closer) "
        "[default: the model's own: 0 for the shipped ae and lfi, 3 for the shipped vae].",
    )


def prior_option(help_text: str):
    """`--prior learned|standard`: which prior a model's samples are drawn from (`config.PRIORS`)."""
    return click.option("--prior", type=click.Choice(PRIORS), default="learned", show_default=True, help=help_text)
