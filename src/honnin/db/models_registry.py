"""Imports every package's ORM models so ``Base.metadata`` knows all tables.

Add a line here when a package gains a ``models.py``.
"""

from __future__ import annotations

import importlib

MODEL_MODULES: tuple[str, ...] = (
    "honnin.audit.models",
    "honnin.contracts.models",
    "honnin.auth.models",
    "honnin.inquiries.models",
    "honnin.ledger.models",
    "honnin.trace.models",
    "honnin.gateway.models",
    "honnin.verifications.models",
)


def import_all_models() -> None:
    for module in MODEL_MODULES:
        importlib.import_module(module)
