"""Deployment plugins: per-API hooks loaded from the ``honnin.plugins`` entry-point group.

A deployment adds custom logic without forking by installing a distribution that declares
(Python packaging entry points specification, PyPA)::

    [project.entry-points."honnin.plugins"]
    purpose_guard = "honnin.gateway.example_plugin:PurposeGuard"

The object named there is called once at start-up as ``factory(options)`` with
``HONNIN_GATEWAY_PLUGIN_OPTIONS[name]`` (a dict) and returns a plugin: any object with a
``name``, an ``apis`` set (``None`` for every API) and some of these coroutine hooks
(:class:`BasePlugin` gives no-op defaults):

* ``before_call(ctx)`` - before the platform acts on an enterprise request; raise
  :class:`~honnin.gateway.errors.PluginRejectedError` (or another HonninError) to refuse;
* ``after_bank_response(ctx, record)`` - after the bank answered, with the normalised
  record; returns the record to use (may be modified);
* ``before_delivery(ctx, result)`` - before a result is delivered to the enterprise
  (result API or webhook); returns the result to deliver.

Hooks run in the order the plugins were loaded (entry points sorted by name). The gateway
policy chain runs ``before_call`` for every ``/v1`` request; the inquiry broker runs the
other two through :class:`PluginRegistry`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Protocol

from honnin.gateway.errors import PluginLoadError

ENTRY_POINT_GROUP = "honnin.plugins"


@dataclass(frozen=True, slots=True)
class CallContext:
    """What a hook may know about the request; no personal data."""

    api: str
    enterprise_id: str
    bank_id: str | None = None
    purpose: str | None = None
    claims: tuple[str, ...] = ()
    method: str = ""
    path: str = ""


class Plugin(Protocol):
    name: str
    apis: frozenset[str] | None

    async def before_call(self, ctx: CallContext) -> None: ...
    async def after_bank_response(
        self, ctx: CallContext, record: dict[str, Any]
    ) -> dict[str, Any]: ...
    async def before_delivery(self, ctx: CallContext, result: dict[str, Any]) -> dict[str, Any]: ...


class BasePlugin:
    """No-op hooks; subclasses override what they need."""

    name = "base"
    apis: frozenset[str] | None = None

    async def before_call(self, ctx: CallContext) -> None:
        del ctx

    async def after_bank_response(self, ctx: CallContext, record: dict[str, Any]) -> dict[str, Any]:
        del ctx
        return record

    async def before_delivery(self, ctx: CallContext, result: dict[str, Any]) -> dict[str, Any]:
        del ctx
        return result


PluginFactory = Callable[[Mapping[str, Any]], Plugin]


class PluginRegistry:
    def __init__(self, plugins: Iterable[Plugin] = ()) -> None:
        self._plugins = list(plugins)

    @classmethod
    def from_entry_points(
        cls,
        *,
        options: Mapping[str, Mapping[str, Any]] | None = None,
        group: str = ENTRY_POINT_GROUP,
    ) -> PluginRegistry:
        options = options or {}
        factories: list[tuple[str, PluginFactory]] = []
        for point in sorted(entry_points(group=group), key=lambda p: p.name):
            try:
                factory = point.load()
            except Exception as exc:
                raise PluginLoadError(f"plugin {point.name} cannot be imported") from exc
            factories.append((point.name, factory))
        return cls.from_factories(factories, options=options)

    @classmethod
    def from_factories(
        cls,
        factories: Iterable[tuple[str, PluginFactory]],
        *,
        options: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> PluginRegistry:
        """Explicit plugins (tests, embedding): ``[(name, factory), ...]``."""
        options = options or {}
        plugins = []
        for name, factory in factories:
            try:
                plugins.append(factory(dict(options.get(name, {}))))
            except PluginLoadError:
                raise
            except Exception as exc:
                raise PluginLoadError(f"plugin {name} refused its options") from exc
        return cls(plugins)

    @property
    def names(self) -> list[str]:
        return [p.name for p in self._plugins]

    def __bool__(self) -> bool:
        return bool(self._plugins)

    def _for(self, api: str) -> list[Plugin]:
        return [p for p in self._plugins if p.apis is None or api in p.apis]

    async def before_call(self, ctx: CallContext) -> None:
        for plugin in self._for(ctx.api):
            await plugin.before_call(ctx)

    async def after_bank_response(self, ctx: CallContext, record: dict[str, Any]) -> dict[str, Any]:
        for plugin in self._for(ctx.api):
            record = await plugin.after_bank_response(ctx, record)
        return record

    async def before_delivery(self, ctx: CallContext, result: dict[str, Any]) -> dict[str, Any]:
        for plugin in self._for(ctx.api):
            result = await plugin.before_delivery(ctx, result)
        return result
