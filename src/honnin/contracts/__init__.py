"""Contracts: enterprises, banks, and the M:N contracts saying who may ask whom for what."""
