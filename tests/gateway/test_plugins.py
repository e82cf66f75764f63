"""Plugin loading (entry points and explicit lists) and the example plugin's hooks."""

from __future__ import annotations

from typing import Any

import pytest

from honnin.gateway.errors import PluginLoadError, PluginRejectedError
from honnin.gateway.example_plugin import PurposeGuard
from honnin.gateway.plugins import BasePlugin, CallContext, PluginRegistry

CTX = CallContext(api="inquiries", enterprise_id="ent_1", bank_id="momiji_rest", purpose="ok")
RECORD: dict[str, Any] = {
    "verified_claims": {
        "verification": {"trust_framework": "jp_aml"},
        "claims": {"family_name": "山田", "gender": "female", "birthdate": "1990-01-01"},
    }
}


def test_entry_point_group_without_plugins_loads_nothing() -> None:
    registry = PluginRegistry.from_entry_points(group="honnin.plugins.none-installed")
    assert not registry
    assert registry.names == []


async def test_example_plugin_hooks() -> None:
    registry = PluginRegistry.from_factories(
        [("purpose_guard", PurposeGuard)],
        options={
            "purpose_guard": {
                "deny_purposes": ["marketing"],
                "drop_claims": ["gender"],
                "delivery_tag": "tenant-a",
            }
        },
    )
    assert registry.names == ["purpose_guard"]
    await registry.before_call(CTX)
    with pytest.raises(PluginRejectedError, match="marketing"):
        await registry.before_call(
            CallContext(api="inquiries", enterprise_id="e", purpose="marketing")
        )
    record = await registry.after_bank_response(CTX, RECORD)
    assert set(record["verified_claims"]["claims"]) == {"family_name", "birthdate"}
    assert "gender" in RECORD["verified_claims"]["claims"]  # the input is left alone
    delivered = await registry.before_delivery(CTX, {"status": "matched"})
    assert delivered == {"status": "matched", "deployment_tag": "tenant-a"}


async def test_plugins_run_in_order_and_only_for_their_apis() -> None:
    calls: list[str] = []

    class Tagger(BasePlugin):
        def __init__(self, name: str, apis: frozenset[str] | None) -> None:
            self.name = name
            self.apis = apis

        async def before_delivery(self, ctx: CallContext, result: dict[str, Any]) -> dict[str, Any]:
            calls.append(self.name)
            return {**result, "tags": [*result.get("tags", []), self.name]}

    registry = PluginRegistry(
        [
            Tagger("a", None),
            Tagger("b", frozenset({"banks"})),
            Tagger("c", frozenset({"inquiries"})),
        ]
    )
    result = await registry.before_delivery(CTX, {})
    assert result["tags"] == ["a", "c"]
    assert calls == ["a", "c"]
    assert await registry.after_bank_response(CTX, RECORD) is RECORD


@pytest.mark.parametrize(
    "options",
    [
        {"deny_purposes": "marketing"},
        {"drop_claims": [1]},
        {"delivery_tag": 5},
        {"unknown": True},
    ],
)
def test_bad_plugin_options_fail_at_start_up(options: dict[str, Any]) -> None:
    with pytest.raises(PluginLoadError):
        PluginRegistry.from_factories(
            [("purpose_guard", PurposeGuard)], options={"purpose_guard": options}
        )


def test_a_plugin_factory_that_crashes_is_a_load_error() -> None:
    def broken(options: Any) -> Any:
        raise RuntimeError("boom")

    with pytest.raises(PluginLoadError, match="broken"):
        PluginRegistry.from_factories([("broken", broken)])
