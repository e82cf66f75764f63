"""Named transforms of the bank mapping language (pure).

Each transform is built once, when a mapping file loads, from its arguments; building
checks the arguments, so a typo fails at load time rather than on the first inquiry.
A built transform maps a :data:`Value` to a :data:`Value`; ``None`` (field absent) passes
through every transform except ``constant`` and ``default``. A transform that cannot read
its input (a date that does not exist, a postal code with six digits) raises
:class:`~honnin.banks.errors.BankPayloadError`, which names the claim but not the value.

The catalogue is documented in docs/bank-mappings.md; the names are part of the mapping
language and stay stable.
"""

from __future__ import annotations

import datetime as dt
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from honnin.banks.errors import BankPayloadError, MappingDefinitionError
from honnin.errors import HonninError
from honnin.matching import dates, text
from honnin.matching.address import format_postal_code, split_address

__all__ = ["TRANSFORMS", "Transform", "Value", "build_transform"]

Value = str | bool | list[str | None] | None
Transform = Callable[[Value], Value]


@dataclass(frozen=True, slots=True)
class _Spec:
    factory: Callable[[Any, str], Transform]
    doc: str


def _no_args(name: str, args: Any, where: str) -> None:
    if args is not None:
        raise MappingDefinitionError(f"{where}: transform {name!r} takes no arguments")


def _options(
    name: str, args: Any, where: str, *, allowed: Mapping[str, type | tuple[type, ...]]
) -> dict[str, Any]:
    if args is None:
        return {}
    if not isinstance(args, Mapping):
        raise MappingDefinitionError(f"{where}: arguments of {name!r} must be a mapping")
    unknown = sorted(set(args) - set(allowed))
    if unknown:
        raise MappingDefinitionError(f"{where}: {name!r} has no argument {unknown[0]!r}")
    for key, value in args.items():
        if not isinstance(value, allowed[key]):
            raise MappingDefinitionError(f"{where}: argument {key!r} of {name!r} has a bad type")
    return dict(args)


def _string_only(name: str, where: str, fn: Callable[[str], str | None]) -> Transform:
    def apply(value: Value) -> Value:
        if value is None:
            return None
        if not isinstance(value, str):
            raise BankPayloadError(f"{where}: {name!r} expects text")
        try:
            return fn(value)
        except BankPayloadError:
            raise
        except HonninError as exc:
            raise BankPayloadError(f"{where}: {name!r}: {exc.safe_message}") from exc

    return apply


def _simple(fn: Callable[[str], str | None], doc: str) -> _Spec:
    def factory(args: Any, where: str) -> Transform:
        name = where.rsplit(" ", 1)[-1]
        _no_args(name, args, where)
        return _string_only(name, where, fn)

    return _Spec(factory, doc)


def _date_transform(parse: Callable[..., Any], *, takes_strict: bool, doc: str) -> _Spec:
    def factory(args: Any, where: str) -> Transform:
        name = where.rsplit(" ", 1)[-1]
        allowed: dict[str, type | tuple[type, ...]] = {"strict": bool} if takes_strict else {}
        opts = _options(name, args, where, allowed=allowed)

        def convert(value: str) -> str:
            return dates.to_iso(parse(value, **opts))

        return _string_only(name, where, convert)

    return _Spec(factory, doc)


def _split_postal_code(args: Any, where: str) -> Transform:
    opts = _options("split_postal_code", args, where, allowed={"part": str})
    part = opts.get("part", "postal_code")
    if part not in {"postal_code", "address"}:
        raise MappingDefinitionError(f"{where}: split_postal_code part is postal_code|address")

    def convert(value: str) -> str | None:
        parts = split_address(value)
        if part == "postal_code":
            return parts.postal_code
        return parts.without_postal_code or None

    return _string_only("split_postal_code", where, convert)


_ADDRESS_PARTS = {"postal_code", "region", "locality", "street_address", "formatted"}


def _address_part(args: Any, where: str) -> Transform:
    opts = _options("address_part", args, where, allowed={"part": str})
    part = opts.get("part")
    if part not in _ADDRESS_PARTS:
        raise MappingDefinitionError(
            f"{where}: address_part part is one of {', '.join(sorted(_ADDRESS_PARTS))}"
        )

    def convert(value: str) -> str | None:
        parts = split_address(value)
        if part == "postal_code":
            return parts.postal_code
        if part == "region":
            return parts.prefecture
        if part == "locality":
            return parts.municipality
        if part == "street_address":
            return parts.remainder or None
        return parts.without_postal_code or None

    return _string_only("address_part", where, convert)


def _split_name(args: Any, where: str) -> Transform:
    opts = _options("split_name", args, where, allowed={"part": str, "separator": str})
    part = opts.get("part")
    if part not in {"family", "given"}:
        raise MappingDefinitionError(f"{where}: split_name part is family|given")
    separator = opts.get("separator")
    try:
        splitter = re.compile(re.escape(separator) if separator else r"[\s\u3000]+")
    except re.error as exc:  # pragma: no cover - re.escape output always compiles
        raise MappingDefinitionError(f"{where}: bad separator") from exc

    def convert(value: str) -> str | None:
        pieces = [p for p in splitter.split(value.strip(), maxsplit=1) if p]
        # Without a separator the family/given boundary is unknown; guessing would put a
        # wrong name in a verified claim, so both parts stay absent (``name`` keeps all).
        if len(pieces) != 2:
            return None
        return pieces[0] if part == "family" else pieces[1]

    return _string_only("split_name", where, convert)


def _constant(args: Any, where: str) -> Transform:
    if not isinstance(args, str | bool):
        raise MappingDefinitionError(f"{where}: constant takes a string or boolean value")

    def apply(_value: Value) -> Value:
        return args

    return apply


def _default(args: Any, where: str) -> Transform:
    if not isinstance(args, str | bool):
        raise MappingDefinitionError(f"{where}: default takes a string or boolean value")

    def apply(value: Value) -> Value:
        return args if value is None or value == "" else value

    return apply


def _concat(args: Any, where: str) -> Transform:
    opts = _options("concat", args, where, allowed={"separator": str})
    separator = opts.get("separator", "")

    def apply(value: Value) -> Value:
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, bool):
            raise BankPayloadError(f"{where}: 'concat' expects several values")
        present = [v for v in value if v]
        return separator.join(present) if present else None

    return apply


def _first(args: Any, where: str) -> Transform:
    _no_args("first", args, where)

    def apply(value: Value) -> Value:
        if isinstance(value, list):
            return next((v for v in value if v), None)
        return value

    return apply


def _map_values(args: Any, where: str) -> Transform:
    opts = _options("map", args, where, allowed={"values": Mapping, "default": str})
    table = opts.get("values")
    if not table or not all(isinstance(k, str) and isinstance(v, str) for k, v in table.items()):
        raise MappingDefinitionError(f"{where}: map needs values: a table of strings")
    fallback = opts.get("default")

    def convert(value: str) -> str | None:
        if value in table:
            return str(table[value])
        if fallback is None:
            raise BankPayloadError(f"{where}: value not in the map table")
        return str(fallback)

    return _string_only("map", where, convert)


def _regex_extract(args: Any, where: str) -> Transform:
    opts = _options("regex_extract", args, where, allowed={"pattern": str, "group": (int, str)})
    try:
        pattern = re.compile(opts["pattern"])
    except KeyError as exc:
        raise MappingDefinitionError(f"{where}: regex_extract needs a pattern") from exc
    except re.error as exc:
        raise MappingDefinitionError(f"{where}: regex_extract pattern does not compile") from exc
    group = opts.get("group", 1 if pattern.groups else 0)
    if isinstance(group, int) and group > pattern.groups:
        raise MappingDefinitionError(f"{where}: regex_extract group {group} does not exist")
    if isinstance(group, str) and group not in pattern.groupindex:
        raise MappingDefinitionError(f"{where}: regex_extract group {group!r} does not exist")

    def convert(value: str) -> str | None:
        match = pattern.search(value)
        return match.group(group) if match else None

    return _string_only("regex_extract", where, convert)


def _replace(args: Any, where: str) -> Transform:
    opts = _options("replace", args, where, allowed={"old": str, "new": str})
    if "old" not in opts or not opts["old"]:
        raise MappingDefinitionError(f"{where}: replace needs a non-empty 'old'")
    old, new = opts["old"], opts.get("new", "")
    return _string_only("replace", where, lambda v: v.replace(old, new))


def _template(args: Any, where: str) -> Transform:
    if not isinstance(args, str):
        raise MappingDefinitionError(f"{where}: template takes a format string like '{{0}} {{1}}'")
    fields = []
    try:
        for _literal, field, spec, conversion in string.Formatter().parse(args):
            if field is None:
                continue
            # Positional indexes only: attribute or item access ({0.x}) is refused so a
            # mapping file cannot reach into Python objects.
            if not field.isdigit() or spec or conversion:
                raise MappingDefinitionError(f"{where}: template fields are {{0}}, {{1}} ...")
            fields.append(int(field))
    except ValueError as exc:
        raise MappingDefinitionError(f"{where}: template does not parse") from exc
    if not fields:
        raise MappingDefinitionError(f"{where}: template has no fields")
    needed = max(fields) + 1

    def apply(value: Value) -> Value:
        if value is None:
            return None
        values = [value] if isinstance(value, str | bool) else value
        if len(values) < needed:
            raise BankPayloadError(f"{where}: template needs {needed} values")
        if all(v is None or v == "" for v in values):
            return None
        filled = args.format(*("" if v is None else str(v) for v in values))
        return text.collapse_spaces(filled) or None

    return apply


def _iso_datetime(value: str) -> str:
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise BankPayloadError("not an ISO 8601 date-time") from exc
    if parsed.tzinfo is None:
        raise BankPayloadError("an ISO 8601 date-time without a time zone")
    return parsed.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _empty_to_none(value: str) -> str | None:
    return value or None


TRANSFORMS: Mapping[str, _Spec] = {
    "nfkc": _simple(text.nfkc, "Unicode NFKC"),
    "strip": _simple(str.strip, "trim white space"),
    "collapse_spaces": _simple(text.collapse_spaces, "trim, one space between words"),
    "remove_spaces": _simple(text.remove_spaces, "remove all white space"),
    "empty_to_none": _simple(_empty_to_none, "treat an empty string as absent"),
    "upper": _simple(str.upper, "upper case"),
    "lower": _simple(str.lower, "lower case"),
    "halfwidth_kana_to_fullwidth": _simple(
        text.halfwidth_kana_to_fullwidth, "ｶﾞｯｺｳ -> ガッコウ, only kana touched"
    ),
    "fullwidth_ascii_to_halfwidth": _simple(
        text.fullwidth_ascii_to_halfwidth, "Ａ１ -> A1, ideographic space -> space"
    ),
    "hiragana_to_katakana": _simple(text.hiragana_to_katakana, "やまだ -> ヤマダ"),
    "katakana_to_hiragana": _simple(text.katakana_to_hiragana, "ヤマダ -> やまだ"),
    "normalize_hyphens": _simple(text.normalize_hyphens, "1－2ー3 -> 1-2-3"),
    "format_postal_code": _simple(format_postal_code, "〒1000001 -> 100-0001"),
    "wareki_to_iso": _date_transform(
        dates.parse_wareki, takes_strict=True, doc="昭和60年4月1日 / S60.4.1 -> 1985-04-01"
    ),
    "yyyymmdd_to_iso": _date_transform(
        dates.parse_yyyymmdd, takes_strict=False, doc="19850401 -> 1985-04-01"
    ),
    "era_code_to_iso": _date_transform(
        dates.parse_era_code_date, takes_strict=True, doc="3600401 -> 1985-04-01"
    ),
    "date_to_iso": _date_transform(
        dates.parse_date, takes_strict=True, doc="any of ISO, YYYYMMDD, wareki -> ISO"
    ),
    "split_postal_code": _Spec(_split_postal_code, "postal code out of an address string"),
    "address_part": _Spec(_address_part, "region / locality / street_address of an address"),
    "split_name": _Spec(_split_name, "family or given part of a full name"),
    "constant": _Spec(_constant, "a fixed value"),
    "default": _Spec(_default, "a value when the field is absent or empty"),
    "template": _Spec(_template, "fill '{0}{1} {2}' from several paths' values"),
    "iso_datetime": _simple(_iso_datetime, "ISO 8601 date-time with zone -> RFC 3339 UTC"),
    "concat": _Spec(_concat, "join several paths' values"),
    "first": _Spec(_first, "the first present of several paths' values"),
    "map": _Spec(_map_values, "look the value up in a table"),
    "regex_extract": _Spec(_regex_extract, "a regex group of the value"),
    "replace": _Spec(_replace, "replace a substring"),
}


def build_transform(step: Any, *, where: str) -> Transform:
    """Build one pipeline step written as ``name`` or ``{name: arguments}``."""
    if isinstance(step, str):
        name, args = step, None
    elif isinstance(step, Mapping) and len(step) == 1:
        ((name, args),) = step.items()
    else:
        raise MappingDefinitionError(
            f"{where}: a transform is a name or a one-key mapping {{name: arguments}}"
        )
    if not isinstance(name, str) or name not in TRANSFORMS:
        known = ", ".join(sorted(TRANSFORMS))
        raise MappingDefinitionError(f"{where}: unknown transform {name!r} (known: {known})")
    return TRANSFORMS[name].factory(args, f"{where} {name}")
