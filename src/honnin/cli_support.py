"""Shared CLI conventions: ``--json`` output and one-line failures on stderr.

Every ``honnin`` command prints JSON with ``--json`` and exits non-zero with a one-line
reason on stderr when it fails.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from sqlalchemy.exc import SQLAlchemyError

from honnin.errors import HonninError


def emit(data: Any, *, as_json: bool, human: Callable[[Any], str] | None = None) -> None:
    """Print ``data`` as JSON, or as the human text ``human`` makes of it."""
    if as_json or human is None:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        typer.echo(human(data))


def fail(message: str, *, exit_code: int = 1) -> NoReturn:
    """Print a one-line reason to stderr and exit non-zero."""
    one_line = " ".join(str(message).split())
    typer.echo(f"error: {one_line}", err=True)
    raise typer.Exit(code=exit_code)


@contextmanager
def cli_errors() -> Iterator[None]:
    """Turn Honnin errors (and bad files) into a one-line message and exit code 1."""
    try:
        yield
    except HonninError as exc:
        fail(f"{exc.code}: {exc.safe_message}")
    except SQLAlchemyError as exc:
        fail(
            f"database error ({type(exc).__name__}); is the schema current? run: honnin db upgrade"
        )
    except (OSError, ValueError) as exc:
        fail(str(exc))


def read_text_arg(value: str) -> str:
    """``-`` means standard input, anything else is the text itself."""
    if value == "-":
        return sys.stdin.read()
    return value
