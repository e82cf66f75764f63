"""``honnin bench NAME``: run ``bench/NAME.py`` from the repository and print its figures.

Each benchmark module defines ``run(**options) -> dict`` returning its figures, including a
baseline measured in the same run.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

from honnin.errors import HonninError


class BenchmarkNotFoundError(HonninError):
    code = "benchmark_not_found"
    status = 404


def bench_dir() -> Path:
    """``bench/`` of the checkout (src layout: src/honnin/.. /.. /bench), or of the cwd."""
    candidates = [Path(__file__).resolve().parents[2] / "bench", Path.cwd() / "bench"]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return candidates[-1]


def available() -> list[str]:
    directory = bench_dir()
    if not directory.is_dir():
        return []
    return sorted(p.stem for p in directory.glob("*.py") if not p.stem.startswith("_"))


def load(name: str) -> ModuleType:
    path = bench_dir() / f"{name}.py"
    if not name.isidentifier() or not path.is_file():
        names = ", ".join(available()) or "none"
        msg = f"no benchmark named {name!r} (available: {names})"
        raise BenchmarkNotFoundError(msg)
    spec = importlib.util.spec_from_file_location(f"honnin_bench_{name}", path)
    if spec is None or spec.loader is None:
        msg = f"cannot load benchmark {name!r}"
        raise BenchmarkNotFoundError(msg)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(name: str, options: dict[str, Any]) -> dict[str, Any]:
    module = load(name)
    result: dict[str, Any] = module.run(**options)
    return result
