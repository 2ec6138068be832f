"""Errors of the kubeproxy layer.

The renderer raises only for bad input (a model object that cannot exist in a
real cluster, or a configuration kube-proxy would refuse); every network
outcome (no endpoints, a firewall drop) is rules, never an exception.
"""

from __future__ import annotations

from netsim.errors import InputError, NetsimError, NotImplementedFeature


class KubeProxyError(NetsimError):
    """Root of the kubeproxy layer's errors."""


class InvalidProxyInput(KubeProxyError, InputError):
    """A service port, endpoint or proxy configuration value is invalid; `field` names it."""

    def __init__(self, what: str, field: str, problem: str) -> None:
        self.what = what
        self.field = field
        self.problem = problem
        super().__init__(f"{what}: {field}: {problem}")


class UnsupportedProxyFeature(KubeProxyError, NotImplementedFeature):
    """The input asks for kube-proxy behaviour netsim does not render yet (e.g. IPv6)."""
