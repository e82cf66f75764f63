"""Character-level normalisation of Japanese text (pure).

Unicode Standard Annex #15 (NFKC), the Unicode blocks "Halfwidth and Fullwidth Forms"
(U+FF00-U+FFEF), "Hiragana" (U+3040-U+309F) and "Katakana" (U+30A0-U+30FF).

Every function here is total on ``str`` and idempotent; the property tests check it.
"""

from __future__ import annotations

import re
import unicodedata

from honnin.matching.variants import fold_kanji_variants

__all__ = [
    "DASHES",
    "collapse_spaces",
    "fold_kana",
    "fold_kana_phonetic",
    "fold_kanji_variants",
    "fullwidth_ascii_to_halfwidth",
    "halfwidth_kana_to_fullwidth",
    "hiragana_to_katakana",
    "katakana_to_hiragana",
    "nfkc",
    "normalize_hyphens",
    "normalize_kana",
    "normalize_name",
    "remove_spaces",
    "strip_variation_selectors",
]

_HALFWIDTH_KANA = re.compile("[\uff61-\uff9f]+")
# NFKC maps a half-width (semi-)voiced sound mark to the *combining* mark, which composes
# with a preceding kana; a mark with nothing to compose with stays combining and would
# silently attach to whatever follows, so it is turned into the spacing form instead.
_LONE_SOUND_MARKS = str.maketrans({"\u3099": "\u309b", "\u309a": "\u309c"})

_FULLWIDTH_ASCII = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_FULLWIDTH_ASCII[0x3000] = 0x20

_HIRA_TO_KATA = {cp: cp + 0x60 for cp in range(0x3041, 0x3097)}
_HIRA_TO_KATA.update({0x309D: 0x30FD, 0x309E: 0x30FE})
_KATA_TO_HIRA = {v: k for k, v in _HIRA_TO_KATA.items()}

# Small kana are often unavailable in bank systems (Zengin half-width kana has no small
# ヮ/ヵ/ヶ, and many legacy records store ｼﾖｳｼﾞ for ショウジ), so comparisons fold them.
_SMALL_TO_LARGE = str.maketrans(
    {
        "ァ": "ア",
        "ィ": "イ",
        "ゥ": "ウ",
        "ェ": "エ",
        "ォ": "オ",
        "ッ": "ツ",
        "ャ": "ヤ",
        "ュ": "ユ",
        "ョ": "ヨ",
        "ヮ": "ワ",
        "ヵ": "カ",
        "ヶ": "ケ",
        "ㇰ": "ク",
        "ㇱ": "シ",
        "ㇲ": "ス",
        "ㇳ": "ト",
        "ㇵ": "ハ",
        "ㇷ": "フ",
        "ㇻ": "ラ",
        "ㇼ": "リ",
        "ㇽ": "ル",
        "ㇾ": "レ",
        "ㇿ": "ロ",
    }
)

# Dash-like characters people and systems put between numbers or use as a long vowel.
DASHES = "\u002d\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2500\u2501\uff0d\ufe63\u30fc\uff70"
_HYPHEN_BETWEEN_DIGITS = re.compile(f"(?<=[0-9])[{DASHES}]+(?=[0-9])")
_LONG_VOWEL_AFTER_KANA = re.compile(f"(?<=[\u30a1-\u30fa\u30fc])[{DASHES}]")
_VARIATION_SELECTORS = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]")
_SPACES = re.compile(r"\s+")
_KANA_SEPARATORS = re.compile("[\\s\u30fb\uff65\u00b7.,、。]+")


def nfkc(text: str) -> str:
    """Unicode NFKC: full-width ASCII to ASCII, half-width kana to full width, ㍼ to 昭和."""
    return unicodedata.normalize("NFKC", text)


def strip_variation_selectors(text: str) -> str:
    """Drop Ideographic Variation Sequence selectors: 辻󠄀 and 辻 are the same name."""
    return _VARIATION_SELECTORS.sub("", text)


def halfwidth_kana_to_fullwidth(text: str) -> str:
    """Half-width katakana to full width, joining dakuten: ｶﾞｯｺｳ -> ガッコウ, ｳﾞ -> ヴ.

    Only the half-width kana block is touched, unlike :func:`nfkc`.
    """

    def _convert(match: re.Match[str]) -> str:
        return nfkc(match.group(0)).translate(_LONE_SOUND_MARKS)

    return _HALFWIDTH_KANA.sub(_convert, text)


def fullwidth_ascii_to_halfwidth(text: str) -> str:
    """Full-width ASCII (Ａ１！) and the ideographic space to their ASCII forms."""
    return text.translate(_FULLWIDTH_ASCII)


def hiragana_to_katakana(text: str) -> str:
    """Hiragana to katakana (やまだ -> ヤマダ); other characters unchanged."""
    return text.translate(_HIRA_TO_KATA)


def katakana_to_hiragana(text: str) -> str:
    """Katakana to hiragana (ヤマダ -> やまだ); ヷ-ヺ and other characters unchanged."""
    return text.translate(_KATA_TO_HIRA)


def collapse_spaces(text: str) -> str:
    """Trim and collapse every run of white space (ideographic space included) to one."""
    return _SPACES.sub(" ", text.replace("\u3000", " ")).strip()


def remove_spaces(text: str) -> str:
    """Remove all white space (ideographic space included)."""
    return _SPACES.sub("", text.replace("\u3000", " "))


def normalize_hyphens(text: str) -> str:
    """Any dash between two ASCII digits becomes ``-`` (1－2ー3 -> 1-2-3)."""
    return _HYPHEN_BETWEEN_DIGITS.sub("-", text)


def _compose(text: str) -> str:
    # NFKC turns a spacing sound mark (゛ U+309B) into a space and the combining mark, so
    # カ゛ becomes "カ", " ", U+3099. Once the spaces are gone the mark stands next to the
    # kana it voices, and NFC joins them (ガ); without this a second pass would change the
    # text again, and ヤマタ゛ would not equal ヤマダ.
    return unicodedata.normalize("NFC", text)


def normalize_name(text: str) -> str:
    """A name written in kanji/kana, in the form used for comparison.

    NFKC, IVS selectors removed, kanji variants folded (髙 -> 高), all spaces removed,
    sound marks joined to their kana (カ゛ -> ガ).
    """
    return _compose(remove_spaces(fold_kanji_variants(strip_variation_selectors(nfkc(text)))))


def normalize_kana(text: str) -> str:
    """A kana reading as full-width katakana without separators.

    Half-width kana are widened, hiragana become katakana, dashes after kana become the
    long vowel mark ``ー`` (Zengin records write ｻﾄ-), spaces and ・ are removed, sound
    marks are joined to their kana (カ゛ -> ガ).
    """
    kana = hiragana_to_katakana(nfkc(text))
    kana = _compose(_KANA_SEPARATORS.sub("", kana))
    return _LONG_VOWEL_AFTER_KANA.sub("ー", kana)


def fold_kana(text: str) -> str:
    """:func:`normalize_kana` plus small kana folded to large (ショウ -> シヨウ)."""
    return normalize_kana(text).translate(_SMALL_TO_LARGE)


# Spellings of one sound that records use interchangeably: ヂ/ジ and ヅ/ズ (四つ仮名),
# the historical ヰ/ヱ/ヲ, and ヴ, which many bank systems cannot store (ヴィ -> ビ).
_PHONETIC = (
    ("ヴァ", "バ"),
    ("ヴィ", "ビ"),
    ("ヴェ", "ベ"),
    ("ヴォ", "ボ"),
    ("ヴ", "ブ"),
    ("ヂ", "ジ"),
    ("ヅ", "ズ"),
    ("ヰ", "イ"),
    ("ヱ", "エ"),
    ("ヲ", "オ"),
)


def fold_kana_phonetic(text: str) -> str:
    """:func:`fold_kana` after merging spellings of one sound (ヂ = ジ, ヴィ = ビ, ヲ = オ)."""
    kana = normalize_kana(text)
    for spelling, common in _PHONETIC:
        kana = kana.replace(spelling, common)
    return kana.translate(_SMALL_TO_LARGE)
