"""Japanese identity-data normalisation and field-by-field comparison (pure).

Used by the bank inquiry broker (bank record vs. what the applicant told the enterprise)
and by the document eKYC check (card or chip data vs. applicant data). Nothing here does
I/O. Entry points: :func:`match_applicant` (applicant dict vs. OIDC4IDA
``verified_claims``) and :func:`compare_people` (two :class:`PersonData`); the
normalisers live in :mod:`.text`, :mod:`.variants`, :mod:`.dates`, :mod:`.address`,
:mod:`.romaji`. The comparison rules are documented in docs/bank-mappings.md#matching.
"""

from honnin.matching.claims import match_applicant, person_from_applicant, person_from_claims
from honnin.matching.compare import (
    AddressData,
    FieldResult,
    MatchReport,
    Outcome,
    PersonData,
    compare_people,
)

__all__ = [
    "AddressData",
    "FieldResult",
    "MatchReport",
    "Outcome",
    "PersonData",
    "compare_people",
    "match_applicant",
    "person_from_applicant",
    "person_from_claims",
]
