"""Errors of the contract table."""

from __future__ import annotations

from honnin.errors import HonninError


class ContractsError(HonninError):
    code = "contracts_error"
    status = 400


class EnterpriseNotFoundError(ContractsError):
    code = "enterprise_not_found"
    status = 404


class BankNotFoundError(ContractsError):
    code = "bank_not_found"
    status = 404


class ContractNotFoundError(ContractsError):
    code = "contract_not_found"
    status = 404


class DuplicateBankError(ContractsError):
    code = "bank_exists"
    status = 409


class InvalidContractError(ContractsError):
    code = "invalid_contract"
    status = 422


class NoActiveContractError(ContractsError):
    """The enterprise has no contract in force allowing this request."""

    code = "no_active_contract"
    status = 403


class ClaimsNotAllowedError(ContractsError):
    code = "claims_not_allowed"
    status = 403


class PurposeNotAllowedError(ContractsError):
    code = "purpose_not_allowed"
    status = 403
