"""C2SP tlog-checkpoint bodies."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from honnin.ledger import checkpoint
from honnin.ledger.errors import CheckpointError

SPEC_TEXT = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"


def test_spec_example_round_trips() -> None:
    cp = checkpoint.parse(SPEC_TEXT)
    assert cp.origin == "example.com/behind-the-sofa"
    assert cp.size == 20852163
    assert len(cp.root_hash) == 32
    assert cp.text == SPEC_TEXT
    with_ext = checkpoint.parse(SPEC_TEXT + "ext line\n")
    assert with_ext.extensions == ("ext line",)
    assert with_ext.text == SPEC_TEXT + "ext line\n"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "origin\n1\n",
        "origin\n01\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "origin\n-1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "origin\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n",
        "origin\n1\nAAAA\n",
        "origin\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n",
        "\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "origin\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",
        "origin\n１\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
    ],
)
def test_malformed_checkpoints(bad: str) -> None:
    with pytest.raises(CheckpointError):
        checkpoint.parse(bad)


@given(st.text(max_size=200))
def test_parser_raises_only_checkpoint_errors(text: str) -> None:
    try:
        cp = checkpoint.parse(text)
    except CheckpointError:
        return
    assert cp.text == text
