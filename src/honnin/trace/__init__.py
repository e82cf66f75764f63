"""Traceability: distribution events, their queries and exports, the operator console and
user receipts. ``honnin.trace.service`` documents the recording API other packages call."""
