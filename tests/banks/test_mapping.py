"""Bank mappings: golden wire samples of the three sandbox banks, load-time checks, faults."""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from honnin.banks.errors import BankPayloadError, MappingDefinitionError
from honnin.banks.mapping import available_mappings, load_mapping, parse_mapping
from honnin.banks.oidc4ida import validate_verified_claims
from honnin.matching.dates import to_wareki

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "banks"
FETCHED_AT = dt.datetime(2026, 11, 21, 4, 40, tzinfo=dt.UTC)
SAMPLES = {
    "sakura_oidc": ("userinfo.json", "application/json"),
    "momiji_rest": ("customer.json", "application/json; charset=utf-8"),
    "kaede_xml": ("kyc.xml", "application/xml"),
}


def _apply(bank: str, payload: bytes | dict[str, Any], content_type: str) -> dict[str, Any]:
    return load_mapping(bank).apply(
        payload, content_type=content_type, bank_id=bank, fetched_at=FETCHED_AT
    )


def _sample(bank: str) -> bytes:
    return (ASSETS / bank / SAMPLES[bank][0]).read_bytes()


def test_the_three_sandbox_banks_are_bundled() -> None:
    assert set(SAMPLES) <= set(available_mappings())


@pytest.mark.parametrize("bank", sorted(SAMPLES))
def test_golden_sample_maps_to_expected_verified_claims(bank: str) -> None:
    result = _apply(bank, _sample(bank), SAMPLES[bank][1])
    expected = json.loads((ASSETS / bank / "expected_verified_claims.json").read_text("utf-8"))
    assert result == expected
    validate_verified_claims(result)
    validate_verified_claims({"verified_claims": result})


@pytest.mark.parametrize("bank", sorted(SAMPLES))
def test_evidence_names_the_bank_and_the_fetch_time(bank: str) -> None:
    result = _apply(bank, _sample(bank), SAMPLES[bank][1])
    verification = result["verification"]
    assert verification["trust_framework"] == "jp_aml"
    (evidence,) = verification["evidence"]
    assert evidence["type"] == "electronic_record"
    assert evidence["check_details"][0]["organization"] == bank
    assert evidence["check_details"][0]["time"] == "2026-11-21T04:40:00Z"
    assert evidence["record"]["source"]["name"].endswith("(sandbox)")


def test_momiji_flat_fields_are_normalised() -> None:
    claims = _apply("momiji_rest", _sample("momiji_rest"), "application/json")["claims"]
    assert claims["family_name#ja-Kana-JP"] == "ヤマダ"  # from half-width ﾔﾏﾀﾞ
    assert claims["birthdate"] == "1990-02-15"  # from 19900215
    assert claims["address"]["postal_code"] == "530-0001"  # out of the address string
    assert claims["address"]["region"] == "大阪府"
    assert claims["address"]["locality"] == "大阪市北区"
    assert "〒" not in claims["address"]["formatted"]


def test_kaede_wareki_and_fullwidth_digits() -> None:
    claims = _apply("kaede_xml", _sample("kaede_xml"), "text/xml")["claims"]
    assert claims["birthdate"] == "1989-01-08"  # 平成元年１月８日
    assert claims["address"]["postal_code"] == "980-0811"  # ９８０－０８１１
    assert claims["family_name"] == "渡邉"  # the bank's spelling is kept


def test_mapping_accepts_a_decoded_dict() -> None:
    payload = json.loads(_sample("momiji_rest"))
    assert _apply("momiji_rest", payload, "application/json") == _apply(
        "momiji_rest", _sample("momiji_rest"), "application/json"
    )


def test_signed_userinfo_needs_the_connectors_verifier() -> None:
    mapping = load_mapping("sakura_oidc")
    with pytest.raises(BankPayloadError, match="JWT verifier"):
        mapping.apply(
            b"eyJ.eyJ.sig", content_type="application/jwt", bank_id="x", fetched_at=FETCHED_AT
        )
    seen: list[bytes] = []

    def verify(token: bytes) -> dict[str, Any]:
        seen.append(token)
        return json.loads(_sample("sakura_oidc"))

    result = mapping.apply(
        b"eyJ.eyJ.sig",
        content_type="application/jwt",
        bank_id="sakura_oidc",
        fetched_at=FETCHED_AT,
        verify_jwt=verify,
    )
    assert seen == [b"eyJ.eyJ.sig"]
    assert result["claims"]["family_name"] == "髙橋"


@pytest.mark.parametrize(
    ("bank", "body", "content_type", "message"),
    [
        ("momiji_rest", b"{not json", "application/json", "malformed JSON"),
        ("momiji_rest", b"[1, 2]", "application/json", "not an object"),
        ("momiji_rest", b"\xff\xfe", "application/json", "malformed JSON"),
        ("momiji_rest", b"{}", "text/html", "expected a JSON body"),
        ("kaede_xml", b"<KycResponse><unclosed>", "application/xml", "malformed or unsafe"),
        ("kaede_xml", b"{}", "application/json", "expected an XML body"),
        (
            "kaede_xml",
            b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>',
            "application/xml",
            "malformed or unsafe",
        ),
        (
            "kaede_xml",
            b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>',
            "application/xml",
            "malformed or unsafe",
        ),
    ],
)
def test_malformed_or_unsafe_bodies_are_payload_errors(
    bank: str, body: bytes, content_type: str, message: str
) -> None:
    with pytest.raises(BankPayloadError, match=message) as info:
        _apply(bank, body, content_type)
    assert info.value.code == "bank_payload_invalid"


def test_oversized_body_is_refused() -> None:
    with pytest.raises(BankPayloadError, match="too large"):
        _apply("momiji_rest", b" " * (1 << 20 + 1), "application/json")


def test_missing_required_field_is_a_payload_error() -> None:
    payload = json.loads(_sample("momiji_rest"))
    del payload["birth_date"]
    with pytest.raises(BankPayloadError, match=r"claims\.birthdate"):
        _apply("momiji_rest", payload, "application/json")


def test_optional_field_missing_is_omitted() -> None:
    payload = json.loads(_sample("momiji_rest"))
    del payload["name_kana"]
    claims = _apply("momiji_rest", payload, "application/json")["claims"]
    assert "family_name#ja-Kana-JP" not in claims
    assert claims["family_name"] == "山田"


def test_failed_expectation_is_a_payload_error() -> None:
    payload = json.loads(_sample("momiji_rest"))
    payload["kyc_status"] = "pending"
    with pytest.raises(BankPayloadError, match=r"expect\[0\]"):
        _apply("momiji_rest", payload, "application/json")


def test_bad_value_names_the_field_not_the_value() -> None:
    xml = _sample("kaede_xml").replace("平成元年１月８日".encode(), "平成３２年２月３０日".encode())
    with pytest.raises(BankPayloadError) as info:
        _apply("kaede_xml", xml, "application/xml")
    assert "claims.birthdate" in info.value.safe_message
    assert "平成" not in info.value.safe_message


def test_unsplittable_name_leaves_parts_absent_but_keeps_name() -> None:
    payload = json.loads(_sample("momiji_rest"))
    payload["name_kanji"] = "山田太郎"
    claims = _apply("momiji_rest", payload, "application/json")["claims"]
    assert claims["name"] == "山田太郎"
    assert "family_name" not in claims
    assert "given_name" not in claims


def test_path_selecting_an_object_is_a_payload_error() -> None:
    payload = json.loads(_sample("momiji_rest"))
    payload["birth_date"] = {"y": 1990}
    with pytest.raises(BankPayloadError, match="object or array"):
        _apply("momiji_rest", payload, "application/json")


def test_naive_fetch_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        load_mapping("momiji_rest").apply(
            _sample("momiji_rest"),
            content_type="application/json",
            bank_id="momiji_rest",
            fetched_at=dt.datetime(2026, 1, 1),
        )


# --- a fourth bank needs only a YAML file ------------------------------------------------

FOURTH_BANK = """
mapping_version: 1
bank_id: ginkgo_nested
display_name: いちょう信金 (test)
format: json
evidence:
  record_type: bank_account
  check_method: data
claims:
  family_name: {path: person.names.0.family, transforms: [nfkc], required: true}
  given_name: person.names.0.given
  family_name#ja-Kana-JP:
    path: person.names.1.family
    transforms: [katakana_to_hiragana, hiragana_to_katakana]
  birthdate:
    path: /person/birth
    transforms: [{wareki_to_iso: {strict: false}}]
  gender:
    path: /person/sex
    transforms: [{map: {values: {"1": male, "2": female}, default: other}}]
  address.postal_code:
    paths: [/person/zip/0, /person/zip/1]
    transforms: [{concat: {separator: "-"}}]
  address.locality:
    path: /person/addr
    transforms: [{regex_extract: {pattern: "^(?P<city>[^市]+市)", group: city}}]
"""


def test_a_fourth_bank_with_another_format_needs_only_yaml(tmp_path: Path) -> None:
    path = tmp_path / "ginkgo_nested.yaml"
    path.write_text(FOURTH_BANK, "utf-8")
    mapping = load_mapping(path)
    payload = {
        "person": {
            "names": [{"family": "ＳＡＴＯ", "given": "Hana"}, {"family": "さとう"}],
            "birth": "平成31年5月1日",
            "sex": 2,
            "zip": ["100", "0001"],
            "addr": "横浜市中区",
        }
    }
    result = mapping.apply(
        payload, content_type="application/json", bank_id="ginkgo", fetched_at=FETCHED_AT
    )
    validate_verified_claims(result)
    assert result["claims"] == {
        "family_name": "SATO",
        "given_name": "Hana",
        "family_name#ja-Kana-JP": "サトウ",
        "birthdate": "2019-05-01",  # lenient: the printed-form overflow of 平成
        "gender": "female",
        "address": {"postal_code": "100-0001", "locality": "横浜市"},
    }


# --- load-time checks ----------------------------------------------------------------------


def _broken(**changes: Any) -> dict[str, Any]:
    raw = yaml.safe_load(FOURTH_BANK)
    for dotted, value in changes.items():
        node = raw
        keys = dotted.split("__")
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value
    return raw


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"claims__birthdate": {"path": "/a", "transforms": ["to_iso"]}}, "unknown transform"),
        ({"claims__birthdate": {"path": "", "transforms": []}}, "non-empty string"),
        ({"claims__birthdate": {"path": "/a/~2"}}, "bad '~' escape"),
        ({"claims__birthdate": {"path": "a..b"}}, "empty segment"),
        ({"claims__birthdate": {"path": "/a", "transform": []}}, "unknown key 'transform'"),
        ({"claims__birth_date": "/a"}, "not an OIDC4IDA claim"),
        ({"claims__address.zip": "/a"}, "not an OIDC4IDA claim"),
        ({"claims__family_name#not a tag": "/a"}, "bad language tag"),
        ({"claims__gender": {"path": "/a", "transforms": [{"map": {}}]}}, "map needs values"),
        ({"claims__gender": {"path": "/a", "transforms": [{"split_name": {"part": "x"}}]}}, "part"),
        ({"claims__gender": {"path": "/a", "transforms": [{"nfkc": 1}]}}, "takes no arguments"),
        (
            {"claims__gender": {"path": "/a", "transforms": [{"regex_extract": {"pattern": "("}}]}},
            "does not compile",
        ),
        (
            {"claims__gender": {"path": "/a", "transforms": [{"template": "{0.__class__}"}]}},
            "template fields",
        ),
        ({"claims__gender": {"transforms": ["nfkc"]}}, "needs a path"),
        ({"claims__gender": {"path": "/a", "required": "yes"}}, "required must be"),
        ({"format": "csv"}, "format must be"),
        ({"mapping_version": 2}, "mapping_version"),
        ({"bank_id": "Bad-Id"}, "bank_id"),
        ({"extra": 1}, "unknown top-level key"),
        ({"claims": {}}, "claims must be"),
        ({"evidence__source": {"name": 1}}, "evidence.source"),
        ({"verification": {"owner": "/a"}}, "not a mappable verification field"),
        ({"expect": [{"path": "/a"}]}, "needs path and a string equals"),
        ({"namespaces": {"k": "urn:x"}}, "xml format only"),
    ],
)
def test_invalid_mapping_fails_at_load_with_a_clear_error(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(MappingDefinitionError, match=message) as info:
        parse_mapping(_broken(**changes), origin="broken.yaml")
    assert info.value.code == "bank_mapping_invalid"
    assert info.value.safe_message.startswith("broken.yaml")


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("k:Root/k:Name", "must be absolute"),
        ("//k:Name", "must be absolute"),
        ("/k:Root//k:Name", "empty step"),
        ("/x:Root", "undeclared namespace prefix"),
        ("/k:Root/k:Name[contains(., 'a')]", "unsupported XPath"),
        ("/k:Root/k:Name[1][2]", "two positions"),
        ("/k:Root/following-sibling::k:Name", "unsupported XPath step"),
        ("/@id", "at least one element step"),
        ("/k:Root/k:Name[@type='a", "unbalanced"),
        ("/k:Root/k:Name]", "unbalanced"),
    ],
)
def test_invalid_xpath_fails_at_load(path: str, message: str) -> None:
    raw = yaml.safe_load(
        (ASSETS.parents[2] / "src/honnin/banks/mappings/kaede_xml.yaml").read_text()
    )
    raw["claims"]["family_name"] = {"path": path}
    with pytest.raises(MappingDefinitionError, match=message):
        parse_mapping(raw, origin="kaede.yaml")


def test_unknown_bundled_name_and_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(MappingDefinitionError, match="no bundled mapping"):
        load_mapping("no_such_bank")
    with pytest.raises(MappingDefinitionError, match="cannot read"):
        load_mapping(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("claims: [unclosed", "utf-8")
    with pytest.raises(MappingDefinitionError, match="not valid YAML"):
        load_mapping(bad)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("just text", "utf-8")
    with pytest.raises(MappingDefinitionError, match="top level"):
        load_mapping(scalar)


def test_xpath_predicates_positions_attributes_and_wildcards() -> None:
    xml = (
        b'<r xmlns="urn:t"><p n="a"><v>1</v></p><p n="b"><v>2</v><w k="z">x</w></p>'
        b'<p n="a/b"><v>3</v></p></r>'
    )
    raw = {
        "mapping_version": 1,
        "bank_id": "t",
        "display_name": "t",
        "format": "xml",
        "namespaces": {"t": "urn:t", "": "urn:t"},
        "claims": {
            "name": "/t:r/t:p[2]/t:v",
            "given_name": "/r/p[@n='a']/v/text()",
            "family_name": "/r/*[w='x']/w/@k",
            "middle_name": "/r/p[3]/v",
            "nickname": "/r/p[@n='a/b']/v",
        },
    }
    result = parse_mapping(raw).apply(
        xml, content_type="application/xml", bank_id="t", fetched_at=FETCHED_AT
    )
    assert result["claims"] == {
        "name": "2",
        "given_name": "1",
        "family_name": "z",
        "middle_name": "3",
        "nickname": "3",
    }


# --- properties ---------------------------------------------------------------------------

_HALF: dict[str, str] = {}
for _cp in range(0xFF61, 0xFFA0):
    _HALF.setdefault(unicodedata.normalize("NFKC", chr(_cp)), chr(_cp))


def to_halfwidth_kana(text: str) -> str:
    """Full-width katakana as a bank writes it in half width (built from NFKC)."""
    out = []
    for ch in text:
        if ch in _HALF:
            out.append(_HALF[ch])
            continue
        base, *marks = unicodedata.normalize("NFD", ch)
        mark = {"\u3099": "ﾞ", "\u309a": "ﾟ"}.get(marks[0]) if marks else None
        out.append(_HALF[base] + mark if mark and base in _HALF else ch)
    return "".join(out)


@settings(max_examples=60)
@given(st.binary(max_size=200), st.sampled_from(sorted(SAMPLES)))
def test_arbitrary_bodies_map_or_fail_cleanly(body: bytes, bank: str) -> None:
    try:
        result = _apply(bank, body, SAMPLES[bank][1])
    except BankPayloadError:
        return
    validate_verified_claims(result)


def _wide(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isdigit() else c for c in text)


@settings(max_examples=40)
@given(
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2020, 12, 31)),
    st.from_regex(r"\A[0-9]{3}-[0-9]{4}\Z"),
    st.integers(1, 9),
    st.booleans(),
)
def test_kaede_output_is_width_invariant(
    birth: dt.date, postal: str, block: int, wide: bool
) -> None:
    width = _wide if wide else str
    xml = _sample("kaede_xml").decode()
    xml = xml.replace("平成元年１月８日", width(to_wareki(birth)))
    xml = xml.replace("９８０－０８１１", width(postal))
    xml = xml.replace("一番町四丁目７番１７号", width(f"一番町{block}丁目7番17号"))
    result = _apply("kaede_xml", xml.encode(), "application/xml")
    validate_verified_claims(result)
    assert result["claims"]["birthdate"] == birth.isoformat()
    assert result["claims"]["address"]["postal_code"] == postal
    assert result["claims"]["address"]["street_address"].startswith(f"一番町{block}丁目7番17号")


@settings(max_examples=40)
@given(
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2030, 12, 31)),
    st.from_regex(r"\A[ァ-ヶ]{1,6}\Z"),
)
def test_momiji_dates_and_kana(birth: dt.date, kana: str) -> None:
    payload = json.loads(_sample("momiji_rest"))
    payload["birth_date"] = birth.strftime("%Y%m%d")
    payload["name_kana"] = to_halfwidth_kana(kana) + " ﾀﾛｳ"
    claims = _apply("momiji_rest", payload, "application/json")["claims"]
    assert claims["birthdate"] == birth.isoformat()
    assert claims["family_name#ja-Kana-JP"] == kana


def test_legacy_japanese_encodings_are_read() -> None:
    xml = _sample("kaede_xml").decode("utf-8").replace('encoding="UTF-8"', 'encoding="Shift_JIS"')
    expected = _apply("kaede_xml", _sample("kaede_xml"), "application/xml")
    # Declared Shift_JIS, written as Windows-31J like real systems (－ is not in JIS X 0208).
    assert _apply("kaede_xml", xml.encode("cp932"), "application/xml") == expected
    euc = xml.replace("Shift_JIS", "EUC-JP").replace("－", "-").encode("euc_jp")
    assert _apply("kaede_xml", euc, "text/xml; charset=EUC-JP") == expected
    body = _sample("momiji_rest").decode("utf-8")
    json_expected = _apply("momiji_rest", _sample("momiji_rest"), "application/json")
    sjis = _apply("momiji_rest", body.encode("cp932"), "application/json; charset=Shift_JIS")
    assert sjis == json_expected
    bom = _apply("momiji_rest", "\ufeff".encode() + body.encode(), "application/json")
    assert bom == json_expected


@pytest.mark.parametrize(
    ("bank", "body", "content_type", "message"),
    [
        ("momiji_rest", b"{}", "application/json; charset=klingon", "unknown charset"),
        (
            "kaede_xml",
            b'<?xml version="1.0" encoding="klingon"?><a/>',
            "application/xml",
            "unknown encoding",
        ),
        (
            "kaede_xml",
            b'<?xml version="1.0" encoding="Shift_JIS"?><a>\x81</a>',
            "application/xml",
            "not valid",
        ),
        ("momiji_rest", "{}".encode("utf-16"), "application/json", "malformed JSON"),
    ],
)
def test_bad_encodings_are_payload_errors(
    bank: str, body: bytes, content_type: str, message: str
) -> None:
    with pytest.raises(BankPayloadError, match=message):
        _apply(bank, body, content_type)


def test_only_the_claims_asked_for_are_mapped() -> None:
    payload = json.loads(_sample("momiji_rest"))
    del payload["birth_date"]  # required, but not asked for
    result = load_mapping("momiji_rest").apply(
        payload,
        content_type="application/json",
        bank_id="momiji_rest",
        fetched_at=FETCHED_AT,
        only_claims={"family_name", "address"},
    )
    assert set(result["claims"]) == {"family_name", "address"}
    assert result["claims"]["address"]["postal_code"] == "530-0001"


def test_interop_mapping_is_sakura_under_another_name() -> None:
    sakura = _apply("sakura_oidc", _sample("sakura_oidc"), "application/json")
    interop = load_mapping("interop_op").apply(
        _sample("sakura_oidc"),
        content_type="application/json",
        bank_id="interop_op",
        fetched_at=FETCHED_AT,
    )
    assert interop["claims"] == sakura["claims"]
    source = interop["verification"]["evidence"][0]["record"]["source"]
    assert source["name"] == "oidc-provider interop bank (sandbox)"
