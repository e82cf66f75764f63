"""Field paths of the mapping language: JSON Pointer, dotted paths, and an XPath subset (pure).

JSON: RFC 6901 JSON Pointer (``/customer/name/0``, with ``~0``/``~1`` escapes) or a dotted
path (``customer.name.0``). XML: a safe subset of XPath 1.0 location paths (W3C XPath 1.0
§2): absolute child steps only, each a name (optionally ``prefix:name`` or ``*``) with
predicates ``[n]``, ``[@attr='v']`` or ``[child='v']``, and an optional final ``@attr`` or
``text()``. No axes, functions or ``//``: evaluation is a bounded walk, so a mapping file
cannot make a lookup expensive. XML is parsed with defusedxml, which refuses DTDs, entity
expansion and external references.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element

from honnin.banks.errors import MappingDefinitionError

__all__ = ["JsonPath", "XmlPath", "XmlStep", "parse_json_path", "parse_xml_path"]


def _is_index(segment: str) -> bool:
    # ASCII digits only (str.isdigit() also takes ² and ٣), and few enough for int().
    return len(segment) <= 18 and segment.isascii() and segment.isdigit()


@dataclass(frozen=True, slots=True)
class JsonPath:
    """A compiled JSON path; ``select`` returns ``None`` when any step is absent."""

    source: str
    segments: tuple[str, ...]

    def select(self, document: Any) -> Any:
        node = document
        for segment in self.segments:
            if isinstance(node, Mapping):
                if segment not in node:
                    return None
                node = node[segment]
            elif isinstance(node, list):
                if not _is_index(segment) or int(segment) >= len(node):
                    return None
                node = node[int(segment)]
            else:
                return None
        return node


def parse_json_path(path: str, *, where: str) -> JsonPath:
    """Compile ``/a/b`` (RFC 6901) or ``a.b``; errors name ``where`` in the mapping."""
    if not isinstance(path, str) or not path:
        raise MappingDefinitionError(f"{where}: a path must be a non-empty string")
    if path.startswith("/"):
        raw = path[1:].split("/")
        for segment in raw:
            if re.search(r"~(?![01])", segment):
                raise MappingDefinitionError(f"{where}: bad '~' escape in JSON pointer {path!r}")
        segments = tuple(s.replace("~1", "/").replace("~0", "~") for s in raw)
    else:
        segments = tuple(path.split("."))
        if any(not s for s in segments):
            raise MappingDefinitionError(f"{where}: empty segment in dotted path {path!r}")
    return JsonPath(source=path, segments=segments)


_NAME = r"(?:\*|[A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?)"
_STEP = re.compile(rf"^(?P<name>{_NAME})(?P<predicates>(?:\[[^\[\]]+\])*)$")
_PREDICATE = re.compile(r"\[([^\[\]]+)\]")
_POSITION = re.compile(r"^\s*([1-9]\d{0,3})\s*$")
_EQUALS = re.compile(
    rf"""^\s*(?P<attr>@)?(?P<name>{_NAME})\s*=\s*(?P<q>['"])(?P<value>[^'"]*)(?P=q)\s*$"""
)
_ATTRIBUTE = re.compile(rf"^@(?P<name>{_NAME})$")


@dataclass(frozen=True, slots=True)
class XmlStep:
    """One child step: a Clark-notation tag (or ``*``) and its predicates."""

    tag: str
    position: int | None = None
    attribute_equals: tuple[tuple[str, str], ...] = ()
    child_equals: tuple[tuple[str, str], ...] = ()

    def matches(self, element: Element) -> bool:
        if self.tag not in ("*", element.tag):
            return False
        for name, value in self.attribute_equals:
            if element.get(name) != value:
                return False
        for tag, value in self.child_equals:
            child = element.find(tag)
            if child is None or (child.text or "").strip() != value:
                return False
        return True


@dataclass(frozen=True, slots=True)
class XmlPath:
    """A compiled XPath-subset location path; ``select`` returns text or ``None``."""

    source: str
    steps: tuple[XmlStep, ...]
    attribute: str | None = None

    def select(self, root: Element) -> str | None:
        first = self.steps[0]
        if not first.matches(root) or first.position not in (None, 1):
            return None
        nodes = [root]
        for step in self.steps[1:]:
            found: list[Element] = []
            for node in nodes:
                matching = [child for child in node if step.matches(child)]
                if step.position is not None:
                    matching = matching[step.position - 1 : step.position]
                found.extend(matching)
            if not found:
                return None
            nodes = found
        element = nodes[0]
        if self.attribute is not None:
            return element.get(self.attribute)
        return "".join(element.itertext())


def _clark(name: str, namespaces: Mapping[str, str], *, where: str, attribute: bool) -> str:
    if name == "*":
        return name
    prefix, sep, local = name.rpartition(":")
    if not sep:
        # Unprefixed attributes are never in a namespace (Namespaces in XML 1.0 §6.2);
        # unprefixed elements take the mapping's default namespace when one is declared.
        default = namespaces.get("") if not attribute else None
        return f"{{{default}}}{name}" if default else name
    if prefix not in namespaces:
        raise MappingDefinitionError(f"{where}: undeclared namespace prefix {prefix!r}")
    return f"{{{namespaces[prefix]}}}{local}"


def _parse_step(text: str, namespaces: Mapping[str, str], *, where: str) -> XmlStep:
    match = _STEP.match(text)
    if match is None:
        raise MappingDefinitionError(f"{where}: unsupported XPath step {text!r}")
    position: int | None = None
    attrs: list[tuple[str, str]] = []
    children: list[tuple[str, str]] = []
    for predicate in _PREDICATE.findall(match["predicates"]):
        if pos := _POSITION.match(predicate):
            if position is not None:
                raise MappingDefinitionError(f"{where}: two positions in one step {text!r}")
            position = int(pos[1])
        elif eq := _EQUALS.match(predicate):
            is_attr = eq["attr"] is not None
            name = _clark(eq["name"], namespaces, where=where, attribute=is_attr)
            (attrs if is_attr else children).append((name, eq["value"]))
        else:
            raise MappingDefinitionError(f"{where}: unsupported XPath predicate [{predicate}]")
    tag = _clark(match["name"], namespaces, where=where, attribute=False)
    return XmlStep(
        tag=tag, position=position, attribute_equals=tuple(attrs), child_equals=tuple(children)
    )


def _split_steps(text: str, *, where: str) -> list[str]:
    """Split on ``/`` outside predicates and quotes, so ``[@a='x/y']`` stays one step."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    quote = ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        elif char == "/" and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    if quote or depth:
        raise MappingDefinitionError(f"{where}: unbalanced brackets or quotes in XML path")
    parts.append("".join(current))
    return parts


def parse_xml_path(path: str, namespaces: Mapping[str, str], *, where: str) -> XmlPath:
    """Compile an absolute location path such as ``/Kyc/Customer[1]/Name[@type='kana']``."""
    if not isinstance(path, str) or not path.startswith("/") or path.startswith("//"):
        raise MappingDefinitionError(
            f"{where}: an XML path must be absolute, starting with a single '/'"
        )
    parts = _split_steps(path[1:], where=where)
    if any(not part for part in parts):
        raise MappingDefinitionError(f"{where}: empty step in XML path {path!r}")
    attribute: str | None = None
    last = parts[-1]
    if last == "text()":
        parts = parts[:-1]
    elif attr := _ATTRIBUTE.match(last):
        attribute = _clark(attr["name"], namespaces, where=where, attribute=True)
        parts = parts[:-1]
    if not parts:
        raise MappingDefinitionError(f"{where}: an XML path needs at least one element step")
    steps = tuple(_parse_step(part, namespaces, where=where) for part in parts)
    return XmlPath(source=path, steps=steps, attribute=attribute)
