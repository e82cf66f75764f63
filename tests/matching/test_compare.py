"""Field-by-field comparison and the match report."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from honnin.matching.compare import (
    AddressData,
    Outcome,
    PersonData,
    compare_addresses,
    compare_dates,
    compare_kana,
    compare_names,
    compare_people,
)

M, X, P, MISSING = Outcome.MATCH, Outcome.MISMATCH, Outcome.PARTIAL, Outcome.MISSING


@pytest.mark.parametrize(
    ("a", "b", "outcome", "method"),
    [
        (("山田", "太郎"), ("山田", "太郎"), M, "exact"),
        (("山田 ", "太郎"), ("山田", "太郎"), M, "exact"),
        (("ＡＢＥ", "Ｊｏｈｎ"), ("ABE", "John"), M, "nfkc"),
        (("Smith", "John"), ("SMITH", "JOHN"), M, "casefold"),
        (("髙橋", "一郎"), ("高橋", "一郎"), M, "kanji_variant"),
        (("山﨑", "一郎"), ("山崎", "一郎"), M, "kanji_variant"),
        (("齋藤", "花子"), ("斉藤", "花子"), M, "kanji_variant"),
        (("山田", "太郎"), ("山田", "次郎"), P, "kanji_variant"),
        (("山田", "太郎"), ("田中", "次郎"), X, "kanji_variant"),
    ],
)
def test_names(a: tuple[str, str], b: tuple[str, str], outcome: Outcome, method: str) -> None:
    result = compare_names(
        PersonData(family_name=a[0], given_name=a[1]), PersonData(family_name=b[0], given_name=b[1])
    )
    assert (result.outcome, result.method) == (outcome, method)
    assert {p.field for p in result.parts} == {"family", "given"}


def test_full_name_against_split_name() -> None:
    result = compare_names(
        PersonData(family_name="渡邉", given_name="花子"), PersonData(full_name="渡辺 花子")
    )
    assert (result.outcome, result.method) == (M, "full_name_kanji_variant")


@pytest.mark.parametrize(
    ("a", "b", "outcome", "method"),
    [
        ("ヤマダ", "ヤマダ", M, "exact"),
        ("やまだ", "ヤマダ", M, "kana"),
        ("ﾔﾏﾀﾞ", "ヤマダ", M, "kana"),
        ("ｼﾞﾖｳ", "ジョウ", M, "kana_folded"),
        ("ｻﾄ-", "サトー", M, "kana"),
        ("ヴィクトリア", "ビクトリア", M, "kana_phonetic"),
        ("ﾁﾂﾞｺ", "チズコ", M, "kana_phonetic"),
        ("ヤマダ", "ヤマザ", X, "kana_phonetic"),
    ],
)
def test_kana(a: str, b: str, outcome: Outcome, method: str) -> None:
    result = compare_kana(PersonData(family_name_kana=a), PersonData(family_name_kana=b))
    assert result.part("family").method == method
    assert result.part("family").outcome is outcome
    # Given name absent on both sides: the compared part decides.
    assert result.part("given").outcome is MISSING
    assert result.outcome is outcome


@pytest.mark.parametrize(
    ("a", "b", "outcome", "method"),
    [
        ("1985-04-01", "1985-04-01", M, "exact"),
        ("1985/4/1", "1985-04-01", M, "iso_date"),
        ("19850401", "1985-04-01", M, "yyyymmdd_to_iso"),
        ("昭和60年4月1日", "1985-04-01", M, "wareki_to_iso"),
        ("S60.4.1", "19850401", M, "wareki_to_iso"),
        ("1985-04-02", "1985-04-01", X, "iso_date"),
        ("平成31年5月1日", "2019-05-01", M, "wareki_overflow_to_iso"),
        ("令和1年4月30日", "2019-04-30", X, "unreadable"),
        ("いつか", "1985-04-01", X, "unreadable"),
    ],
)
def test_dates(a: str, b: str, outcome: Outcome, method: str) -> None:
    result = compare_dates("birthdate", a, b)
    assert (result.outcome, result.method) == (outcome, method)


def test_date_objects() -> None:
    assert compare_dates("birthdate", dt.date(1985, 4, 1), "S60.4.1").outcome is M


def test_missing_sides() -> None:
    assert compare_dates("birthdate", None, "1985-04-01").missing == "applicant"
    assert compare_dates("birthdate", "1985-04-01", None).missing == "record"
    assert compare_dates("birthdate", None, None).missing == "both"


RECORD = AddressData(
    formatted="東京都千代田区丸の内一丁目1番1号 パレスビル301",
    postal_code="100-0005",
    region="東京都",
    locality="千代田区",
    street_address="丸の内一丁目1番1号 パレスビル301",
)


@pytest.mark.parametrize(
    ("applicant", "outcome"),
    [
        (AddressData(formatted="〒100-0005 東京都千代田区丸の内1-1-1 パレスビル301"), M),
        (AddressData(formatted="東京都千代田区丸の内１丁目１番１号"), M),  # building omitted
        (AddressData(formatted="東京都千代田区丸の内1-1-1-301"), M),  # room as 4th number
        (AddressData(region="東京都", locality="千代田区", street_address="丸の内1-1-1"), M),
        (AddressData(formatted="千代田区丸の内1-1-1"), M),  # 東京都 implied by the ward
        (AddressData(formatted="府中市丸の内1-1-1"), X),  # another town altogether
        (AddressData(formatted="東京都千代田区丸の内1-1"), P),  # coarser block
        (AddressData(formatted="東京都千代田区丸の内1-1-2"), P),  # same town, other block
        (AddressData(formatted="〒100-0006 東京都千代田区丸の内1-1-1"), P),  # postal code differs
        (AddressData(formatted="東京都千代田区丸の内1-1-1 別ビル"), P),
        (AddressData(formatted="東京都港区丸の内1-1-1"), X),
        (AddressData(formatted="大阪府千代田区丸の内1-1-1"), X),
    ],
)
def test_addresses(applicant: AddressData, outcome: Outcome) -> None:
    result = compare_addresses(applicant, RECORD)
    assert result.outcome is outcome, result.to_dict()
    assert result.method == "address_components"


def test_designated_city_without_ward_is_partial() -> None:
    result = compare_addresses(
        AddressData(formatted="神奈川県横浜市山下町1-2"),
        AddressData(formatted="神奈川県横浜市中区山下町1-2"),
    )
    assert result.part("municipality").method == "designated_city"
    assert result.outcome is P


def test_unparseable_address_falls_back_to_text() -> None:
    a = AddressData(formatted="どこか遠く")
    assert compare_addresses(a, a).method == "address_text"
    assert compare_addresses(a, a).outcome is M
    assert compare_addresses(a, AddressData(formatted="別の場所")).outcome is X


def test_report_overall_and_dict() -> None:
    applicant = PersonData(
        family_name="髙橋",
        given_name="一郎",
        family_name_kana="たかはし",
        given_name_kana="いちろう",
        birthdate="S60.4.1",
        address=AddressData(formatted="東京都千代田区丸の内1-1-1"),
    )
    record = PersonData(
        family_name="高橋",
        given_name="一郎",
        family_name_kana="タカハシ",
        given_name_kana="イチロウ",
        birthdate="1985-04-01",
        address=RECORD,
    )
    report = compare_people(applicant, record)
    assert report.overall is M
    data = report.to_dict()
    assert data["overall"] == "match"
    assert data["fields"]["name"]["method"] == "kanji_variant"
    assert data["fields"]["birthdate"] == {"result": "match", "method": "wareki_to_iso"}
    assert data["fields"]["address"]["parts"]["building"]["missing"] == "applicant"
    # No personal data in the report.
    flat = repr(data)
    for value in ("高橋", "髙橋", "タカハシ", "1985", "丸の内"):
        assert value not in flat

    wrong_birth = compare_people(dataclasses.replace(applicant, birthdate="S60.4.2"), record)
    assert wrong_birth.overall is X
    absent = compare_people(applicant, dataclasses.replace(record, birthdate=None))
    assert absent.field("birthdate").missing == "record"
    assert absent.overall is P
    assert compare_people(PersonData(), PersonData()).overall is MISSING


NAMES = st.text(alphabet=st.sampled_from("山田高髙橋崎﨑辺邊太郎花子 "), max_size=6)
KANA = st.text(alphabet=st.sampled_from("ヤマダタロウやまだｼﾞﾖｳショウー "), max_size=6)
PEOPLE = st.builds(
    PersonData,
    family_name=st.none() | NAMES,
    given_name=st.none() | NAMES,
    family_name_kana=st.none() | KANA,
    birthdate=st.none() | st.sampled_from(["S60.4.1", "1985-04-01", "19850402", "bad"]),
    address=st.builds(
        AddressData,
        formatted=st.none()
        | st.sampled_from(
            ["東京都千代田区千代田1-1", "千代田区千代田一丁目1番", "大阪府堺市堺区1"]
        ),
    ),
)


def _swap(side: str | None) -> str | None:
    return {"applicant": "record", "record": "applicant"}.get(side or "", side)


@given(PEOPLE, PEOPLE)
def test_comparison_is_symmetric(a: PersonData, b: PersonData) -> None:
    ab, ba = compare_people(a, b), compare_people(b, a)
    # The overall outcome is deliberately one-sided (a field the record lacks counts,
    # one the applicant left out does not); per-field results are symmetric.
    if not any(f.missing in {"applicant", "record"} for f in ab.fields):
        assert ab.overall is ba.overall
    for x, y in zip(ab.fields, ba.fields, strict=True):
        assert (x.outcome, x.method, x.missing) == (y.outcome, y.method, _swap(y.missing))


@given(PEOPLE)
def test_everyone_matches_themselves(a: PersonData) -> None:
    for result in compare_people(a, a).fields:
        if result.field == "birthdate" and a.birthdate == "bad":
            continue
        assert result.outcome in {M, MISSING}, result


def test_postal_code_inside_formatted_when_parts_are_structured() -> None:
    record = dataclasses.replace(
        RECORD, postal_code=None, formatted="〒100-0005 " + RECORD.formatted
    )
    applicant = AddressData(formatted="〒100-0006 東京都千代田区丸の内1-1-1")
    result = compare_addresses(applicant, record)
    assert result.part("postal_code").outcome is X
    assert result.outcome is P


@pytest.mark.parametrize(
    ("record", "outcome", "method"),
    [
        (PersonData(family_name="SATO", given_name="YUKO"), M, "romaji"),
        (PersonData(family_name="SATOH", given_name="YUUKO"), M, "romaji"),
        (PersonData(family_name="Sato", given_name="Kenta"), P, "romaji"),
        (PersonData(full_name="SATO<<YUKO"), M, "full_name_romaji"),
        (PersonData(full_name="Yuko Sato"), M, "full_name_romaji"),
        (PersonData(full_name="KATO YUKO"), X, "full_name_romaji"),
    ],
)
def test_latin_record_against_kana(record: PersonData, outcome: Outcome, method: str) -> None:
    applicant = PersonData(
        family_name="佐藤", given_name="優子", family_name_kana="サトウ", given_name_kana="ゆうこ"
    )
    for a, b in ((applicant, record), (record, applicant)):
        result = compare_names(a, b)
        assert (result.outcome, result.method) == (outcome, method)


def test_latin_without_kana_stays_a_plain_mismatch() -> None:
    result = compare_names(
        PersonData(family_name="佐藤", given_name="優子"),
        PersonData(family_name="SATO", given_name="YUKO"),
    )
    assert (result.outcome, result.method) == (X, "kanji_variant")


def test_postal_code_only() -> None:
    only = AddressData(postal_code="１００－０００５")
    result = compare_addresses(only, RECORD)
    assert (result.outcome, result.method) == (M, "postal_code_only")
    other = compare_addresses(AddressData(postal_code="100-0006"), RECORD)
    assert other.outcome is X
    no_code = compare_addresses(only, AddressData(formatted="東京都千代田区丸の内1-1-1"))
    assert (no_code.outcome, no_code.missing) == (MISSING, "record")


def test_prefecture_left_out() -> None:
    record = AddressData(formatted="神奈川県横浜市中区山下町1-2")
    inferred = compare_addresses(AddressData(formatted="横浜市中区山下町1-2"), record)
    assert inferred.part("prefecture").method == "prefecture_inferred"
    assert inferred.outcome is M
    # 府中市 exists in Tokyo and in Hiroshima: nothing can be inferred.
    unknown = compare_addresses(
        AddressData(formatted="府中市宮西町2-24"), AddressData(formatted="東京都府中市宮西町2-24")
    )
    assert unknown.part("prefecture").missing == "applicant"
    assert unknown.outcome is P


def test_kyoto_street_directions() -> None:
    record = AddressData(formatted="京都府京都市中京区寺町通御池上る上本能寺前町488番地")
    short = AddressData(formatted="京都府京都市中京区上本能寺前町488")
    assert compare_addresses(short, record).outcome is M


PLACES = [
    ("東京都", "千代田区", "丸の内"),
    ("大阪府", "大阪市北区", "梅田"),
    ("愛知県", "名古屋市中区", "栄"),
    ("宮城県", "仙台市青葉区", "一番町"),
    ("千葉県", "市川市", "八幡"),
    ("三重県", "四日市市", "諏訪町"),
    ("東京都", "西多摩郡瑞穂町", "箱根ケ崎"),
    ("北海道", "札幌市中央区", "北1条西"),
]


def _kanji(n: int) -> str:
    from honnin.matching.numerals import int_to_kanji

    return int_to_kanji(n)


def _wide(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isdigit() else c for c in text)


@st.composite
def address_spellings(draw: st.DrawFn) -> tuple[AddressData, AddressData]:
    prefecture, municipality, town = draw(st.sampled_from(PLACES))
    a, b, c = (draw(st.integers(1, 40)) for _ in range(3))
    building = draw(st.sampled_from(["", "サンハイツ", "グランドタワー"]))
    room = draw(st.integers(101, 999))
    postal = draw(st.from_regex(r"\A[0-9]{7}\Z"))

    def street(style: int) -> str:
        return [
            f"{a}-{b}-{c}",
            f"{_kanji(a)}丁目{_kanji(b)}番{_kanji(c)}号",
            f"{a}丁目{b}番地{c}",
            _wide(f"{a}丁目{b}－{c}"),
        ][style]

    def spell(style: int, *, structured: bool, with_postal: bool, spaced: bool) -> AddressData:
        suffix = ""
        if building:
            suffix = (" " if spaced else "") + (
                f"{building}{room}" if spaced else f"{building}{room}号室"
            )
        line = f"{town}{street(style)}{suffix}"
        code = f"{postal[:3]}-{postal[3:]}" if with_postal else None
        if structured:
            return AddressData(
                postal_code=code, region=prefecture, locality=municipality, street_address=line
            )
        prefix = f"〒{code} " if code else ""
        return AddressData(formatted=f"{prefix}{prefecture}{municipality}{line}")

    choices = st.tuples(st.integers(0, 3), st.booleans(), st.booleans(), st.booleans())
    first, second = draw(choices), draw(choices)
    return (
        spell(first[0], structured=first[1], with_postal=first[2], spaced=first[3]),
        spell(second[0], structured=second[1], with_postal=second[2], spaced=second[3]),
    )


@given(address_spellings())
def test_spellings_of_one_address_match(pair: tuple[AddressData, AddressData]) -> None:
    left, right = pair
    result = compare_addresses(left, right)
    assert result.outcome is M, (left, right, result.to_dict())
