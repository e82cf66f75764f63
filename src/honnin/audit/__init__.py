"""Audit trail: who changed what, when — one row per operator change, in its transaction."""
