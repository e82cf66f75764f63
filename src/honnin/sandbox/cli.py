"""``honnin sandbox``: run sandbox banks and issue test documents.

Each sandbox module listed in ``COMMAND_MODULES`` defines ``register(app)`` adding its
commands.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(help="Sandbox banks and the test document issuer.", no_args_is_help=True)

COMMAND_MODULES: tuple[str, ...] = ("honnin.sandbox.banks.cli", "honnin.sandbox.issuer_cli")

for _module in COMMAND_MODULES:
    importlib.import_module(_module).register(app)
