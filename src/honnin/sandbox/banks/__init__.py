"""Sandbox banks: three real OAuth 2.0 / OpenID Connect servers with different formats.

``sakura_oidc`` (OIDC4IDA ``verified_claims``, PAR + PKCE + ``private_key_jwt``),
``momiji_rest`` (flat REST JSON, ``client_secret_basic``) and ``kaede_xml`` (XML with
wareki dates and full-width digits). See docs/sandbox-banks.md.
"""

from honnin.sandbox.banks.agent import UserAgent
from honnin.sandbox.banks.clients import ClientRegistration, hash_client_secret
from honnin.sandbox.banks.customers import CUSTOMERS, SANDBOX_PASSWORD, Customer, find_customer
from honnin.sandbox.banks.faults import Fault
from honnin.sandbox.banks.profiles import BANK_IDS, PROFILES, BankProfile
from honnin.sandbox.banks.runner import SandboxBanks
from honnin.sandbox.banks.server import SandboxBank
from honnin.sandbox.banks.user import (
    AutomatedUserError,
    complete_authorization,
    complete_authorization_sync,
)

__all__ = [
    "BANK_IDS",
    "CUSTOMERS",
    "PROFILES",
    "SANDBOX_PASSWORD",
    "AutomatedUserError",
    "BankProfile",
    "ClientRegistration",
    "Customer",
    "Fault",
    "SandboxBank",
    "SandboxBanks",
    "UserAgent",
    "complete_authorization",
    "complete_authorization_sync",
    "find_customer",
    "hash_client_secret",
]
