"""Kanji variant folding for name and address comparison (pure).

Japanese family registers keep traditional and variant forms (異体字) of many kanji, while
forms, banks and OCR often return the common form. Comparison folds each variant to one
representative. The table is deliberately conservative: it lists only pairs that Japanese
identity verification practice treats as the same name (JIS X 0213 / 戸籍統一文字 variant
groups for frequent surname characters, and the 旧字体 -> 新字体 pairs of the 常用漢字表).

Some groups join characters that are distinct words elsewhere (斎 and 斉); a fold is
reported as the comparison method ``kanji_variant`` so the caller can see it happened.

CJK compatibility ideographs with a canonical decomposition (e.g. U+F9DC) are already
unified by NFKC; the twelve "unified" ideographs in that block (﨑 U+FA11, 﨔, 﨤 ...) have
none and are listed here.
"""

from __future__ import annotations

__all__ = ["KANJI_VARIANT_GROUPS", "fold_kanji_variants", "variant_table"]

# Representative first, then the variants folded into it.
KANJI_VARIANT_GROUPS: tuple[tuple[str, str], ...] = (
    ("高", "髙"),
    ("崎", "\ufa11嵜碕"),
    ("辺", "邊邉"),
    ("沢", "澤"),
    ("斎", "齋齊斉"),
    ("浜", "濱濵"),
    ("広", "廣"),
    ("国", "國圀"),
    ("島", "嶋嶌"),
    ("桜", "櫻"),
    ("蔵", "藏"),
    ("徳", "德"),
    ("恵", "惠"),
    ("栄", "榮"),
    ("真", "眞"),
    ("実", "實"),
    ("寿", "壽"),
    ("竜", "龍"),
    ("滝", "瀧"),
    ("村", "邨"),
    ("富", "冨"),
    ("館", "舘"),
    ("槙", "槇"),
    ("条", "條"),
    ("荘", "莊"),
    ("万", "萬"),
    ("与", "與"),
    ("来", "來"),
    ("礼", "禮"),
    ("聡", "聰"),
    ("壮", "壯"),
    ("学", "學"),
    ("会", "會"),
    ("関", "關"),
    ("浅", "淺"),
    ("黒", "黑"),
    ("青", "靑"),
    ("増", "增"),
    ("瀬", "瀨"),
    ("戸", "戶"),
    ("吉", "𠮷"),
    ("県", "縣"),
    ("円", "圓"),
    ("恒", "恆"),
    ("亀", "龜"),
    ("鉄", "鐵"),
    ("芸", "藝"),
    ("豊", "豐"),
    ("仏", "佛"),
    ("伝", "傳"),
    ("児", "兒"),
    ("巌", "巖"),
    ("晃", "晄"),
    ("凛", "凜"),
    ("穂", "穗"),
    ("経", "經"),
    ("縄", "繩"),
    ("蛍", "螢"),
    ("讃", "讚"),
    ("郷", "鄕"),
    ("野", "埜"),
    ("峰", "峯"),
    ("曽", "曾"),
    ("尭", "堯"),
    ("遥", "遙"),
    ("黄", "黃"),
    ("渋", "澁"),
    ("弥", "彌"),
    ("桧", "檜"),
    ("薮", "藪"),
)


def variant_table() -> dict[str, str]:
    """The folding table: each variant character mapped to its representative."""
    table: dict[str, str] = {}
    for representative, variants in KANJI_VARIANT_GROUPS:
        for variant in variants:
            if variant != representative:
                table[variant] = representative
    return table


_TABLE = str.maketrans(variant_table())


def fold_kanji_variants(text: str) -> str:
    """Replace every listed variant kanji by its representative (髙橋 -> 高橋)."""
    return text.translate(_TABLE)
