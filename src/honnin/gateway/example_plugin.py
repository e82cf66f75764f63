"""Example deployment plugin: refuse some purposes, tag deliveries, drop unwanted claims.

Options (``HONNIN_GATEWAY_PLUGIN_OPTIONS='{"purpose_guard": {...}}'``):

* ``deny_purposes``: purposes refused before any bank is asked (403 ``plugin_rejected``);
* ``drop_claims``: claims removed from the bank's ``verified_claims.claims`` before they
  are matched or stored (data minimisation, APPI Art. 18 / GDPR Art. 5(1)(c));
* ``delivery_tag``: a string added as ``deployment_tag`` to every delivered result;
* ``apis``: the APIs it applies to (default: every API).

Registered by a deployment with the entry point
``purpose_guard = "honnin.gateway.example_plugin:PurposeGuard"`` in ``honnin.plugins``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from honnin.gateway.errors import PluginLoadError, PluginRejectedError
from honnin.gateway.plugins import BasePlugin, CallContext


def _strings(options: Mapping[str, Any], key: str) -> frozenset[str]:
    value = options.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PluginLoadError(f"purpose_guard option {key} must be a list of strings")
    return frozenset(value)


class PurposeGuard(BasePlugin):
    name = "purpose_guard"

    def __init__(self, options: Mapping[str, Any]) -> None:
        unknown = set(options) - {"deny_purposes", "drop_claims", "delivery_tag", "apis"}
        if unknown:
            raise PluginLoadError(f"purpose_guard: unknown options {', '.join(sorted(unknown))}")
        self.deny_purposes = _strings(options, "deny_purposes")
        self.drop_claims = _strings(options, "drop_claims")
        tag = options.get("delivery_tag")
        if tag is not None and not isinstance(tag, str):
            raise PluginLoadError("purpose_guard option delivery_tag must be a string")
        self.delivery_tag = tag
        self.apis = _strings(options, "apis") or None

    async def before_call(self, ctx: CallContext) -> None:
        if ctx.purpose is not None and ctx.purpose in self.deny_purposes:
            raise PluginRejectedError(f"this deployment does not serve purpose {ctx.purpose}")

    async def after_bank_response(self, ctx: CallContext, record: dict[str, Any]) -> dict[str, Any]:
        del ctx
        verified = record.get("verified_claims")
        if not self.drop_claims or not isinstance(verified, dict):
            return record
        claims = verified.get("claims")
        if not isinstance(claims, dict):
            return record
        kept = {k: v for k, v in claims.items() if k not in self.drop_claims}
        return {**record, "verified_claims": {**verified, "claims": kept}}

    async def before_delivery(self, ctx: CallContext, result: dict[str, Any]) -> dict[str, Any]:
        del ctx
        if self.delivery_tag is None:
            return result
        return {**result, "deployment_tag": self.delivery_tag}
