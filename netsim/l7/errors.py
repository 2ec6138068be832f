"""The l7 layer's errors."""

from __future__ import annotations

from netsim.errors import NetsimError


class L7Error(NetsimError):
    """Bad L7 input: an HTTP message or URL netsim cannot read, or an Ingress/Gateway object it cannot use."""


class HttpParseError(L7Error):
    """Bytes that are not an HTTP/1.x message."""
