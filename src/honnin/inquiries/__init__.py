"""The bank-inquiry use case: create -> consent at the bank -> fetch -> normalise -> match
-> deliver (result API and signed webhook)."""
