"""Machine readable zones: parse, check and compose TD1, TD2 and TD3 (ICAO Doc 9303).

ICAO 9303-3 §4.9 (check digits: weights 7-3-1, ``<`` = 0, ``A``..``Z`` = 10..35),
9303-4 §4.2.2 (TD3, passports), 9303-5 §4.2.2 (TD1, ID cards; long document number in
optional data 1), 9303-6 §4.2.2 (TD2; long document number in the optional data).

Parsing is tolerant of the confusions OCR makes: a character is read through the
alphabet its field allows (``0`` becomes ``O`` in a name, ``O`` becomes ``0`` in a date),
fillers lost or doubled inside a run of ``<`` are restored, and alphanumeric fields that
fail their check digit are searched for the one confusable substitution that passes.
Every correction is reported. Check-digit failures are reported, never raised; only text
that is not an MRZ at all raises :class:`MrzFormatError`.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from honnin.documents.errors import MrzFormatError

MrzFormat = Literal["TD1", "TD2", "TD3"]

# (lines, characters per line) of each format.
FORMATS: dict[MrzFormat, tuple[int, int]] = {"TD1": (3, 30), "TD2": (2, 36), "TD3": (2, 44)}

_ALLOWED = re.compile(r"^[A-Z0-9<]*$")

# OCR confusions per field alphabet; applied only where the field type forbids the glyph.
_TO_DIGIT = {"O": "0", "Q": "0", "D": "0", "U": "0", "I": "1", "L": "1", "T": "1", "Z": "2",
             "S": "5", "B": "8", "G": "6", "A": "4"}  # fmt: skip
_TO_LETTER = {"0": "O", "1": "I", "2": "Z", "4": "A", "5": "S", "6": "G", "8": "B"}
# Pairs an alphanumeric field may hold either way; the check digit decides.
_AMBIGUOUS = {"0": "O", "O": "0", "1": "I", "I": "1", "8": "B", "B": "8", "5": "S", "S": "5",
              "2": "Z", "Z": "2", "6": "G", "G": "6"}  # fmt: skip
# Glyphs OCR engines return for the filler.
_FILLER_GLYPHS = {"«": "<<", "‹": "<", "〈": "<", "く": "<", "＜": "<", "≤": "<"}
_MAX_AMBIGUOUS_POSITIONS = 8


def _char_value(char: str) -> int:
    if "0" <= char <= "9":  # not str.isdigit(): that also takes ² and ٣
        return int(char)
    if char == "<":
        return 0
    if "A" <= char <= "Z":
        return ord(char) - ord("A") + 10
    msg = "character outside the MRZ alphabet"
    raise MrzFormatError(msg)


def check_digit(data: str) -> str:
    """The ICAO 9303-3 §4.9 check digit of ``data`` (weights 7, 3, 1 repeating)."""
    weights = (7, 3, 1)
    total = sum(_char_value(c) * weights[i % 3] for i, c in enumerate(data))
    return str(total % 10)


def _digit_matches(data: str, digit: str, *, filler_allowed: bool = False) -> bool:
    if filler_allowed and digit == "<" and set(data) <= {"<"}:
        return True
    return check_digit(data) == digit


@dataclass(frozen=True)
class Mrz:
    """A parsed MRZ with the result of every check."""

    format: MrzFormat
    document_code: str
    issuing_state: str
    surname: str
    given_names: str
    document_number: str
    nationality: str
    birth_date: date | None
    sex: str
    expiry_date: date | None
    optional_data: str
    checks: dict[str, bool]
    lines: tuple[str, ...]
    corrections: tuple[str, ...] = ()
    # Raw YYMMDD fields: access keys need them even when the date is impossible.
    birth_date_raw: str = ""
    expiry_date_raw: str = ""
    document_number_check_digit: str = ""
    optional_data_2: str = ""

    @property
    def valid(self) -> bool:
        return all(self.checks.values())

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``honnin doc mrz --json``."""
        return {
            "format": self.format,
            "document_code": self.document_code,
            "issuing_state": self.issuing_state,
            "surname": self.surname,
            "given_names": self.given_names,
            "document_number": self.document_number,
            "nationality": self.nationality,
            "birth_date": self.birth_date.isoformat() if self.birth_date else None,
            "sex": self.sex,
            "expiry_date": self.expiry_date.isoformat() if self.expiry_date else None,
            "optional_data": self.optional_data,
            "checks": dict(self.checks),
            "valid": self.valid,
            "corrections": list(self.corrections),
            "lines": list(self.lines),
        }


# --------------------------------------------------------------------------- parsing


def normalise_lines(text: str) -> list[str]:
    """Split ``text`` into MRZ lines: NFKC, upper case, filler glyphs, no blanks."""
    text = unicodedata.normalize("NFKC", text)
    for glyph, filler in _FILLER_GLYPHS.items():
        text = text.replace(glyph, filler)
    lines = [re.sub(r"\s+", "", line).upper() for line in text.strip().splitlines()]
    lines = [line for line in lines if line]
    if len(lines) == 1:
        # One unbroken string: split it at a format's line length.
        (single,) = lines
        for count, width in FORMATS.values():
            if len(single) == count * width:
                return [single[i * width : (i + 1) * width] for i in range(count)]
    return lines


def _fit_length(line: str, width: int) -> tuple[str, bool]:
    """Restore a filler OCR dropped or doubled, in the longest ``<`` run."""
    if len(line) == width:
        return line, False
    runs = [(m.end() - m.start(), m.start(), m.end()) for m in re.finditer(r"<+", line)]
    if not runs:
        return line, False
    _, start, end = max(runs)
    run_len = end - start + (width - len(line))
    if run_len < 1 and end != len(line):
        return line, False
    return line[:start] + "<" * max(run_len, 0) + line[end:], True


def _candidate_formats(lines: list[str]) -> list[MrzFormat]:
    """Formats the lines could be, closest line lengths first. OCR collapses runs of
    ``<`` (a CTC decoder merges repeats), so lines may be many characters short."""
    scored: list[tuple[int, MrzFormat]] = []
    for name, (count, width) in FORMATS.items():
        if len(lines) != count:
            continue
        if all(width - 16 <= len(line) <= width + 3 for line in lines):
            scored.append((sum(abs(len(line) - width) for line in lines), name))
    if not scored:
        msg = "text is not a TD1 (3x30), TD2 (2x36) or TD3 (2x44) MRZ"
        raise MrzFormatError(msg)
    return [name for _, name in sorted(scored)]


class _Reader:
    """Reads fields by type, recording the OCR corrections it applies."""

    def __init__(self, *, tolerant: bool, search: bool = True) -> None:
        self.tolerant = tolerant
        self.search = search
        self.corrections: list[str] = []

    def _map(self, name: str, value: str, table: dict[str, str]) -> str:
        if not self.tolerant:
            return value
        fixed = "".join(table.get(c, c) for c in value)
        if fixed != value:
            self.corrections.append(f"{name}: read {value!r} as {fixed!r}")
        return fixed

    def numeric(self, name: str, value: str) -> str:
        return self._map(name, value, _TO_DIGIT)

    def alpha(self, name: str, value: str) -> str:
        return self._map(name, value, _TO_LETTER)

    def alnum_with_check(self, name: str, value: str, digit: str) -> str:
        """An alphanumeric field: keep it if its check digit passes, else try confusions."""
        if not (self.tolerant and self.search) or _digit_matches(value, digit):
            return value
        if not (digit.isascii() and digit.isdigit()):
            return value
        positions = [i for i, c in enumerate(value) if c in _AMBIGUOUS]
        if not positions or len(positions) > _MAX_AMBIGUOUS_POSITIONS:
            return value
        for size in range(1, len(positions) + 1):
            for chosen in itertools.combinations(positions, size):
                chars = list(value)
                for i in chosen:
                    chars[i] = _AMBIGUOUS[chars[i]]
                candidate = "".join(chars)
                if _digit_matches(candidate, digit):
                    self.corrections.append(f"{name}: read {value!r} as {candidate!r}")
                    return candidate
        return value


def _name_fields(zone: str) -> tuple[str, str]:
    surname, _, given = zone.partition("<<")
    return _unfill(surname), _unfill(given)


def _unfill(value: str) -> str:
    return " ".join(part for part in value.split("<") if part)


def _sex(value: str) -> str:
    return {"M": "M", "F": "F"}.get(value, "X")


def _yymmdd(value: str) -> tuple[int, int, int] | None:
    if not (len(value) == 6 and value.isascii() and value.isdigit()):
        return None
    return int(value[:2]), int(value[2:4]), int(value[4:])


def _make_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def expiry_from_yymmdd(value: str, *, today: date | None = None) -> date | None:
    """Expiry century: within 50 years ahead of ``today`` (else 1970-2069)."""
    parts = _yymmdd(value)
    if parts is None:
        return None
    yy, month, day = parts
    if today is not None:
        year = 2000 + yy if 2000 + yy <= today.year + 50 else 1900 + yy
    else:
        year = 1900 + yy if yy >= 70 else 2000 + yy
    return _make_date(year, month, day)


def birth_from_yymmdd(
    value: str, *, today: date | None = None, expiry: date | None = None
) -> date | None:
    """Birth century: never after ``today`` (or after the expiry when ``today`` is unknown)."""
    parts = _yymmdd(value)
    if parts is None:
        return None
    yy, month, day = parts
    limit = today.year if today is not None else (expiry.year if expiry else 2000 + 99)
    year = 2000 + yy if 2000 + yy <= limit else 1900 + yy
    return _make_date(year, month, day)


def parse(text: str, *, today: date | None = None, tolerant: bool = True) -> Mrz:
    """Parse a TD1, TD2 or TD3 MRZ and run every check (ICAO 9303-3/4/5/6).

    ``today`` resolves two-digit years (a birth date is never in the future); without it
    the expiry date bounds the birth century. ``tolerant`` applies the OCR corrections.
    """
    if not isinstance(text, str) or len(text) > 1024:
        msg = "MRZ text must be a string of at most 1024 characters"
        raise MrzFormatError(msg)
    lines = normalise_lines(text)
    formats = _candidate_formats(lines)
    if not tolerant:
        formats = formats[:1]
    best: Mrz | None = None
    error: MrzFormatError | None = None
    for fmt in formats:
        try:
            result = _parse_format(lines, fmt, tolerant=tolerant, today=today)
        except MrzFormatError as exc:
            error = exc
            continue
        if best is None or _score(result) > _score(best):
            best = result
    if best is None:
        assert error is not None
        raise error
    return best


def _score(result: Mrz) -> float:
    return sum(result.checks.values()) / len(result.checks)


def _parse_format(lines: list[str], fmt: MrzFormat, *, tolerant: bool, today: date | None) -> Mrz:
    result = _parse_lines(lines, fmt, _Reader(tolerant=tolerant), today)
    if result.corrections and not result.checks["composite"]:
        # A substitution that satisfies one check digit but not the composite was a
        # guess too far: the field was probably misprinted, not misread.
        retry = _parse_lines(lines, fmt, _Reader(tolerant=tolerant, search=False), today)
        if retry.checks != result.checks or retry.corrections != result.corrections:
            return retry
    return result


def _parse_lines(lines: list[str], fmt: MrzFormat, reader: _Reader, today: date | None) -> Mrz:
    _, width = FORMATS[fmt]
    fitted: list[str] = []
    for index, line in enumerate(lines):
        new, changed = _fit_length(line, width) if reader.tolerant else (line, False)
        if changed:
            reader.corrections.append(f"line {index + 1}: restored filler run to {width} chars")
        fitted.append(new)
    for line in fitted:
        if len(line) != width or not _ALLOWED.match(line):
            msg = f"{fmt} lines must be {width} characters of A-Z, 0-9 and <"
            raise MrzFormatError(msg)
    if fmt == "TD3":
        return _parse_td3(fitted, reader, today)
    if fmt == "TD2":
        return _parse_td2(fitted, reader, today)
    return _parse_td1(fitted, reader, today)


def _dates(  # noqa: PLR0917 - the four MRZ date fields in line order
    reader: _Reader, birth: str, birth_cd: str, expiry: str, expiry_cd: str, today: date | None
) -> tuple[str, str, str, str, date | None, date | None]:
    birth = reader.numeric("birth_date", birth)
    birth_cd = reader.numeric("birth_date check digit", birth_cd)
    expiry = reader.numeric("expiry_date", expiry)
    expiry_cd = reader.numeric("expiry_date check digit", expiry_cd)
    expiry_date = expiry_from_yymmdd(expiry, today=today)
    birth_date = birth_from_yymmdd(birth, today=today, expiry=expiry_date)
    return birth, birth_cd, expiry, expiry_cd, birth_date, expiry_date


def _number(reader: _Reader, head: str, raw_cd: str, optional: str) -> tuple[str, str, str, bool]:
    """Document number, its check digit, the optional data left, and the long form flag.

    ICAO 9303-5 §4.2.2 note j / 9303-6: a number longer than 9 characters puts ``<`` in the
    check digit position and continues in the optional data, ending with its check digit
    and a ``<``.
    """
    if raw_cd == "<" and optional and optional[0] != "<":
        tail, _, rest = optional.partition("<")
        if len(tail) >= 2:
            number_cd = reader.numeric("document_number check digit", tail[-1])
            number = reader.alnum_with_check("document_number", head + tail[:-1], number_cd)
            return number, number_cd, rest, True
    number_cd = reader.numeric("document_number check digit", raw_cd)
    number = reader.alnum_with_check("document_number", head, number_cd)
    return number, number_cd, optional, False


def _number_zone(number: str, number_cd: str, optional: str, width: int, *, long: bool) -> str:
    """The document number field, its check digit and the optional data, ``width`` long."""
    if long:
        zone = number[:9] + "<" + number[9:] + number_cd + "<" + optional
    else:
        zone = number + number_cd + optional
    return zone.ljust(width, "<")[:width]


def _checks(  # noqa: PLR0917 - the three checked fields with their digits, in line order
    number: str, number_cd: str, birth: str, birth_cd: str, expiry: str, expiry_cd: str
) -> dict[str, bool]:
    return {
        "document_number": _digit_matches(number, number_cd),
        "birth_date": _digit_matches(birth, birth_cd),
        "expiry_date": _digit_matches(expiry, expiry_cd),
    }


def _parse_td3(lines: list[str], reader: _Reader, today: date | None) -> Mrz:
    l1, l2 = lines
    code = reader.alpha("document_code", l1[0:2])
    state = reader.alpha("issuing_state", l1[2:5])
    name_zone = reader.alpha("name", l1[5:44])
    number_cd = reader.numeric("document_number check digit", l2[9])
    number = reader.alnum_with_check("document_number", l2[0:9], number_cd)
    nationality = reader.alpha("nationality", l2[10:13])
    birth, birth_cd, expiry, expiry_cd, birth_date, expiry_date = _dates(
        reader, l2[13:19], l2[19], l2[21:27], l2[27], today
    )
    sex_char = reader.alpha("sex", l2[20])
    personal_cd = l2[42] if l2[42] == "<" else reader.numeric("personal_number check", l2[42])
    personal = l2[28:42]
    if personal_cd != "<":
        personal = reader.alnum_with_check("optional_data", personal, personal_cd)
    composite_cd = reader.numeric("composite check digit", l2[43])
    new_l2 = (
        number + number_cd + nationality + birth + birth_cd + sex_char + expiry + expiry_cd
        + personal + personal_cd + composite_cd
    )  # fmt: skip
    checks = _checks(number, number_cd, birth, birth_cd, expiry, expiry_cd)
    checks["personal_number"] = _digit_matches(personal, personal_cd, filler_allowed=True)
    checks["composite"] = _digit_matches(new_l2[0:10] + new_l2[13:20] + new_l2[21:43], composite_cd)
    surname, given = _name_fields(name_zone)
    return Mrz(
        format="TD3",
        document_code=code.rstrip("<"),
        issuing_state=state.replace("<", ""),
        surname=surname,
        given_names=given,
        document_number=number.replace("<", ""),
        nationality=nationality.replace("<", ""),
        birth_date=birth_date,
        sex=_sex(sex_char),
        expiry_date=expiry_date,
        optional_data=personal.replace("<", ""),
        checks=_with_calendar(checks, birth_date, expiry_date),
        lines=(code + state + name_zone, new_l2),
        corrections=tuple(reader.corrections),
        birth_date_raw=birth,
        expiry_date_raw=expiry,
        document_number_check_digit=number_cd,
    )


def _with_calendar(
    checks: dict[str, bool], birth_date: date | None, expiry_date: date | None
) -> dict[str, bool]:
    checks["birth_date_calendar"] = birth_date is not None
    checks["expiry_date_calendar"] = expiry_date is not None
    return checks


def _parse_td2(lines: list[str], reader: _Reader, today: date | None) -> Mrz:
    l1, l2 = lines
    code = reader.alpha("document_code", l1[0:2])
    state = reader.alpha("issuing_state", l1[2:5])
    name_zone = reader.alpha("name", l1[5:36])
    number, number_cd, optional, long = _number(reader, l2[0:9], l2[9], l2[28:35])
    nationality = reader.alpha("nationality", l2[10:13])
    birth, birth_cd, expiry, expiry_cd, birth_date, expiry_date = _dates(
        reader, l2[13:19], l2[19], l2[21:27], l2[27], today
    )
    sex_char = reader.alpha("sex", l2[20])
    composite_cd = reader.numeric("composite check digit", l2[35])
    if long:
        zone = _number_zone(number, number_cd, optional, 10 + 7, long=True)
        head, optional_zone = zone[:10], zone[10:]
    else:
        head, optional_zone = number + number_cd, l2[28:35]
    new_l2 = (
        head + nationality + birth + birth_cd + sex_char + expiry + expiry_cd + optional_zone
        + composite_cd
    )  # fmt: skip
    checks = _checks(number, number_cd, birth, birth_cd, expiry, expiry_cd)
    checks["composite"] = _digit_matches(new_l2[0:10] + new_l2[13:20] + new_l2[21:35], composite_cd)
    surname, given = _name_fields(name_zone)
    return Mrz(
        format="TD2",
        document_code=code.rstrip("<"),
        issuing_state=state.replace("<", ""),
        surname=surname,
        given_names=given,
        document_number=number.replace("<", ""),
        nationality=nationality.replace("<", ""),
        birth_date=birth_date,
        sex=_sex(sex_char),
        expiry_date=expiry_date,
        optional_data=optional.replace("<", ""),
        checks=_with_calendar(checks, birth_date, expiry_date),
        lines=(code + state + name_zone, new_l2),
        corrections=tuple(reader.corrections),
        birth_date_raw=birth,
        expiry_date_raw=expiry,
        document_number_check_digit=number_cd,
    )


def _parse_td1(lines: list[str], reader: _Reader, today: date | None) -> Mrz:
    l1, l2, l3 = lines
    code = reader.alpha("document_code", l1[0:2])
    state = reader.alpha("issuing_state", l1[2:5])
    number, number_cd, optional, long = _number(reader, l1[5:14], l1[14], l1[15:30])
    birth, birth_cd, expiry, expiry_cd, birth_date, expiry_date = _dates(
        reader, l2[0:6], l2[6], l2[8:14], l2[14], today
    )
    sex_char = reader.alpha("sex", l2[7])
    nationality = reader.alpha("nationality", l2[15:18])
    optional2 = l2[18:29]
    composite_cd = reader.numeric("composite check digit", l2[29])
    zone = _number_zone(number, number_cd, optional, 25, long=long) if long else None
    new_l1 = code + state + (zone or number + number_cd + l1[15:30])
    new_l2 = birth + birth_cd + sex_char + expiry + expiry_cd + nationality + optional2
    new_l2 += composite_cd
    name_zone = reader.alpha("name", l3)
    checks = _checks(number, number_cd, birth, birth_cd, expiry, expiry_cd)
    composite_data = new_l1[5:30] + new_l2[0:7] + new_l2[8:15] + new_l2[18:29]
    checks["composite"] = _digit_matches(composite_data, composite_cd)
    surname, given = _name_fields(name_zone)
    return Mrz(
        format="TD1",
        document_code=code.rstrip("<"),
        issuing_state=state.replace("<", ""),
        surname=surname,
        given_names=given,
        document_number=number.replace("<", ""),
        nationality=nationality.replace("<", ""),
        birth_date=birth_date,
        sex=_sex(sex_char),
        expiry_date=expiry_date,
        optional_data=optional.replace("<", ""),
        checks=_with_calendar(checks, birth_date, expiry_date),
        lines=(new_l1, new_l2, name_zone),
        corrections=tuple(reader.corrections),
        birth_date_raw=birth,
        expiry_date_raw=expiry,
        document_number_check_digit=number_cd,
        optional_data_2=optional2.replace("<", ""),
    )


# --------------------------------------------------------------------------- composing


def _clean(value: str) -> str:
    """ICAO 9303-3 §6: upper case Latin, diacritics dropped, other separators ``<``."""
    value = unicodedata.normalize("NFKD", value.upper())
    value = "".join(c for c in value if not unicodedata.combining(c))
    return re.sub(r"[^A-Z0-9]+", "<", value.strip()).strip("<")


def _field(value: str, width: int) -> str:
    return _clean(value).ljust(width, "<")[:width]


def _name_zone(surname: str, given_names: str, width: int) -> str:
    return f"{_clean(surname)}<<{_clean(given_names)}".ljust(width, "<")[:width]


def _yymmdd_of(value: date) -> str:
    return value.strftime("%y%m%d")


@dataclass(frozen=True)
class MrzFields:
    """What an MRZ says, for composing one (sandbox issuer, tests)."""

    document_code: str
    issuing_state: str
    surname: str
    given_names: str
    document_number: str
    nationality: str
    birth_date: date
    sex: str
    expiry_date: date
    optional_data: str = ""


def compose(fmt: MrzFormat, fields: MrzFields) -> str:
    """Compose a valid MRZ of ``fmt`` (lines joined by ``\\n``) with every check digit."""
    sex = fields.sex if fields.sex in {"M", "F"} else "<"
    birth, expiry = _yymmdd_of(fields.birth_date), _yymmdd_of(fields.expiry_date)
    number = _field(fields.document_number, len(fields.document_number) or 1)
    code = _field(fields.document_code, 2)
    state, nationality = _field(fields.issuing_state, 3), _field(fields.nationality, 3)
    if fmt == "TD3":
        if len(number) > 9:
            msg = "a TD3 document number has at most 9 characters"
            raise MrzFormatError(msg)
        number = number.ljust(9, "<")
        personal = _field(fields.optional_data, 14)
        personal_cd = "<" if set(personal) == {"<"} else check_digit(personal)
        l2 = (
            number + check_digit(number) + nationality + birth + check_digit(birth) + sex
            + expiry + check_digit(expiry) + personal + personal_cd
        )  # fmt: skip
        l2 += check_digit(l2[0:10] + l2[13:20] + l2[21:43])
        return code + state + _name_zone(fields.surname, fields.given_names, 39) + "\n" + l2
    if fmt == "TD2":
        width = 7
        head, optional_zone = _number_head(number, fields.optional_data, width)
        l2 = (
            head + nationality + birth + check_digit(birth) + sex + expiry + check_digit(expiry)
            + optional_zone
        )  # fmt: skip
        l2 += check_digit(l2[0:10] + l2[13:20] + l2[21:35])
        return code + state + _name_zone(fields.surname, fields.given_names, 31) + "\n" + l2
    head, optional_zone = _number_head(number, fields.optional_data, 15)
    l1 = code + state + head + optional_zone
    l2 = birth + check_digit(birth) + sex + expiry + check_digit(expiry) + nationality
    l2 += "<" * 11
    l2 += check_digit(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29])
    return l1 + "\n" + l2 + "\n" + _name_zone(fields.surname, fields.given_names, 30)


def _number_head(number: str, optional_data: str, width: int) -> tuple[str, str]:
    optional = _field(optional_data, width).rstrip("<") if optional_data else ""
    if len(number) <= 9:
        number = number.ljust(9, "<")
        return number + check_digit(number), optional.ljust(width, "<")[:width]
    zone = number[9:] + check_digit(number) + "<" + optional
    if len(zone) > width:
        msg = "document number and optional data do not fit the MRZ"
        raise MrzFormatError(msg)
    return number[:9] + "<", zone.ljust(width, "<")
