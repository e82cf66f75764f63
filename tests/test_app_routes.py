"""The app's routes: none shadows another, so the order routers are mounted in (hot ones
first, for FastAPI's linear matching) never changes which endpoint answers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from starlette.routing import compile_path

from honnin.app import create_app
from support.platform import platform_settings


def _routes(routes: Any) -> list[tuple[str, frozenset[str]]]:
    found: list[tuple[str, frozenset[str]]] = []
    for route in routes:
        if hasattr(route, "original_router"):  # an included router
            found += _routes(route.original_router.routes)
        elif hasattr(route, "path") and hasattr(route, "methods"):
            found.append((route.path, frozenset(route.methods or ())))
    return found


def test_no_route_shadows_another(tmp_path: Path) -> None:
    app = create_app(platform_settings(f"sqlite+aiosqlite:///{tmp_path / 'routes.db'}"))
    routes = _routes(app.router.routes)
    assert len(routes) > 50
    assert any(path == "/v1/bank-inquiries/{inquiry_id}" for path, _ in routes)
    shadowed = []
    for index, (path, methods) in enumerate(routes):
        concrete = re.sub(r"\{[^}]+\}", "x1", path)
        for other, (other_path, other_methods) in enumerate(routes):
            if other != index and methods & other_methods:
                pattern, _, _ = compile_path(other_path)
                if pattern.match(concrete):
                    shadowed.append((path, other_path))
    assert shadowed == []
