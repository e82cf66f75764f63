"""Wire shapes of the ``/ledger`` JSON endpoints (proofs). Hashes are standard base64."""

from __future__ import annotations

from pydantic import BaseModel


class InclusionProofOut(BaseModel):
    index: int
    size: int
    leaf_hash: str
    root_hash: str
    proof: list[str]


class ConsistencyProofOut(BaseModel):
    size1: int
    size2: int
    root1: str
    root2: str
    proof: list[str]
