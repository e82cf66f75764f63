"""Kanji variant table: shape and folding."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from honnin.matching.variants import KANJI_VARIANT_GROUPS, fold_kanji_variants, variant_table


def test_brief_pairs_fold_together() -> None:
    for a, b in [
        ("髙", "高"),
        ("﨑", "崎"),
        ("邊", "辺"),
        ("邉", "辺"),
        ("澤", "沢"),
        ("濱", "浜"),
    ]:
        assert fold_kanji_variants(a) == fold_kanji_variants(b)
    assert len({fold_kanji_variants(c) for c in "齋齊斎斉"}) == 1
    assert fold_kanji_variants("廣國") == "広国"
    assert fold_kanji_variants("髙橋 渡邉") == "高橋 渡辺"


def test_table_is_a_function_onto_representatives() -> None:
    table = variant_table()
    representatives = {rep for rep, _ in KANJI_VARIANT_GROUPS}
    # A representative is never itself folded, so one pass is enough (idempotence).
    assert not representatives & set(table)
    assert set(table.values()) <= representatives
    variants = [v for _, group in KANJI_VARIANT_GROUPS for v in group]
    assert len(variants) == len(set(variants)), "a variant listed in two groups"


def test_every_entry_survives_nfkc() -> None:
    # Folding runs after NFKC; an entry NFKC rewrites would never be seen.
    for variant in variant_table():
        assert unicodedata.normalize("NFKC", variant) == variant


@given(st.text(alphabet=st.sampled_from("".join(variant_table()) + "高崎辺山田あア1 ")))
def test_folding_is_idempotent(text: str) -> None:
    once = fold_kanji_variants(text)
    assert fold_kanji_variants(once) == once
    assert not set(once) & set(variant_table())
