"""Japanese identity-data normalisation and field-by-field comparison (pure).

Used by the bank inquiry broker (bank record vs. what the applicant told the enterprise)
and by the document eKYC check (card data vs. applicant data). Nothing here does I/O.
"""
