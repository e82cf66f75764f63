"""``honnin db``: database migrations."""

from __future__ import annotations

from typing import Annotated

import typer

from honnin.cli_support import cli_errors, emit
from honnin.config import Settings
from honnin.db import migrate

app = typer.Typer(help="Database schema migrations (Alembic).", no_args_is_help=True)


@app.command("upgrade")
def upgrade(
    revision: Annotated[str, typer.Argument(help="target revision")] = "heads",
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Apply migrations to HONNIN_DATABASE_URL (default: SQLite under ./var)."""
    settings = Settings()
    url = settings.resolved_database_url
    with cli_errors():
        migrate.upgrade(url, revision)
    emit(
        {"upgraded": True, "revision": revision, "database": _redacted(url)},
        as_json=as_json,
        human=lambda d: f"database upgraded to {d['revision']}",
    )


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
