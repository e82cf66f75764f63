"""Sandbox: stand-ins for the outside world (banks, document issuers) run for real."""
