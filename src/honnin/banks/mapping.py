"""Declarative per-bank mappings: a bank's KYC response to OIDC4IDA ``verified_claims``.

OpenID Connect for Identity Assurance 1.0 (final) §5 (``verified_claims``: verification,
evidence of type ``electronic_record``, claims), OpenID Connect Core 1.0 §5.1 / §5.2
(standard and language-tagged claims such as ``family_name#ja-Kana-JP``).

A mapping is a YAML file, ``honnin/banks/mappings/<bank_id>.yaml`` (the language is
documented in docs/bank-mappings.md). It is checked completely when it loads: unknown
keys, transforms, claims and malformed paths are :class:`MappingDefinitionError` naming
the file and the offending entry. Applying a mapping reads, selects and transforms only;
it does no I/O and trusts nothing in the payload beyond what the paths select.
"""

from __future__ import annotations

import codecs
import datetime as dt
import functools
import json
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from xml.etree.ElementTree import Element, ParseError

import yaml
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as parse_xml

from honnin.banks.errors import BankPayloadError, MappingDefinitionError
from honnin.banks.oidc4ida import validate_verified_claims
from honnin.banks.paths import JsonPath, XmlPath, parse_json_path, parse_xml_path
from honnin.banks.transforms import Transform, Value, build_transform

__all__ = [
    "BankMapping",
    "FieldRule",
    "PayloadFormat",
    "available_mappings",
    "load_mapping",
    "parse_mapping",
]

PayloadFormat = Literal["json", "xml", "oidc_userinfo"]
JwtVerifier = Callable[[bytes], Mapping[str, Any]]

MAX_PAYLOAD_BYTES = 1 << 20
_BANK_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")
# OpenID Connect Core §5.1 and the OIDC4IDA claims_schema: the claims a mapping may emit.
_STRING_CLAIMS = frozenset(
    {
        "name",
        "given_name",
        "family_name",
        "middle_name",
        "nickname",
        "preferred_username",
        "birthdate",
        "gender",
        "title",
        "salutation",
        "birth_family_name",
        "birth_given_name",
        "birth_middle_name",
        "also_known_as",
        "email",
        "phone_number",
        "msisdn",
        "locale",
        "zoneinfo",
        "sub",
    }
)
_BOOLEAN_CLAIMS = frozenset({"email_verified", "phone_number_verified"})
_OBJECT_CLAIMS: Mapping[str, frozenset[str]] = {
    "address": frozenset(
        {"formatted", "street_address", "locality", "region", "postal_code", "country"}
    )
    | {"country_code"},
    "place_of_birth": frozenset({"country", "region", "locality"}),
}
_VERIFICATION_FIELDS = frozenset({"time", "verification_process", "assurance_level"})
_FORMAT_MEDIA_TYPES: Mapping[str, tuple[str, ...]] = {
    "json": ("application/json",),
    "oidc_userinfo": ("application/json", "application/jwt"),
    "xml": ("application/xml", "text/xml"),
}
_TOP_KEYS = frozenset(
    {
        "mapping_version",
        "bank_id",
        "display_name",
        "format",
        "namespaces",
        "trust_framework",
        "verification",
        "evidence",
        "expect",
        "claims",
    }
)
_EVIDENCE_KEYS = frozenset({"record_type", "check_method", "source"})
_SOURCE_KEYS = frozenset(
    {"name", "country", "country_code", "formatted", "jurisdiction", "locality", "region"}
)
_RULE_KEYS = frozenset({"path", "paths", "transforms", "required"})

AnyPath = JsonPath | XmlPath


@dataclass(frozen=True, slots=True)
class FieldRule:
    """One output field: where its value comes from and how it is transformed."""

    target: tuple[str, ...]
    paths: tuple[AnyPath, ...]
    several: bool
    transforms: tuple[Transform, ...]
    required: bool
    where: str

    def evaluate(self, document: Any) -> Value:
        values = [_scalar(path.select(document), self.where) for path in self.paths]
        value: Value
        if self.several:
            value = [v if isinstance(v, str) or v is None else str(v) for v in values]
        else:
            value = values[0] if values else None
        for transform in self.transforms:
            value = transform(value)
        if isinstance(value, str):
            value = value or None
        return value


@dataclass(frozen=True, slots=True)
class Expectation:
    """A payload check: the value at ``path`` must equal ``equals`` (e.g. trust framework)."""

    path: AnyPath
    equals: str
    where: str


def _scalar(node: Any, where: str) -> str | bool | None:
    if node is None or isinstance(node, str | bool):
        return node
    if isinstance(node, int | float):
        return str(node)
    raise BankPayloadError(f"{where}: the path selects an object or array, not a value")


def _rfc3339(value: dt.datetime) -> str:
    utc = value.astimezone(dt.UTC).replace(microsecond=0)
    return utc.isoformat().replace("+00:00", "Z")


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


# WHATWG Encoding Standard §4.2: the "Shift_JIS" label means Windows-31J (cp932), the
# superset that real systems emit (－, ～, ①, 髙 are not in JIS X 0208 Shift_JIS).
_ENCODING_SUPERSETS = {"shift_jis": "cp932"}


def _codec(label: str) -> str:
    name = codecs.lookup(label).name
    return _ENCODING_SUPERSETS.get(name, name)


def _charset(content_type: str, *, bank_id: str) -> str:
    """The ``charset`` parameter (RFC 9110 §8.3.2), checked against Python's codecs."""
    match = re.search(r";\s*charset\s*=\s*\"?([A-Za-z0-9._:-]+)\"?", content_type, re.IGNORECASE)
    if match is None:
        return "utf-8"
    try:
        return _codec(match[1])
    except LookupError as exc:
        raise BankPayloadError(f"{bank_id}: unknown charset in Content-Type") from exc


_XML_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
# Encodings expat reads itself; anything else (Shift_JIS, EUC-JP, ISO-2022-JP, which
# Japanese core banking systems still emit) is decoded by Python and handed over as UTF-8.
_EXPAT_ENCODINGS = frozenset({"utf-8", "utf-16", "utf-16-le", "utf-16-be", "ascii", "latin-1"})


def _xml_as_expat_reads_it(payload: bytes, *, bank_id: str) -> bytes:
    match = _XML_DECLARATION.match(payload)
    if match is None:
        return payload
    try:
        encoding = _codec(match[1].decode("ascii"))
    except LookupError as exc:
        raise BankPayloadError(f"{bank_id}: unknown encoding in the XML declaration") from exc
    if encoding in _EXPAT_ENCODINGS:
        return payload
    try:
        text = payload.decode(encoding)
    except UnicodeDecodeError as exc:
        raise BankPayloadError(f"{bank_id}: XML body is not valid {encoding}") from exc
    declaration_end = text.index("?>") + 2
    declaration = re.sub(
        r"encoding\s*=\s*[\"'][^\"']*[\"']", 'encoding="UTF-8"', text[:declaration_end]
    )
    return (declaration + text[declaration_end:]).encode("utf-8")


def _is_json(media: str) -> bool:
    return media == "application/json" or media.endswith("+json")


def _is_xml(media: str) -> bool:
    return media in {"application/xml", "text/xml"} or media.endswith("+xml")


@dataclass(frozen=True, slots=True)
class BankMapping:
    """A loaded, checked mapping for one bank; :meth:`apply` is pure and thread-safe."""

    bank_id: str
    display_name: str
    format: PayloadFormat
    trust_framework: str
    record_type: str
    check_method: str
    source: Mapping[str, str]
    claims: tuple[FieldRule, ...]
    verification: tuple[FieldRule, ...]
    expectations: tuple[Expectation, ...]
    origin: str

    def apply(
        self,
        payload: bytes | Mapping[str, Any],
        *,
        content_type: str,
        bank_id: str,
        fetched_at: dt.datetime,
        verify_jwt: JwtVerifier | None = None,
        validate: bool = True,
        only_claims: Collection[str] | None = None,
    ) -> dict[str, Any]:
        """Map one bank response to a ``verified_claims`` object.

        ``bank_id`` names the bank in the evidence (``check_details[].organization``);
        ``fetched_at`` (timezone-aware) is when Honnin read the record. A signed userinfo
        (``application/jwt``) is only read through ``verify_jwt``, which the connector
        supplies with the bank's keys; unverified JWTs are refused. With ``only_claims``,
        just those claims are mapped (others are skipped, even when marked required). The
        result is validated against the OIDC4IDA schema unless ``validate`` is false.
        """
        if fetched_at.tzinfo is None:
            raise ValueError("fetched_at must be timezone-aware")
        document = self._decode(payload, content_type=content_type, verify_jwt=verify_jwt)
        for expectation in self.expectations:
            actual = _scalar(expectation.path.select(document), expectation.where)
            if actual != expectation.equals:
                raise BankPayloadError(
                    f"{self.bank_id}: {expectation.where} does not hold for this response"
                )
        claims: dict[str, Any] = {}
        sourced: set[str] = set()
        wanted = None if only_claims is None else frozenset(only_claims)
        for rule in self.claims:
            # A claim that was not asked for is neither read nor required: the bank only
            # shares what the user consented to, and partial consent is not an error.
            if wanted is not None and rule.target[0] not in wanted:
                continue
            value = self._value(rule, document)
            _put(claims, rule.target, value)
            if value is not None and rule.paths:
                sourced.add(rule.target[0])
        # An object claim made only of constants (address.country_code: JPN) says nothing
        # about the person; when the bank sent no part of it, it is left out.
        for key in [k for k in claims if isinstance(claims[k], dict) and k not in sourced]:
            del claims[key]
        fetched = _rfc3339(fetched_at)
        verification: dict[str, Any] = {"trust_framework": self.trust_framework, "time": fetched}
        for rule in self.verification:
            _put(verification, rule.target, self._value(rule, document))
        verification["evidence"] = [
            {
                "type": "electronic_record",
                "check_details": [
                    {"check_method": self.check_method, "organization": bank_id, "time": fetched}
                ],
                "record": {"type": self.record_type, "source": dict(self.source)},
            }
        ]
        result = {"verification": verification, "claims": claims}
        if validate:
            validate_verified_claims(result)
        return result

    def _value(self, rule: FieldRule, document: Any) -> Value:
        value = rule.evaluate(document)
        if rule.required and value is None:
            raise BankPayloadError(f"{self.bank_id}: required field {rule.where} is missing")
        return value

    def _decode(
        self,
        payload: bytes | Mapping[str, Any],
        *,
        content_type: str,
        verify_jwt: JwtVerifier | None,
    ) -> Any:
        media = _media_type(content_type)
        if self.format == "xml":
            if not _is_xml(media):
                raise BankPayloadError(f"{self.bank_id}: expected an XML body, got {media!r}")
            if not isinstance(payload, bytes | bytearray):
                raise BankPayloadError(f"{self.bank_id}: an XML body must be bytes")
            return self._decode_xml(_xml_as_expat_reads_it(bytes(payload), bank_id=self.bank_id))
        if self.format == "oidc_userinfo" and media == "application/jwt":
            if verify_jwt is None:
                raise BankPayloadError(
                    f"{self.bank_id}: a signed userinfo needs the connector's JWT verifier"
                )
            if not isinstance(payload, bytes | bytearray):
                raise BankPayloadError(f"{self.bank_id}: a JWT body must be bytes")
            return dict(verify_jwt(bytes(payload)))
        if not _is_json(media):
            raise BankPayloadError(f"{self.bank_id}: expected a JSON body, got {media!r}")
        if isinstance(payload, Mapping):
            return payload
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise BankPayloadError(f"{self.bank_id}: response body too large")
        try:
            charset = _charset(content_type, bank_id=self.bank_id)
            # utf-8-sig: a byte-order mark is tolerated, as RFC 8259 §8.1 allows parsers to.
            text = bytes(payload).decode("utf-8-sig" if charset == "utf-8" else charset)
            document = json.loads(text)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BankPayloadError(f"{self.bank_id}: malformed JSON body") from exc
        if not isinstance(document, dict):
            raise BankPayloadError(f"{self.bank_id}: the JSON body is not an object")
        return document

    def _decode_xml(self, payload: bytes) -> Element:
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise BankPayloadError(f"{self.bank_id}: response body too large")
        try:
            root: Element = parse_xml(payload, forbid_dtd=True)
        except (ParseError, DefusedXmlException, ValueError) as exc:
            raise BankPayloadError(f"{self.bank_id}: malformed or unsafe XML body") from exc
        return root


def _put(target: dict[str, Any], keys: tuple[str, ...], value: Value) -> None:
    if value is None:
        return
    node = target
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value


def _fail(origin: str, message: str) -> MappingDefinitionError:
    return MappingDefinitionError(f"{origin}: {message}")


def _check_claim_target(name: str, *, origin: str) -> tuple[str, ...]:
    parts = tuple(name.split("."))
    base, _, tag = parts[-1].partition("#")
    if tag and not _LANGUAGE_TAG.match(tag):
        raise _fail(origin, f"claims.{name}: bad language tag {tag!r}")
    if len(parts) == 1:
        if base in _STRING_CLAIMS or (base in _BOOLEAN_CLAIMS and not tag):
            return parts
        if base == "nationalities" and not tag:
            return parts
    elif len(parts) == 2 and parts[0] in _OBJECT_CLAIMS and base in _OBJECT_CLAIMS[parts[0]]:
        return parts
    raise _fail(origin, f"claims.{name}: not an OIDC4IDA claim this mapping language can emit")


class _Builder:
    def __init__(self, raw: Mapping[str, Any], origin: str) -> None:
        self.raw = raw
        self.origin = origin
        fmt = raw.get("format")
        if fmt not in _FORMAT_MEDIA_TYPES:
            raise _fail(origin, "format must be one of json, xml, oidc_userinfo")
        self.format: PayloadFormat = fmt  # type: ignore[assignment]  # checked just above
        namespaces = raw.get("namespaces") or {}
        if not isinstance(namespaces, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in namespaces.items()
        ):
            raise _fail(origin, "namespaces must map prefixes to URIs")
        if namespaces and fmt != "xml":
            raise _fail(origin, "namespaces apply to the xml format only")
        self.namespaces: Mapping[str, str] = namespaces

    def path(self, text: Any, where: str) -> AnyPath:
        located = f"{self.origin}: {where}"
        if self.format == "xml":
            return parse_xml_path(text, self.namespaces, where=located)
        return parse_json_path(text, where=located)

    def rule(self, target: tuple[str, ...], spec: Any, where: str) -> FieldRule:
        if isinstance(spec, str):
            spec = {"path": spec}
        if not isinstance(spec, Mapping):
            raise _fail(self.origin, f"{where}: a field is a path or a mapping")
        unknown = sorted(set(spec) - _RULE_KEYS)
        if unknown:
            raise _fail(self.origin, f"{where}: unknown key {unknown[0]!r}")
        if "path" in spec and "paths" in spec:
            raise _fail(self.origin, f"{where}: use either path or paths")
        several = "paths" in spec
        raw_paths: Sequence[Any]
        if several:
            raw_paths = spec["paths"]
            if not isinstance(raw_paths, list) or not raw_paths:
                raise _fail(self.origin, f"{where}: paths must be a non-empty list")
        else:
            raw_paths = [spec["path"]] if "path" in spec else []
        paths = tuple(
            self.path(p, f"{where}.path" if not several else f"{where}.paths[{i}]")
            for i, p in enumerate(raw_paths)
        )
        steps = spec.get("transforms") or []
        if not isinstance(steps, list):
            raise _fail(self.origin, f"{where}: transforms must be a list")
        transforms = tuple(
            build_transform(step, where=f"{self.origin}: {where}.transforms[{i}]")
            for i, step in enumerate(steps)
        )
        if not paths and not any(
            isinstance(s, Mapping) and ("constant" in s or "default" in s) for s in steps
        ):
            raise _fail(self.origin, f"{where}: needs a path, paths, or a constant")
        required = spec.get("required", False)
        if not isinstance(required, bool):
            raise _fail(self.origin, f"{where}: required must be true or false")
        return FieldRule(
            target=target,
            paths=paths,
            several=several,
            transforms=transforms,
            required=required,
            where=where,
        )

    def evidence(self, display_name: str) -> tuple[str, str, dict[str, str]]:
        raw, origin = self.raw, self.origin
        evidence = raw.get("evidence") or {}
        if not isinstance(evidence, Mapping) or set(evidence) - _EVIDENCE_KEYS:
            raise _fail(origin, f"evidence takes only {', '.join(sorted(_EVIDENCE_KEYS))}")
        source = evidence.get("source") or {}
        if (
            not isinstance(source, Mapping)
            or set(source) - _SOURCE_KEYS
            or not all(isinstance(v, str) for v in source.values())
        ):
            raise _fail(origin, f"evidence.source takes strings {', '.join(sorted(_SOURCE_KEYS))}")
        merged = {"name": display_name, "country_code": "JPN", **source}
        record_type = evidence.get("record_type", "bank_account")
        check_method = evidence.get("check_method", "data")
        if not isinstance(record_type, str) or not isinstance(check_method, str):
            raise _fail(origin, "evidence.record_type and check_method are strings")
        return record_type, check_method, merged

    def verification(self) -> list[FieldRule]:
        raw, origin = self.raw, self.origin
        verification = raw.get("verification") or {}
        if not isinstance(verification, Mapping):
            raise _fail(origin, "verification must be a mapping")
        verification_rules = []
        for name, spec in verification.items():
            if name not in _VERIFICATION_FIELDS:
                raise _fail(origin, f"verification.{name}: not a mappable verification field")
            verification_rules.append(self.rule((name,), spec, f"verification.{name}"))
        return verification_rules

    def expectations(self) -> list[Expectation]:
        raw, origin = self.raw, self.origin
        expect = raw.get("expect") or []
        if not isinstance(expect, list):
            raise _fail(origin, "expect must be a list")
        expectations = []
        for index, item in enumerate(expect):
            where = f"expect[{index}]"
            if (
                not isinstance(item, Mapping)
                or set(item) != {"path", "equals"}
                or not isinstance(item["equals"], str)
            ):
                raise _fail(origin, f"{where}: needs path and a string equals")
            expectations.append(
                Expectation(path=self.path(item["path"], where), equals=item["equals"], where=where)
            )
        return expectations

    def build(self) -> BankMapping:
        raw, origin = self.raw, self.origin
        unknown = sorted(set(raw) - _TOP_KEYS)
        if unknown:
            raise _fail(origin, f"unknown top-level key {unknown[0]!r}")
        if raw.get("mapping_version") != 1:
            raise _fail(origin, "mapping_version must be 1")
        bank_id = raw.get("bank_id")
        if not isinstance(bank_id, str) or not _BANK_ID.match(bank_id):
            raise _fail(origin, "bank_id must match [a-z][a-z0-9_]*")
        display_name = raw.get("display_name")
        if not isinstance(display_name, str) or not display_name.strip():
            raise _fail(origin, "display_name is required")
        trust_framework = raw.get("trust_framework", "jp_aml")
        if not isinstance(trust_framework, str) or not trust_framework:
            raise _fail(origin, "trust_framework must be a string")
        record_type, check_method, source = self.evidence(display_name)
        claims = raw.get("claims")
        if not isinstance(claims, Mapping) or not claims:
            raise _fail(origin, "claims must be a non-empty mapping")
        claim_rules = [
            self.rule(_check_claim_target(str(name), origin=origin), spec, f"claims.{name}")
            for name, spec in claims.items()
        ]

        return BankMapping(
            bank_id=bank_id,
            display_name=display_name,
            format=self.format,
            trust_framework=trust_framework,
            record_type=record_type,
            check_method=check_method,
            source=source,
            claims=tuple(claim_rules),
            verification=tuple(self.verification()),
            expectations=tuple(self.expectations()),
            origin=origin,
        )


def parse_mapping(raw: Any, *, origin: str = "<mapping>") -> BankMapping:
    """Check and compile a mapping already read from YAML (a plain mapping)."""
    if not isinstance(raw, Mapping):
        raise _fail(origin, "a mapping file holds a YAML mapping at its top level")
    return _Builder(raw, origin).build()


def _read(text: str, origin: str) -> BankMapping:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise _fail(origin, "not valid YAML") from exc
    return parse_mapping(raw, origin=origin)


@functools.cache
def _bundled(name: str) -> BankMapping:
    resource = resources.files("honnin.banks").joinpath("mappings", f"{name}.yaml")
    if not resource.is_file():
        raise MappingDefinitionError(f"no bundled mapping named {name!r}")
    mapping = _read(resource.read_text("utf-8"), f"{name}.yaml")
    if mapping.bank_id != name:
        raise _fail(f"{name}.yaml", "bank_id must equal the file name")
    return mapping


def available_mappings() -> tuple[str, ...]:
    """Names of the mappings shipped in ``honnin/banks/mappings/``."""
    folder = resources.files("honnin.banks").joinpath("mappings")
    return tuple(
        sorted(
            entry.name.removesuffix(".yaml")
            for entry in folder.iterdir()
            if entry.name.endswith(".yaml")
        )
    )


def load_mapping(path_or_name: str | Path) -> BankMapping:
    """Load a mapping by bundled name (``"momiji_rest"``) or from a YAML file path.

    Bundled mappings are cached; files are read each call, so an operator can add a bank
    by dropping a YAML file and pointing its profile at it.
    """
    if isinstance(path_or_name, str) and _BANK_ID.match(path_or_name):
        return _bundled(path_or_name)
    path = Path(path_or_name)
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingDefinitionError(f"cannot read mapping file {path.name!r}") from exc
    return _read(text, path.name)
