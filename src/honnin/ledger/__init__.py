"""Shared verification history: an RFC 9162 transparency log per deployment.

C2SP signed-note checkpoints, tlog-tiles serving, tlog-witness cosigning of peers and
privacy-preserving verification look-ups answered with offline-verifiable bundles.
"""
