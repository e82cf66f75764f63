"""Kana to Latin letters, for comparing kana with passport / MRZ names (pure).

Modified Hepburn romanisation, and the passport form of it that Japan's Ministry of
Foreign Affairs prescribes (Passport Act Enforcement Regulations, Art. 5 and its
Appendix table): long vowels are not written (サトウ -> SATO, オオノ -> ONO, ユウコ ->
YUKO), ン before B/M/P is M (ホンマ -> HOMMA), ッ doubles the next consonant (ッチ -> TCH),
and on request OH may mark a long O (SATOH). ICAO 9303 MRZ names carry only A-Z.

A kana reading has several acceptable spellings, so :func:`romaji_variants` returns all
of them; a Latin name matches when its letters (``latin_key``) are one of them.
"""

from __future__ import annotations

import re

from honnin.matching.text import nfkc, normalize_kana

__all__ = ["latin_key", "looks_latin", "romaji_variants"]

_DIGRAPHS = {
    "キャ": "kya", "キュ": "kyu", "キョ": "kyo",
    "シャ": "sha", "シュ": "shu", "ショ": "sho", "シェ": "she",
    "チャ": "cha", "チュ": "chu", "チョ": "cho", "チェ": "che",
    "ニャ": "nya", "ニュ": "nyu", "ニョ": "nyo",
    "ヒャ": "hya", "ヒュ": "hyu", "ヒョ": "hyo",
    "ミャ": "mya", "ミュ": "myu", "ミョ": "myo",
    "リャ": "rya", "リュ": "ryu", "リョ": "ryo",
    "ギャ": "gya", "ギュ": "gyu", "ギョ": "gyo",
    "ジャ": "ja", "ジュ": "ju", "ジョ": "jo", "ジェ": "je",
    "ヂャ": "ja", "ヂュ": "ju", "ヂョ": "jo",
    "ビャ": "bya", "ビュ": "byu", "ビョ": "byo",
    "ピャ": "pya", "ピュ": "pyu", "ピョ": "pyo",
    "ファ": "fa", "フィ": "fi", "フェ": "fe", "フォ": "fo",
    "ティ": "ti", "ディ": "di", "トゥ": "tu", "ドゥ": "du",
    "ウィ": "wi", "ウェ": "we", "ウォ": "wo",
    "ヴァ": "va", "ヴィ": "vi", "ヴェ": "ve", "ヴォ": "vo",
}  # fmt: skip
_MONOGRAPHS = dict(
    zip(
        "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨ"
        "ラリルレロワヰヱヲンガギグゲゴザジズゼゾダヂヅデドバビブベボパピプペポヴァィゥェォャュョヮ",
        [
            "a", "i", "u", "e", "o", "ka", "ki", "ku", "ke", "ko", "sa", "shi", "su", "se",
            "so", "ta", "chi", "tsu", "te", "to", "na", "ni", "nu", "ne", "no", "ha", "hi",
            "fu", "he", "ho", "ma", "mi", "mu", "me", "mo", "ya", "yu", "yo", "ra", "ri",
            "ru", "re", "ro", "wa", "i", "e", "o", "n", "ga", "gi", "gu", "ge", "go", "za",
            "ji", "zu", "ze", "zo", "da", "ji", "zu", "de", "do", "ba", "bi", "bu", "be",
            "bo", "pa", "pi", "pu", "pe", "po", "vu", "a", "i", "u", "e", "o", "ya", "yu",
            "yo", "wa",
        ],
        strict=True,
    )
)  # fmt: skip


def _syllables(kana: str) -> list[str] | None:
    """Hepburn syllables with ッ and ー kept as markers; None if a character is not kana."""
    out: list[str] = []
    index = 0
    while index < len(kana):
        pair = kana[index : index + 2]
        if pair in _DIGRAPHS:
            out.append(_DIGRAPHS[pair])
            index += 2
            continue
        char = kana[index]
        if char in ("ッ", "ー"):
            out.append(char)
        elif char in _MONOGRAPHS:
            out.append(_MONOGRAPHS[char])
        else:
            return None
        index += 1
    return out


def _hepburn(syllables: list[str], *, long_marks: str) -> str:
    """Join syllables; ``long_marks`` is how ー is written: "" (dropped) or "repeat"."""
    text = ""
    pending_sokuon = False
    for syllable in syllables:
        if syllable == "ッ":
            pending_sokuon = True
            continue
        if syllable == "ー":
            if long_marks == "repeat" and text and text[-1] in "aeiou":
                text += text[-1]
            continue
        if pending_sokuon:
            text += "t" if syllable.startswith("ch") else syllable[0]
            pending_sokuon = False
        text += syllable
    return text


def _passport(text: str, *, oh: bool) -> str:
    text = re.sub(r"n(?=[bmp])", "m", text)
    # Long vowels are not written (oo/ou -> o, uu -> u), or, on request, a long O as OH.
    return re.sub(r"o[ou]", "oh" if oh else "o", re.sub(r"uu", "u", text))


def romaji_variants(kana: str) -> frozenset[str]:
    """Upper-case A-Z spellings a kana reading may take; empty if it is not pure kana."""
    normalized = normalize_kana(kana)
    syllables = _syllables(normalized)
    if not syllables:
        return frozenset()
    spellings: set[str] = set()
    for long_marks in ("", "repeat"):
        text = _hepburn(syllables, long_marks=long_marks)
        spellings.update((text, _passport(text, oh=False), _passport(text, oh=True)))
    return frozenset(s.upper() for s in spellings)


def latin_key(text: str) -> str:
    """The letters of a Latin name, upper case (MRZ filler ``<`` and spaces dropped)."""
    return re.sub(r"[^A-Z]", "", nfkc(text).upper())


def looks_latin(text: str) -> bool:
    """True when the name is written in Latin letters only (spaces, -, ', < allowed)."""
    value = nfkc(text).strip()
    return bool(value) and bool(re.fullmatch(r"[A-Za-z][A-Za-z \-'.<]*", value))
