"""Errors of the api layer: invalid objects, and the API server's refusals.

A message names the place and the bad value, and the parts stay attributes:
`cluster/web.yaml: document 3 (Service default/web): spec.ports[0].port:
must be between 1 and 65535, got 70000`.
"""

from __future__ import annotations

from netsim.errors import InputError, NetsimError


class ApiError(NetsimError):
    """Root of the api layer's errors."""


class FieldError(ApiError, InputError):
    """One field's value is wrong; `field` is its path (`spec.ports[0].port`), may be empty.

    Low-level parsers (quantities, selectors) raise it with the problem only;
    the loader adds the field path and the place with `InvalidObject.at`.
    """

    def __init__(self, problem: str, field: str = "") -> None:
        self.problem = problem
        self.field = field
        super().__init__(f"{field}: {problem}" if field else problem)

    def under(self, prefix: str) -> FieldError:
        """The same error with `prefix` put in front of its field path."""
        if not prefix:
            return self
        if not self.field:
            return FieldError(self.problem, prefix)
        joiner = "" if self.field.startswith("[") else "."
        return FieldError(self.problem, f"{prefix}{joiner}{self.field}")


class InvalidObject(ApiError, InputError):
    """An object in the input is invalid: where it is, which object, which field, what is wrong."""

    def __init__(self, source: str, document: int | None, ref: str, field: str, problem: str) -> None:
        self.source = source
        self.document = document
        self.ref = ref
        self.field = field
        self.problem = problem
        where = source
        if document is not None:
            where += f": document {document}"
        if ref:
            where += f" ({ref})"
        super().__init__(f"{where}: {field}: {problem}" if field else f"{where}: {problem}")


class YamlSyntaxError(ApiError, InputError):
    """A file is not valid YAML; the message has the line and column."""


class NotFound(ApiError):
    """The API server has no such object (`kind "name" not found`)."""


class AlreadyExists(ApiError):
    """An object with that kind, namespace and name already exists."""


class Conflict(ApiError):
    """An update carried a stale resourceVersion."""


class Forbidden(ApiError):
    """The API server refuses the request (e.g. a namespace that is terminating)."""
