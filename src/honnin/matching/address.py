"""Japanese postal addresses: postal code, prefecture, municipality, street, building (pure).

Postal codes are Japan Post's seven digits (``NNN-NNNN``). Prefectures are the 47 of the
Local Autonomy Act. Municipalities (市区町村, with 郡 and the wards of the 20 designated
cities, 地方自治法 Art. 252-19) are found by their suffix, with a list of names that
contain a suffix character themselves (四日市市, 市川市 ...): there is no address database
here, so detection is a documented heuristic and comparison falls back to the whole
normalised text when a part cannot be found.

Street normalisation writes block numbers the way people type them: kanji numerals in
front of a counter become digits, and 丁目 / 番地 / 番 / 号 / の between numbers become
hyphens (一丁目二番三号 -> 1-2-3, 2番地の3 -> 2-3).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from honnin.matching.errors import InvalidPostalCodeError
from honnin.matching.numerals import replace_kanji_numerals
from honnin.matching.text import (
    DASHES,
    collapse_spaces,
    fold_kanji_variants,
    nfkc,
    normalize_hyphens,
    remove_spaces,
    strip_variation_selectors,
)

__all__ = [
    "CITY_PREFECTURES",
    "DESIGNATED_CITIES",
    "PREFECTURES",
    "TOKYO_WARDS",
    "AddressParts",
    "ParsedAddress",
    "detect_municipality",
    "detect_prefecture",
    "extract_postal_code",
    "format_postal_code",
    "infer_prefecture",
    "normalize_building",
    "normalize_postal_code",
    "normalize_street",
    "parse_address",
    "split_address",
    "split_street_building",
]

PREFECTURES: tuple[str, ...] = (
    "北海道",
    "青森県",
    "岩手県",
    "宮城県",
    "秋田県",
    "山形県",
    "福島県",
    "茨城県",
    "栃木県",
    "群馬県",
    "埼玉県",
    "千葉県",
    "東京都",
    "神奈川県",
    "新潟県",
    "富山県",
    "石川県",
    "福井県",
    "山梨県",
    "長野県",
    "岐阜県",
    "静岡県",
    "愛知県",
    "三重県",
    "滋賀県",
    "京都府",
    "大阪府",
    "兵庫県",
    "奈良県",
    "和歌山県",
    "鳥取県",
    "島根県",
    "岡山県",
    "広島県",
    "山口県",
    "徳島県",
    "香川県",
    "愛媛県",
    "高知県",
    "福岡県",
    "佐賀県",
    "長崎県",
    "熊本県",
    "大分県",
    "宮崎県",
    "鹿児島県",
    "沖縄県",
)

DESIGNATED_CITIES: tuple[str, ...] = (
    "札幌市",
    "仙台市",
    "さいたま市",
    "千葉市",
    "横浜市",
    "川崎市",
    "相模原市",
    "新潟市",
    "静岡市",
    "浜松市",
    "名古屋市",
    "京都市",
    "大阪市",
    "堺市",
    "神戸市",
    "岡山市",
    "広島市",
    "北九州市",
    "福岡市",
    "熊本市",
)

# Prefecture of each designated city, and Tokyo's special wards: the municipalities that
# name their prefecture unambiguously when an address leaves it out.
CITY_PREFECTURES: dict[str, str] = {
    "札幌市": "北海道",
    "仙台市": "宮城県",
    "さいたま市": "埼玉県",
    "千葉市": "千葉県",
    "横浜市": "神奈川県",
    "川崎市": "神奈川県",
    "相模原市": "神奈川県",
    "新潟市": "新潟県",
    "静岡市": "静岡県",
    "浜松市": "静岡県",
    "名古屋市": "愛知県",
    "京都市": "京都府",
    "大阪市": "大阪府",
    "堺市": "大阪府",
    "神戸市": "兵庫県",
    "岡山市": "岡山県",
    "広島市": "広島県",
    "北九州市": "福岡県",
    "福岡市": "福岡県",
    "熊本市": "熊本県",
}
TOKYO_WARDS: frozenset[str] = frozenset(
    [
        "千代田区",
        "中央区",
        "港区",
        "新宿区",
        "文京区",
        "台東区",
        "墨田区",
        "江東区",
        "品川区",
        "目黒区",
        "大田区",
        "世田谷区",
        "渋谷区",
        "中野区",
        "杉並区",
        "豊島区",
        "北区",
        "荒川区",
        "板橋区",
        "練馬区",
        "足立区",
        "葛飾区",
        "江戸川区",
    ]
)


def infer_prefecture(municipality: str) -> str | None:
    """The prefecture a municipality implies, for designated cities and Tokyo's wards."""
    if municipality in TOKYO_WARDS:
        return "東京都"
    for city, prefecture in CITY_PREFECTURES.items():
        if municipality.startswith(city):
            return prefecture
    return None


# Municipalities and districts whose name contains 市/区/町/村/郡 before the suffix, so
# that the shortest-suffix rule would cut them short.
_SUFFIX_IN_NAME: tuple[str, ...] = (
    "大和郡山市",
    "郡山市",
    "小郡市",
    "蒲郡市",
    "郡上市",
    "上市町",
    "四日市市",
    "廿日市市",
    "野々市市",
    "市川三郷町",
    "余市郡余市町",
    "余市郡",
    "北村山郡",
    "西村山郡",
    "東村山郡",
    "町田市",
    "十日町市",
    "大町市",
    "村上市",
    "東村山市",
    "武蔵村山市",
    "村山市",
    "田村市",
    "田村郡",
    "大村市",
    "羽村市",
    "中新川郡",
    "市貝町",
    "市川町",
    "市原市",
    "市川市",
)

_GUN = re.compile(r"^(.{1,5}?郡.{1,5}?[町村])")
_WARD = re.compile(r"^(.{1,4}?区)")
_CITY = re.compile(r"^(.{1,6}?市)")
_TOWN = re.compile(r"^(.{1,5}?[町村])")
# 番町 is part of town names (一番町, 五番町), not a block counter; 条 and 線 number the
# grid streets of Hokkaido towns (北一条西 = 北1条西).
_COUNTERS = "丁目|丁|番地|番(?!町)|号|地割|条|線|の|ノ|-"
_CJK = "\u3400-\u9fff\uf900-\ufaff"
_GA_BETWEEN_KANJI = re.compile(f"(?<=[{_CJK}])[ヶケヵがガ](?=[{_CJK}])")
_NO_BETWEEN_KANJI = re.compile(f"(?<=[{_CJK}])[のノ之](?=[{_CJK}])")
_HOUSE_NUMBER = re.compile(r"\d+(?:-\d+)+")
_KYOTO_DIRECTIONS = re.compile(
    r"^[^\d]*?通[^\d]*?(?:上る|上ル|下る|下ル|[東西]入る|[東西]入ル|[東西]入)"
)
_COUNTER_AFTER_NUMBER = re.compile(r"(\d+)(?:丁目|丁(?=\d)|番地|番(?!町)|地割)(?:の|ノ)?")
_GO_AFTER_NUMBER = re.compile(r"(\d+)号")
_NO_BETWEEN_NUMBERS = re.compile(r"(\d+)[のノ](?=\d)")
_HYPHEN_RUN = re.compile(r"-{2,}")
_DANGLING_HYPHEN = re.compile(r"-(?!\d)")
_ROOM = re.compile(r"(\d+)号室?")
_NUMERAL_LOOKAHEAD = f"(?:{_COUNTERS}|[{DASHES}]|$)"


@dataclass(frozen=True, slots=True)
class ParsedAddress:
    """The parts found in one address string; ``None`` where a part was not found."""

    postal_code: str | None
    prefecture: str | None
    municipality: str | None
    street: str | None
    building: str | None

    @property
    def normalized(self) -> str:
        """All parts, normalised, concatenated without spaces (the fallback comparison)."""
        return "".join(
            part
            for part in (self.prefecture, self.municipality, self.street, self.building)
            if part
        )


def normalize_postal_code(text: str) -> str:
    """Seven ASCII digits from 〒100-0001, １００－０００１, 100 0001 ..."""
    digits = re.sub(r"\D", "", normalize_hyphens(nfkc(text)))
    if len(digits) != 7:
        raise InvalidPostalCodeError("a Japanese postal code has seven digits")
    return digits


def format_postal_code(text: str) -> str:
    """``NNN-NNNN``."""
    digits = normalize_postal_code(text)
    return f"{digits[:3]}-{digits[3:]}"


def extract_postal_code(text: str) -> tuple[str | None, str]:
    """``(postal code as NNN-NNNN or None, the address without it)``.

    A code is taken when it is marked with 〒 or opens the string, so house numbers such
    as 1234-5678 later in an address are never mistaken for one.
    """
    normalized = normalize_hyphens(nfkc(text))
    match = re.search(r"〒\s*(\d{3})\s*-?\s*(\d{4})(?!\d)", normalized) or re.match(
        r"^\s*(\d{3})-?(\d{4})(?!\d)", normalized
    )
    if match is None:
        return None, collapse_spaces(normalized)
    rest = normalized[: match.start()] + " " + normalized[match.end() :]
    return f"{match[1]}-{match[2]}", collapse_spaces(rest)


def _base(text: str) -> str:
    return fold_kanji_variants(strip_variation_selectors(nfkc(text)))


def detect_prefecture(text: str) -> tuple[str | None, str]:
    """``(prefecture or None, the rest)``; the text must start with the prefecture."""
    stripped = text.strip()
    for prefix in ("日本国", "日本"):
        if stripped.startswith(prefix) and any(
            stripped[len(prefix) :].lstrip().startswith(p) for p in PREFECTURES
        ):
            stripped = stripped[len(prefix) :].lstrip()
    for prefecture in PREFECTURES:
        if stripped.startswith(prefecture):
            return prefecture, stripped[len(prefecture) :].lstrip()
    return None, stripped


def detect_municipality(text: str) -> tuple[str | None, str]:
    """``(municipality or None, the rest)`` for text that starts after the prefecture."""
    compact = text.strip()
    for city in DESIGNATED_CITIES:
        if compact.startswith(city):
            tail = compact[len(city) :].lstrip()
            ward = _WARD.match(tail)
            if ward is None:
                return city, tail
            return city + ward[1], tail[ward.end() :]
    for name in sorted(_SUFFIX_IN_NAME, key=len, reverse=True):
        if compact.startswith(name):
            if name.endswith("郡"):
                town = _TOWN.match(compact[len(name) :])
                end = len(name) + (town.end() if town else 0)
                return compact[:end], compact[end:]
            return name, compact[len(name) :]
    for pattern in (_GUN, _CITY, _WARD, _TOWN):
        match = pattern.match(compact)
        if match:
            return match[1], compact[match.end() :]
    return None, compact


def normalize_street(text: str) -> str:
    """Town name and block numbers in one form: 霞ヶ関一丁目二番三号 -> 霞ケ関1-2-3.

    Kyoto's street-direction prefix (寺町通御池上る) is a way to find the place, not part
    of the registered address (上本能寺前町488), and is dropped.
    """
    street = remove_spaces(_base(text))
    # Removing one counter can expose another (1番号, 2番地番): repeat to a fixed point so
    # that the result is stable (normalising twice changes nothing).
    for _ in range(8):
        previous = street
        street = _street_pass(street)
        if street == previous:
            break
    return street


def _street_pass(street: str) -> str:
    street = _KYOTO_DIRECTIONS.sub("", street)
    street = street.replace("大字", "")
    street = street.removeprefix("字")
    street = normalize_hyphens(replace_kanji_numerals(street, followed_by=_NUMERAL_LOOKAHEAD))
    street = _GA_BETWEEN_KANJI.sub("ケ", street)
    street = _COUNTER_AFTER_NUMBER.sub(r"\1-", street)
    street = _GO_AFTER_NUMBER.sub(r"\1", street)
    street = _NO_BETWEEN_NUMBERS.sub(r"\1-", street)
    street = _NO_BETWEEN_KANJI.sub("ノ", street)
    street = _HYPHEN_RUN.sub("-", street)
    return _DANGLING_HYPHEN.sub("", street)


def normalize_building(text: str) -> str:
    """Building name and room in one form: ｻﾝﾗｲｽﾞ 101号室 -> サンライズ101."""
    building = remove_spaces(_base(text))
    for _ in range(8):
        previous = building
        building = normalize_hyphens(_ROOM.sub(r"\1", building).removesuffix("室"))
        if building == previous:
            break
    return building


def split_street_building(text: str) -> tuple[str, str | None]:
    """Split the part after the municipality into (street, building).

    The street ends with the first hyphenated house number (1-2-3) once counters are
    normalised; without one, at the first white space; otherwise there is no building.
    """
    collapsed = collapse_spaces(_base(text))
    # Normalise each space-separated chunk so that the house number is visible, but keep
    # the chunk boundaries: a space is the only signal left when no hyphen appears.
    chunks = [normalize_street(chunk) for chunk in collapsed.split(" ") if chunk]
    joined = "".join(chunks)
    match = _HOUSE_NUMBER.search(joined)
    if match is not None:
        street, building = joined[: match.end()], joined[match.end() :]
    elif len(chunks) > 1:
        street, building = chunks[0], "".join(collapsed.split(" ")[1:])
    else:
        street, building = joined, ""
    building = normalize_building(building) if building else ""
    return street, building or None


@dataclass(frozen=True, slots=True)
class AddressParts:
    """An address cut into parts without rewriting them (for display and mapping).

    ``postal_code`` is ``NNN-NNNN``; the other parts are NFKC text as written.
    """

    postal_code: str | None
    prefecture: str | None
    municipality: str | None
    remainder: str

    @property
    def without_postal_code(self) -> str:
        return "".join(p for p in (self.prefecture, self.municipality) if p) + self.remainder


def split_address(text: str) -> AddressParts:
    """Cut a one-line address into postal code, prefecture, municipality and the rest."""
    postal, rest = extract_postal_code(text)
    prefecture, rest = detect_prefecture(rest)
    municipality, rest = detect_municipality(rest) if rest else (None, "")
    return AddressParts(
        postal_code=postal,
        prefecture=prefecture,
        municipality=municipality,
        remainder=rest.strip(),
    )


def parse_address(text: str) -> ParsedAddress:
    """Parse a one-line Japanese address (postal code optional, prefecture optional).

    Every part comes back normalised for comparison (kanji variants folded, block
    numbers hyphenated), so two spellings of one address parse to equal values.
    """
    parts = split_address(_base(text))
    postal, prefecture, municipality = parts.postal_code, parts.prefecture, parts.municipality
    rest = parts.remainder
    street, building = split_street_building(rest) if rest else ("", None)
    return ParsedAddress(
        postal_code=postal.replace("-", "") if postal else None,
        prefecture=prefecture,
        municipality=municipality,
        street=street or None,
        building=building,
    )
