"""Honnin: an open-source identity-confirmation (eKYC) platform."""

__version__ = "0.1.0"
