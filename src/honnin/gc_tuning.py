"""The serving process's cyclic garbage collector.

CPython starts a young-generation collection after 700 net container allocations, every
tenth one an older collection, and now and then a full one that walks every object the
process holds (FastAPI, SQLAlchemy, pydantic and the rest: about 200,000 after start-up).
A request allocates thousands of short-lived containers that reference counting frees
anyway, so at the default the collector ran dozens of times a second and took 5-10 % of
the platform's CPU at 100 concurrent bank inquiries; at 10,000 it takes under 1 %, and one
worker on PostgreSQL went from ~73 to ~90 flows/s (docs/benchmarks.md, ``inquiry``,
eighth round). A larger young threshold lets those objects go before a collection looks
at them; reference cycles are still collected, a little later.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from typing import TypeVar

App = TypeVar("App")
Lifespan = Callable[[App], AbstractAsyncContextManager[None]]


@contextmanager
def young_collection_threshold(threshold: int) -> Iterator[None]:
    """Collect the young generation every ``threshold`` allocations while inside (0 keeps
    the interpreter's setting); the previous thresholds come back on exit."""
    previous = gc.get_threshold()
    if threshold:
        gc.set_threshold(threshold, *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)


def with_young_collection_threshold(lifespan: Lifespan[App], threshold: int) -> Lifespan[App]:
    """``lifespan`` run under :func:`young_collection_threshold`: the setting holds while
    the app serves, start-up and shutdown included."""

    @asynccontextmanager
    async def tuned(app: App) -> AsyncIterator[None]:
        with young_collection_threshold(threshold):
            async with lifespan(app):
                yield

    return tuned
