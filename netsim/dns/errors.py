"""Errors of the dns layer: a bad Corefile, a directive netsim does not emulate, bad bytes."""

from __future__ import annotations

from netsim.errors import InputError, NetsimError, NotImplementedFeature


class DnsError(NetsimError):
    """Root of the dns layer's errors."""


class CorefileError(DnsError, InputError):
    """The Corefile (kube-system/coredns ConfigMap) cannot be read; the message names the line."""


class UnsupportedDirective(DnsError, NotImplementedFeature):
    """The Corefile uses a plugin or option netsim does not emulate; the message names it."""


class BadMessage(DnsError):
    """Bytes that are not a DNS message netsim can decode."""


class ResolvConfError(DnsError, InputError):
    """A resolv.conf netsim cannot read (a node's, from the topology)."""
