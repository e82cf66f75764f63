"""BER-TLV as the LDS uses it (ISO/IEC 7816-4 §5.2, ICAO 9303-10 §4.4).

Tags of one to three bytes, definite lengths of up to four bytes. Every read is bounds
checked and raises :class:`ChipDataError` on truncated or inconsistent input.
"""

from __future__ import annotations

from dataclasses import dataclass

from honnin.documents.errors import ChipDataError

MAX_DEPTH = 16


@dataclass(frozen=True)
class Tlv:
    tag: int
    value: bytes
    constructed: bool

    def children(self) -> list[Tlv]:
        if not self.constructed:
            msg = "primitive TLV has no children"
            raise ChipDataError(msg)
        return parse_all(self.value)

    def find(self, tag: int) -> Tlv | None:
        return next((child for child in self.children() if child.tag == tag), None)

    def require(self, tag: int) -> Tlv:
        child = self.find(tag)
        if child is None:
            msg = f"missing TLV tag {tag:X}"
            raise ChipDataError(msg)
        return child


def _read_tag(data: bytes, pos: int) -> tuple[int, bool, int]:
    if pos >= len(data):
        msg = "truncated TLV tag"
        raise ChipDataError(msg)
    first = data[pos]
    constructed = bool(first & 0x20)
    tag = first
    pos += 1
    if first & 0x1F == 0x1F:
        for _ in range(2):
            if pos >= len(data):
                msg = "truncated TLV tag"
                raise ChipDataError(msg)
            tag = (tag << 8) | data[pos]
            pos += 1
            if not data[pos - 1] & 0x80:
                break
        else:
            msg = "TLV tag longer than 3 bytes"
            raise ChipDataError(msg)
    return tag, constructed, pos


def _read_length(data: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(data):
        msg = "truncated TLV length"
        raise ChipDataError(msg)
    first = data[pos]
    pos += 1
    if first < 0x80:
        return first, pos
    count = first & 0x7F
    if count == 0 or count > 4:
        msg = "indefinite or oversized TLV length"
        raise ChipDataError(msg)
    if pos + count > len(data):
        msg = "truncated TLV length"
        raise ChipDataError(msg)
    return int.from_bytes(data[pos : pos + count], "big"), pos + count


def parse_one(data: bytes, pos: int = 0) -> tuple[Tlv, int]:
    """The TLV at ``pos`` and the offset after it."""
    tag, constructed, pos = _read_tag(data, pos)
    length, pos = _read_length(data, pos)
    end = pos + length
    if end > len(data):
        msg = "TLV value runs past the end of the data"
        raise ChipDataError(msg)
    return Tlv(tag, bytes(data[pos:end]), constructed), end


def parse_all(data: bytes) -> list[Tlv]:
    """Every TLV in ``data``, which must hold nothing else (``00``/``FF`` padding aside)."""
    items: list[Tlv] = []
    pos = 0
    while pos < len(data):
        if data[pos] in (0x00, 0xFF):
            pos += 1
            continue
        item, pos = parse_one(data, pos)
        items.append(item)
    return items


def parse_file(data: bytes, expected_tag: int) -> Tlv:
    """An LDS elementary file: one TLV with ``expected_tag`` (trailing padding allowed)."""
    item, end = parse_one(data)
    if item.tag != expected_tag:
        msg = f"expected tag {expected_tag:X}, found {item.tag:X}"
        raise ChipDataError(msg)
    if any(b not in (0x00, 0xFF) for b in data[end:]):
        msg = "data after the file's TLV"
        raise ChipDataError(msg)
    return item


def encode_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def encode(tag: int, value: bytes) -> bytes:
    """DER-style TLV (used by the sandbox issuer to build data groups)."""
    tag_bytes = tag.to_bytes((tag.bit_length() + 7) // 8 or 1, "big")
    return tag_bytes + encode_length(len(value)) + value
