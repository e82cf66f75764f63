"""Bank mapping benchmark: per-record cost of mapping, schema validation and matching.

    honnin bench bank_mapping --json [-o iterations=2000]

For each sandbox bank's golden sample (tests/assets/banks/): ``apply`` with and without
OIDC4IDA schema validation (validation of an already-seen shape is a shape-key look-up,
honnin.banks.shape), the full jsonschema validation it saves (``schema_full_us``),
``match_applicant`` against a typical applicant, and as the baseline, measured in the
same run, only parsing the body (``json.loads`` / defusedxml) — what any broker has to
pay before mapping. Times are per record, in microseconds (median of 5 rounds).
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from defusedxml.ElementTree import fromstring

from honnin.banks.mapping import load_mapping
from honnin.banks.oidc4ida import verified_claims_errors
from honnin.matching.claims import match_applicant

ASSETS = Path(__file__).resolve().parents[1] / "tests" / "assets" / "banks"
SAMPLES = {
    "sakura_oidc": ("userinfo.json", "application/json"),
    "momiji_rest": ("customer.json", "application/json"),
    "kaede_xml": ("kyc.xml", "application/xml"),
}
APPLICANT = {
    "family_name": "高橋",
    "given_name": "一郎",
    "name_kana": "たかはし いちろう",
    "birthdate": "S60.4.1",
    "address": "〒100-0005 東京都千代田区丸の内1-1-1 パレスビル301",
}


def _per_call_us(fn: Callable[[], object], iterations: int) -> float:
    rounds = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(iterations):
            fn()
        rounds.append((time.perf_counter() - start) / iterations * 1e6)
    return round(statistics.median(rounds), 1)


def _measure(bank: str, iterations: int, now: dt.datetime) -> dict[str, float]:
    name, content_type = SAMPLES[bank]
    body = (ASSETS / bank / name).read_bytes()
    mapping = load_mapping(bank)
    result = mapping.apply(body, content_type=content_type, bank_id=bank, fetched_at=now)
    is_xml = content_type.endswith("xml")

    def parse() -> object:
        return fromstring(body, forbid_dtd=True) if is_xml else json.loads(body)

    def apply(*, validate: bool) -> object:
        return mapping.apply(
            body, content_type=content_type, bank_id=bank, fetched_at=now, validate=validate
        )

    return {
        "baseline_parse_us": _per_call_us(parse, iterations),
        "apply_us": _per_call_us(lambda: apply(validate=False), iterations),
        "apply_validated_us": _per_call_us(lambda: apply(validate=True), iterations),
        "schema_full_us": _per_call_us(lambda: verified_claims_errors(result), iterations),
        "match_us": _per_call_us(lambda: match_applicant(APPLICANT, result), iterations),
    }


def run(**options: str) -> dict[str, Any]:
    iterations = int(options.get("iterations", "2000"))
    now = dt.datetime.now(dt.UTC)
    banks = {bank: _measure(bank, iterations, now) for bank in SAMPLES}
    worst = max(b["apply_validated_us"] + b["match_us"] for b in banks.values())
    return {
        "iterations": iterations,
        "banks": banks,
        "worst_map_validate_match_us": round(worst, 1),
        "records_per_s_one_core": round(1e6 / worst),
    }
