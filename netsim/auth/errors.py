"""Errors of the auth layer."""

from __future__ import annotations

from netsim.errors import InputError, NetsimError


class AuthError(NetsimError):
    """Root of the auth layer's errors."""


class InvalidObject(AuthError, InputError):
    """An RBAC or certificates object the API server would refuse (its message, word for word)."""

    def __init__(self, kind: str, name: str, field: str, problem: str) -> None:
        super().__init__(f'{kind} "{name}" is invalid: {field}: {problem}')
        self.kind = kind
        self.name = name
        self.field = field
        self.problem = problem


class CertificateError(AuthError, InputError):
    """A CertificateSigningRequest cannot be approved, denied or signed as asked."""
