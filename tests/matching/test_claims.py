"""Applicant data against verified_claims from each sandbox bank's mapping."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from honnin.matching.claims import (
    InvalidApplicantDataError,
    match_applicant,
    person_from_applicant,
    person_from_claims,
    record_claims,
)
from honnin.matching.compare import Outcome

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "banks"


def _record(bank: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (ASSETS / bank / "expected_verified_claims.json").read_text("utf-8")
    )
    return data


APPLICANTS: dict[str, dict[str, Any]] = {
    "sakura_oidc": {
        "family_name": "高橋",  # record: 髙橋
        "given_name": "一郎",
        "name_kana": "たかはし いちろう",
        "birthdate": "S60.4.1",
        "postal_code": "1000005",
        "address": {"region": "東京都", "locality": "千代田区", "street_address": "丸の内1-1-1"},
    },
    "momiji_rest": {
        "family_name": "山田",
        "given_name": "太郎",
        "family_name_kana": "ﾔﾏﾀﾞ",
        "given_name_kana": "たろう",
        "birthdate": "平成2年2月15日",
        "address": "〒530-0001 大阪府大阪市北区梅田三丁目1-1 梅田タワー1205",
    },
    "kaede_xml": {
        "family_name": "渡辺",  # record: 渡邉
        "given_name": "花子",
        "family_name#ja-Kana-JP": "ワタナベ",
        "given_name#ja-Kana-JP": "ハナコ",
        "birthdate": "1989-01-08",
        "address": "宮城県仙台市青葉区一番町4-7-17-202",
    },
}


@pytest.mark.parametrize("bank", sorted(APPLICANTS))
def test_each_bank_record_matches_its_applicant(bank: str) -> None:
    report = match_applicant(APPLICANTS[bank], _record(bank))
    assert report.overall is Outcome.MATCH, report.to_dict()


def test_methods_show_what_was_normalised() -> None:
    report = match_applicant(APPLICANTS["sakura_oidc"], _record("sakura_oidc")).to_dict()
    assert report["fields"]["name"]["method"] == "kanji_variant"
    assert report["fields"]["name_kana"]["method"] == "full_name_kana"
    assert report["fields"]["birthdate"]["method"] == "wareki_to_iso"
    report = match_applicant(APPLICANTS["kaede_xml"], _record("kaede_xml")).to_dict()
    assert report["fields"]["address"]["parts"]["building"]["method"] == "room_number"


def test_a_wrong_birthdate_and_another_town() -> None:
    applicant = dict(APPLICANTS["momiji_rest"], birthdate="1990-02-16")
    applicant["address"] = "大阪府大阪市中央区難波5-1-60"
    report = match_applicant(applicant, _record("momiji_rest"))
    assert report.field("birthdate").outcome is Outcome.MISMATCH
    assert report.field("address").outcome is Outcome.MISMATCH
    assert report.overall is Outcome.MISMATCH


def test_record_forms() -> None:
    record = _record("momiji_rest")
    assert record_claims({"verified_claims": record}) == record["claims"]
    assert record_claims({"verified_claims": [record]}) == record["claims"]
    assert record_claims([record]) == record["claims"]
    for bad in ({"verified_claims": []}, {"verification": {}}, {"claims": "x"}):
        with pytest.raises(InvalidApplicantDataError):
            record_claims(bad)


def test_claims_tags() -> None:
    person = person_from_claims(
        {"family_name#ja-Hani-JP": "山田", "family_name#ja-Hira-JP": "やまだ", "name": "山田"}
    )
    assert person.family_name == "山田"
    assert person.family_name_kana == "やまだ"


@pytest.mark.parametrize(
    "applicant",
    [{"family_name": 1}, {"address": 5}, {"address": {"region": ["東京都"]}}, "山田"],
)
def test_bad_applicant_data(applicant: Any) -> None:
    with pytest.raises(InvalidApplicantDataError) as info:
        person_from_applicant(applicant)
    assert info.value.code == "invalid_applicant_data"


def test_flat_address_keys() -> None:
    person = person_from_applicant(
        {"postal_code": "100-0001", "region": "東京都", "locality": "千代田区", "address": "x"}
    )
    assert person.address.postal_code == "100-0001"
    assert person.address.region == "東京都"
    assert person.address.formatted == "x"


def test_document_evidence_is_matched_the_same_way() -> None:
    # What a My Number card / driving licence check would emit: evidence "document",
    # the card's one-line name and address, a wareki birth date converted to ISO.
    document_vc = {
        "verification": {
            "trust_framework": "jp_aml",
            "evidence": [{"type": "document", "document_details": {"type": "idcard"}}],
        },
        "claims": {
            "name": "山﨑　美咲",
            "birthdate": "1989-01-07",
            "address": {"formatted": "神奈川県横浜市中区山下町二七九番地の二五"},
        },
    }
    applicant = {
        "family_name": "山崎",
        "given_name": "美咲",
        "birthdate": "昭和64年1月7日",
        "address": "〒231-0023 神奈川県横浜市中区山下町279-25",
    }
    report = match_applicant(applicant, document_vc)
    assert report.overall is Outcome.MATCH, report.to_dict()
    assert report.field("name").method == "full_name_kanji_variant"


def test_passport_mrz_names_against_kana() -> None:
    passport_vc = {
        "verification": {"trust_framework": "jp_aml"},
        "claims": {"family_name": "YAMAZAKI", "given_name": "MISAKI", "birthdate": "1989-01-07"},
    }
    applicant = {
        "family_name": "山﨑",
        "given_name": "美咲",
        "family_name_kana": "やまざき",
        "given_name_kana": "みさき",
        "birthdate": "S64.1.7",
    }
    report = match_applicant(applicant, passport_vc)
    assert report.field("name").method == "romaji"
    assert report.field("name").outcome is Outcome.MATCH
    assert report.field("birthdate").outcome is Outcome.MATCH
