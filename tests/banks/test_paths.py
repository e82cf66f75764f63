"""JSON paths of the mapping language: list indexes are ASCII digits only."""

from __future__ import annotations

import pytest

from honnin.banks.paths import parse_json_path

DOCUMENT = {"names": ["Yamada", "Sato"], "²": "superscript key"}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/names/1", "Sato"),
        ("names.0", "Yamada"),
        ("/names/2", None),
        # str.isdigit() takes these, int() does not (or not from such a long string).
        ("/names/²", None),
        ("/names/٣", None),
        ("/names/" + "1" * 5000, None),
        ("/²", "superscript key"),
    ],
)
def test_list_indexes_are_ascii_digits(path: str, expected: object) -> None:
    assert parse_json_path(path, where="test").select(DOCUMENT) == expected
