"""Bank connector: per-bank profiles, declarative mappings to OIDC4IDA ``verified_claims``."""
