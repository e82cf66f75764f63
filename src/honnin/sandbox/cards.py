"""Card-surface images of sandbox documents: My Number card, driver's licence, residence
card and passport data page, with the camera faults OCR must survive.

Layouts follow the real documents' field order (not their artwork): labels and values on
one line as printed. Japanese text uses Debian's IPA Gothic, IPA Mincho or VL Gothic
(scripts/system-packages.txt); the passport MRZ uses OCR-B (fonts-ocr-b), ICAO 9303-3 §4.3.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from honnin.documents.wareki import to_wareki

if TYPE_CHECKING:
    from PIL import Image as PILImage

    from honnin.sandbox.issuer import Holder

FONT_FILES: dict[str, tuple[str, ...]] = {
    "gothic": (
        "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
        "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
    ),
    "mincho": (
        "/usr/share/fonts/opentype/ipafont-mincho/ipam.ttf",
        "/usr/share/fonts/truetype/fonts-japanese-mincho.ttf",
    ),
    "vlgothic": ("/usr/share/fonts/truetype/vlgothic/VL-Gothic-Regular.ttf",),
}
OCRB_FILES = ("/usr/share/fonts/opentype/ocr-b/OCRB.otf",)
CardKind = Literal["passport", "mynumber", "driver_license", "residence_card"]
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


class FontMissingError(RuntimeError):
    """A Debian font package of scripts/system-packages.txt is not installed."""


@dataclass(frozen=True)
class CardStyle:
    font: str = "gothic"  # a key of FONT_FILES
    background: tuple[int, int, int] = (236, 242, 246)


@lru_cache(maxsize=32)
def _font(kind: str, size: int) -> object:
    from PIL import ImageFont

    files = OCRB_FILES if kind == "ocrb" else FONT_FILES[kind]
    for candidate in files:
        if Path(candidate).is_file():
            return ImageFont.truetype(candidate, size)
    msg = f"font {kind!r} missing: install the packages in scripts/system-packages.txt"
    raise FontMissingError(msg)


def _fitting_size(kind: str, line: str, width: int, *, start: int) -> int:
    """The largest font size up to ``start`` at which ``line`` fits ``width`` pixels."""
    size = start
    while size > 12 and _font(kind, size).getlength(line) > width:  # type: ignore[attr-defined]
        size -= 1
    return size


def _passport_date(value: date) -> str:
    return f"{value.day:02d} {_MONTHS[value.month - 1]} {value.year}"


def residence_card_number(holder: Holder) -> str:
    """Residence card numbers: 2 letters, 8 digits, 2 letters (derived from the holder)."""
    digits = "".join(c for c in holder.document_number if c.isdigit()).ljust(8, "0")[:8]
    letters = "".join(c for c in holder.document_number if c.isalpha()) or "AB"
    return f"{letters[:2]}{digits}{letters[::-1][:2]}"


def licence_number(holder: Holder) -> str:
    digits = "".join(str(ord(c) % 10) for c in holder.document_number)
    return (digits * 2)[:12]


def expected_fields(kind: CardKind, holder: Holder) -> dict[str, str]:
    """What OCR should read from ``render_card(kind, holder)`` (for tests and benches)."""
    fields = {
        "birth_date": holder.birth_date.isoformat(),
        "expiry_date": holder.expiry_date.isoformat(),
    }
    if kind == "passport":
        fields["name"] = f"{holder.surname} {holder.given_names}"
        fields["document_number"] = holder.document_number
    elif kind == "residence_card":
        fields["name"] = f"{holder.surname} {holder.given_names}"
        fields["document_number"] = residence_card_number(holder)
        fields["address"] = holder.address
    elif kind == "driver_license":
        fields["name"] = holder.name_kanji
        fields["document_number"] = licence_number(holder)
        fields["address"] = holder.address
    else:
        fields["name"] = holder.name_kanji
        fields["address"] = holder.address
        fields["security_code"] = holder.security_code
    return fields


class _Canvas:
    """A card image with the style's font and ink."""

    def __init__(self, size: tuple[int, int], style: CardStyle) -> None:
        from PIL import Image, ImageDraw

        self.style = style
        self.image = Image.new("RGB", size, style.background)
        self.draw = ImageDraw.Draw(self.image)
        self.ink = (20, 20, 30)

    def text(self, xy: tuple[int, int], value: str, size: int = 34, font: str = "") -> None:
        chosen = _font(font or self.style.font, size)
        self.draw.text(xy, value, font=chosen, fill=self.ink)  # type: ignore[arg-type]

    def photo(self, face: bytes | None, box: tuple[int, int, int, int]) -> None:
        from PIL import Image

        if face is None:
            self.draw.rectangle(box, outline=self.ink, width=2)
            return
        photo = Image.open(io.BytesIO(face)).convert("RGB")
        self.image.paste(photo.resize((box[2] - box[0], box[3] - box[1])), box[:2])


def render_card(
    kind: CardKind,
    holder: Holder,
    *,
    face: bytes | None = None,
    style: CardStyle | None = None,
    mrz_text: str | None = None,
) -> PILImage.Image:
    """The card's front as an RGB image (ID-1 cards 1012x638, passport page 1250x880)."""
    style = style or CardStyle()
    if kind == "passport":
        canvas = _Canvas((1250, 880), style)
        canvas.photo(face, (920, 150, 1210, 520))
        _passport(canvas, holder, mrz_text)
        return canvas.image
    canvas = _Canvas((1012, 638), style)
    canvas.photo(face, (730, 90, 970, 390))
    {"mynumber": _mynumber, "driver_license": _licence, "residence_card": _residence}[kind](
        canvas, holder
    )
    return canvas.image


def _mynumber(canvas: _Canvas, holder: Holder) -> None:
    canvas.text((40, 50), f"氏名  {holder.name_kanji}", 40)
    canvas.text((40, 140), f"住所  {holder.address}", 30)
    canvas.text((40, 230), f"{to_wareki(holder.birth_date).text} 生", 32)
    canvas.text((480, 230), f"性別 {'女' if holder.sex == 'F' else '男'}", 32)
    expiry = holder.expiry_date
    canvas.text((40, 310), f"{expiry.year}年 {expiry.month}月 {expiry.day}日まで有効", 32)
    canvas.text((40, 390), "セキュリティコード", 22)
    canvas.text((40, 420), holder.security_code, 40)
    canvas.text((40, 530), "個人番号カード", 52)


def _licence(canvas: _Canvas, holder: Holder) -> None:
    canvas.text((40, 40), f"氏名  {holder.name_kanji}", 40)
    canvas.text((430, 44), f"{to_wareki(holder.birth_date).text}生", 32)
    canvas.text((40, 120), f"住所  {holder.address}", 30)
    canvas.text((40, 200), f"交付  {to_wareki(holder.issue_date, padded=True).text}  12345", 30)
    canvas.draw.rectangle((30, 262, 700, 320), fill=(120, 200, 140))
    canvas.text((40, 270), f"{to_wareki(holder.expiry_date, padded=True).text}まで有効", 36)
    canvas.text((40, 350), "免許の条件等", 30)
    canvas.text((40, 430), f"番号  第 {licence_number(holder)} 号", 34)
    canvas.text((40, 530), "運転免許証", 52)


def _residence(canvas: _Canvas, holder: Holder) -> None:
    canvas.text((40, 30), "在留カード", 44)
    canvas.text((560, 36), f"番号  {residence_card_number(holder)}", 32)
    canvas.text((40, 110), f"氏名  {holder.surname} {holder.given_names}", 34)
    b, e = holder.birth_date, holder.expiry_date
    sex = "女 F." if holder.sex == "F" else "男 M."
    canvas.text((40, 180), f"生年月日 {b.year}年{b.month:02d}月{b.day:02d}日  性別 {sex}", 28)
    canvas.text((40, 240), f"住居地  {holder.address}", 28)
    canvas.text((40, 300), "在留資格  留学", 28)
    canvas.text((40, 540), f"このカードは{e.year}年{e.month:02d}月{e.day:02d}日まで有効です", 30)


def _passport(canvas: _Canvas, holder: Holder, mrz_text: str | None) -> None:
    from honnin.sandbox.issuer import holder_mrz

    canvas.text((40, 30), "PASSPORT  日本国  JAPAN", 44)
    rows = (
        ("Type / 型", "P"),
        ("Issuing country / 発行国", holder.issuing_state),
        ("Passport No. / 旅券番号", holder.document_number),
        ("Surname / 姓", holder.surname),
        ("Given name / 名", holder.given_names),
        ("Nationality / 国籍", "JAPAN"),
        ("Date of birth / 生年月日", _passport_date(holder.birth_date)),
        ("Sex / 性別", holder.sex),
        ("Date of expiry / 有効期間満了日", _passport_date(holder.expiry_date)),
    )
    for index, (label, value) in enumerate(rows):
        y = 110 + index * 58
        canvas.text((40, y), label, 22)
        canvas.text((40, y + 22), value, 30)
    lines = (mrz_text or holder_mrz(holder)).split("\n")
    mrz_size = _fitting_size("ocrb", lines[0], canvas.image.width - 100, start=44)
    for index, line in enumerate(lines):
        canvas.text((50, 730 + index * 62), line, mrz_size, font="ocrb")


def degrade(
    image: PILImage.Image,
    *,
    blur: float = 0.0,
    rotation: float = 0.0,
    jpeg_quality: int | None = None,
) -> bytes:
    """A camera-like copy: Gaussian blur, rotation (degrees), JPEG at ``jpeg_quality``."""
    from PIL import Image, ImageFilter

    out = image
    if blur:
        out = out.filter(ImageFilter.GaussianBlur(blur))
    if rotation:
        out = out.rotate(
            rotation, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(90, 90, 90)
        )
    buffer = io.BytesIO()
    if jpeg_quality is None:
        out.save(buffer, format="PNG")
    else:
        out.save(buffer, format="JPEG", quality=jpeg_quality)
    return buffer.getvalue()
