"""The ``honnin`` command line (Typer): serve, demo, db, admin, doc, face, ledger, bench.

Every command prints JSON with ``--json`` and exits non-zero with a one-line reason on
stderr when it fails. Domain packages own their sub-commands (``<package>/cli.py``); this
module only assembles them.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Annotated

import typer

from honnin import bench_runner
from honnin.cli_support import cli_errors, emit, fail

app = typer.Typer(
    name="honnin",
    help="Honnin identity-confirmation (eKYC) platform.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# name -> module defining a Typer ``app``; each domain package adds its own line.
SUB_COMMANDS: dict[str, str] = {
    "db": "honnin.db.cli",
    "ledger": "honnin.ledger.cli",
    "admin": "honnin.contracts.cli",
    "sandbox": "honnin.sandbox.cli",
    "face": "honnin.faces.cli",
    "doc": "honnin.documents.cli",
    "mapping": "honnin.banks.mapping_cli",
    "trace": "honnin.trace.cli",
    "verifications": "honnin.verifications.cli",
}

# Top-level commands defined in other modules: module -> function names.
TOP_LEVEL_COMMANDS: dict[str, tuple[str, ...]] = {
    "honnin.server": ("serve", "demo"),
}


@app.command("bench")
def bench(
    name: Annotated[str, typer.Argument(help="benchmark name: a file bench/NAME.py")],
    option: Annotated[
        list[str] | None,
        typer.Option("--option", "-o", help="KEY=VALUE passed to the benchmark (repeatable)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Run one benchmark (bench/NAME.py) and print its figures with the baseline."""
    options: dict[str, str] = {}
    for item in option or []:
        key, sep, value = item.partition("=")
        if not sep:
            fail(f"--option expects KEY=VALUE, got {item!r}")
        options[key.replace("-", "_")] = value
    with cli_errors():
        result = bench_runner.run(name, options)
    emit(result, as_json=as_json, human=_figures_text)


def _figures_text(result: dict[str, object]) -> str:
    return "\n".join(f"{key}: {value}" for key, value in result.items())


def _assemble() -> None:
    for name, module_name in SUB_COMMANDS.items():
        module = importlib.import_module(module_name)
        app.add_typer(module.app, name=name)
    for module_name, functions in TOP_LEVEL_COMMANDS.items():
        module = importlib.import_module(module_name)
        for function in functions:
            app.command(function.replace("_", "-"))(getattr(module, function))


_assemble()


def main() -> None:
    # Authlib 1.9 nudges towards httpx2 at import; its httpx client works and is used.
    warnings.filterwarnings("ignore", message="The httpx module is deprecated")
    app()
