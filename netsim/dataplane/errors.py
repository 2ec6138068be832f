"""Errors of the dataplane layer: bad configuration of hosts, interfaces, links and routes.

Only configuration mistakes raise. What happens to a packet (dropped, no
route, TTL exceeded, ...) is an outcome in a `WalkResult`, never an exception.
Messages name the host and the bad value; the parts stay attributes.
"""

from __future__ import annotations

from netsim.errors import InputError, NetsimError


class DataplaneError(NetsimError):
    """Root of the dataplane layer's errors."""


class ConfigError(DataplaneError, InputError):
    """A host, interface, link or route is configured wrongly; `host` names where."""

    def __init__(self, host: str, problem: str) -> None:
        self.host = host
        self.problem = problem
        super().__init__(f"host {host}: {problem}" if host else problem)


class DuplicateHost(ConfigError):
    """A network already has a host of that name."""


class UnknownHost(ConfigError):
    """No host of that name in the network."""


class DuplicateInterface(ConfigError):
    """The host already has an interface of that name."""


class UnknownInterface(ConfigError):
    """The host has no interface of that name."""


class InterfaceKindError(ConfigError):
    """The operation needs another kind of interface (e.g. enslaving to a non-bridge)."""


class AddressError(ConfigError):
    """An address is invalid for this interface or already present."""


class RouteExists(ConfigError):
    """`RTNETLINK answers: File exists`: same destination, table and metric."""


class NoSuchRoute(ConfigError):
    """`RTNETLINK answers: No such process`: deleting a route that is not there."""


class GatewayUnreachable(ConfigError):
    """`Error: Nexthop has invalid gateway.`: the gateway is not on a directly connected network."""


class LinkError(ConfigError):
    """Two interfaces cannot be linked that way (already linked, wrong kind)."""


class DuplicateBinding(ConfigError):
    """An application is already bound to that protocol, address and port."""
