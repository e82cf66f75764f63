"""eKYC verification sessions: methods jp_ho, jp_he and icao_chip (see docs/verifications.md)."""
