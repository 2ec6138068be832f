"""The dataplane: generic hosts, interfaces, routes, neighbours and the walk of a packet through them.

Knows nothing of Kubernetes. Build a `Network`, add `Host`s, link them with
veth pairs and segments, give them addresses and routes, bind applications,
then `send` or `inject` packets and read the `WalkResult`. README.md has the
packet path.
"""

from netsim.dataplane.apps import App, EchoApp, SinkApp
from netsim.dataplane.errors import DataplaneError
from netsim.dataplane.host import Host
from netsim.dataplane.interfaces import Interface, InterfaceKind, mac_address
from netsim.dataplane.network import Network
from netsim.dataplane.passthrough import AcceptAll
from netsim.dataplane.routing import Route, RouteScope, RouteType, RoutingTable
from netsim.dataplane.sink import CaptureSink, ListSink
from netsim.dataplane.trace import Disposition, Outcome, Step, StepKind, WalkResult

__all__ = [
    "AcceptAll", "App", "CaptureSink", "DataplaneError", "Disposition", "EchoApp", "Host", "Interface",
    "InterfaceKind", "ListSink", "Network", "Outcome", "Route", "RouteScope", "RouteType", "RoutingTable",
    "SinkApp", "Step", "StepKind", "WalkResult", "mac_address",
]
