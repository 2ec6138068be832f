"""The renderer's inputs: kube-proxy's internal view of services, endpoints and its node.

These mirror kube-proxy's own internal types rather than the Kubernetes API:
`ServicePortInfo` is one port of one Service as `proxy.BaseServicePortInfo`
holds it (already filtered to this proxier's IP family), `EndpointInfo` is
one endpoint of that port as `proxy.BaseEndpointInfo` holds it, and
`ProxyConfig` is what the Proxier knows about its node and its flags.

Filling them from API objects (the lead's conversion) follows kube-proxy:

- One `ServicePortInfo` per `spec.ports[i]` of a Service whose ClusterIP is set
  (headless services and ExternalName services produce none).
- `external_ips` and `load_balancer_ips` are only the IPv4 ones;
  `load_balancer_ips` come from `status.loadBalancer.ingress[*].ip` of
  type=LoadBalancer services whose `ipMode` is not `Proxy`.
- `external_policy_local` is `spec.externalTrafficPolicy == Local` for a
  service that is externally accessible (NodePort/LoadBalancer type or with
  external IPs); `internal_policy_local` is `spec.internalTrafficPolicy == Local`.
- Endpoints come from the EndpointSlices of the service, one `EndpointInfo`
  per address whose slice has a port with this port's name (and protocol),
  deduplicated on "ip:port". `conditions.ready` unset means ready, `serving`
  unset means "same as ready", `terminating` unset means false. `node_name`
  is `endpoints[*].nodeName`; hints are `hints.forZones[*].name` and
  `hints.forNodes[*].name`.

All classes are frozen and validate on construction; strings given for
addresses are parsed into `ipaddress` objects, lists into tuples.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, ip_address, ip_network

from netsim.kubeproxy.constants import DEFAULT_MASQUERADE_BIT, DEFAULT_STICKY_MAX_AGE_SECONDS
from netsim.kubeproxy.errors import InvalidProxyInput, UnsupportedProxyFeature
from netsim.kubeproxy.names import service_port_name_string


class Protocol(enum.Enum):
    """A service port's L4 protocol; `.lower` is the iptables `-p`/`-m` name."""

    TCP = "TCP"    # -p tcp -m tcp
    UDP = "UDP"    # -p udp -m udp
    SCTP = "SCTP"  # -p sctp -m sctp

    @property
    def lower(self) -> str:
        return self.value.lower()


class SessionAffinity(enum.Enum):
    """spec.sessionAffinity."""

    NONE = "None"           # every new connection picks an endpoint at random
    CLIENT_IP = "ClientIP"  # `-m recent` remembers each client's endpoint for the timeout


class LocalDetectMode(enum.Enum):
    """How kube-proxy tells pod-originated traffic apart (KubeProxyConfiguration.detectLocalMode)."""

    NONE = "None"                                  # no detection: no "not from a pod" masquerade rules
    CLUSTER_CIDR = "ClusterCIDR"                   # `-s <clusterCIDR>` / `! -s <clusterCIDR>`
    NODE_CIDR = "NodeCIDR"                         # `-s <node podCIDR>` / `! -s <node podCIDR>`
    BRIDGE_INTERFACE = "BridgeInterface"           # `-i <bridge>` / `! -i <bridge>`
    INTERFACE_NAME_PREFIX = "InterfaceNamePrefix"  # `-i <prefix>+` / `! -i <prefix>+`


def _fail(what: str, field_name: str, problem: str) -> InvalidProxyInput:
    return InvalidProxyInput(what, field_name, problem)


def _ipv4(value: object, what: str, field_name: str) -> IPv4Address:
    try:
        addr = value if isinstance(value, IPv4Address) else ip_address(str(value).strip())
    except ValueError:
        raise _fail(what, field_name, f"not an IP address: {value!r}") from None
    if not isinstance(addr, IPv4Address):
        raise UnsupportedProxyFeature(f"{what}: {field_name}: IPv6 is not rendered yet, got {value}")
    return addr


def _ipv4_net(value: object, what: str, field_name: str) -> IPv4Network:
    try:
        net = value if isinstance(value, IPv4Network) else ip_network(str(value).strip(), strict=False)
    except ValueError:
        raise _fail(what, field_name, f"not a CIDR: {value!r}") from None
    if not isinstance(net, IPv4Network):
        raise UnsupportedProxyFeature(f"{what}: {field_name}: IPv6 is not rendered yet, got {value}")
    return net


def _port(value: int, what: str, field_name: str, allow_zero: bool) -> None:
    low = 0 if allow_zero else 1
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= 65535:
        raise _fail(what, field_name, f"must be between {low} and 65535, got {value!r}")


@dataclass(frozen=True, slots=True)
class ServicePortInfo:
    """One port of one Service, as kube-proxy's iptables proxier sees it.

    Fields (defaults are the API defaults):
      namespace, name       the Service
      port_name             spec.ports[i].name ("" when the service has a single unnamed port)
      protocol              spec.ports[i].protocol
      cluster_ip            the IPv4 ClusterIP (spec.clusterIPs of this family)
      port                  spec.ports[i].port
      node_port             spec.ports[i].nodePort, 0 when none
      external_ips          spec.externalIPs (IPv4 ones)
      load_balancer_ips     status.loadBalancer.ingress[*].ip (IPv4, type LoadBalancer, ipMode != Proxy)
      load_balancer_source_ranges  spec.loadBalancerSourceRanges (IPv4 CIDRs)
      session_affinity      spec.sessionAffinity
      sticky_max_age_seconds  sessionAffinityConfig.clientIP.timeoutSeconds (default 10800)
      external_policy_local externalTrafficPolicy == Local (ignored unless externally accessible)
      internal_policy_local internalTrafficPolicy == Local
      health_check_node_port spec.healthCheckNodePort, 0 when none
    """

    namespace: str
    name: str
    port_name: str
    protocol: Protocol
    cluster_ip: IPv4Address
    port: int
    node_port: int = 0
    external_ips: tuple[IPv4Address, ...] = ()
    load_balancer_ips: tuple[IPv4Address, ...] = ()
    load_balancer_source_ranges: tuple[IPv4Network, ...] = ()
    session_affinity: SessionAffinity = SessionAffinity.NONE
    sticky_max_age_seconds: int = DEFAULT_STICKY_MAX_AGE_SECONDS
    external_policy_local: bool = False
    internal_policy_local: bool = False
    health_check_node_port: int = 0

    def __post_init__(self) -> None:
        what = f"service port {self.namespace}/{self.name}:{self.port_name}"
        if not self.namespace or not self.name:
            raise _fail(what, "namespace/name", "must not be empty")
        setter = object.__setattr__
        try:
            setter(self, "protocol", Protocol(self.protocol.value if isinstance(self.protocol, Protocol) else self.protocol))
        except ValueError:
            raise _fail(what, "protocol", f"must be TCP, UDP or SCTP, got {self.protocol!r}") from None
        try:
            setter(self, "session_affinity", SessionAffinity(
                self.session_affinity.value if isinstance(self.session_affinity, SessionAffinity) else self.session_affinity))
        except ValueError:
            raise _fail(what, "session_affinity", f"must be None or ClientIP, got {self.session_affinity!r}") from None
        setter(self, "cluster_ip", _ipv4(self.cluster_ip, what, "cluster_ip"))
        setter(self, "external_ips", tuple(_ipv4(a, what, "external_ips") for a in self.external_ips))
        setter(self, "load_balancer_ips", tuple(_ipv4(a, what, "load_balancer_ips") for a in self.load_balancer_ips))
        setter(self, "load_balancer_source_ranges",
               tuple(_ipv4_net(n, what, "load_balancer_source_ranges") for n in self.load_balancer_source_ranges))
        _port(self.port, what, "port", allow_zero=False)
        _port(self.node_port, what, "node_port", allow_zero=True)
        _port(self.health_check_node_port, what, "health_check_node_port", allow_zero=True)
        if not isinstance(self.sticky_max_age_seconds, int) or self.sticky_max_age_seconds <= 0:
            raise _fail(what, "sticky_max_age_seconds", f"must be a positive integer, got {self.sticky_max_age_seconds!r}")

    @property
    def name_string(self) -> str:
        """`ns/name:port`: the key of this port's endpoints and the stem of every comment."""
        return service_port_name_string(self.namespace, self.name, self.port_name)

    @property
    def service_name(self) -> str:
        """`ns/name`."""
        return f"{self.namespace}/{self.name}"

    # The predicates below mirror proxy.BaseServicePortInfo's methods of the same names.

    def externally_accessible(self) -> bool:
        """NodePort, external IPs or LB IPs: traffic may arrive from outside (ExternallyAccessible)."""
        return self.node_port != 0 or bool(self.load_balancer_ips) or bool(self.external_ips)

    def external_policy_is_local(self) -> bool:
        """externalTrafficPolicy Local, effective only for externally accessible ports (ExternalPolicyLocal)."""
        return self.external_policy_local and self.externally_accessible()

    def internal_policy_is_local(self) -> bool:
        """internalTrafficPolicy Local (InternalPolicyLocal)."""
        return self.internal_policy_local

    def uses_cluster_endpoints(self) -> bool:
        """Cluster-policy endpoints are needed: internal Cluster policy, or any external access
        (short-circuiting of pod/host traffic to external destinations uses them) (UsesClusterEndpoints)."""
        return not self.internal_policy_local or self.externally_accessible()

    def uses_local_endpoints(self) -> bool:
        """Local-policy endpoints are needed (UsesLocalEndpoints)."""
        return self.internal_policy_local or self.external_policy_is_local()


@dataclass(frozen=True, slots=True)
class EndpointInfo:
    """One endpoint (address + target port) of one service port.

    Fields:
      ip           the endpoint address
      port         the endpoint's port for this service port
      ready        conditions.ready (unset in the API means True)
      serving      conditions.serving (None: same as `ready`)
      terminating  conditions.terminating (unset means False)
      node_name    the node the endpoint runs on (None when unknown: never local)
      zone_hints   hints.forZones names
      node_hints   hints.forNodes names
    """

    ip: IPv4Address
    port: int
    ready: bool = True
    serving: bool | None = None
    terminating: bool = False
    node_name: str | None = None
    zone_hints: frozenset[str] = frozenset()
    node_hints: frozenset[str] = frozenset()
    #: "ip:port", as BaseEndpointInfo.String(): the SEP hash input, DNAT target and sort key
    endpoint: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        what = f"endpoint {self.ip}:{self.port}"
        object.__setattr__(self, "ip", _ipv4(self.ip, what, "ip"))
        _port(self.port, what, "port", allow_zero=False)
        object.__setattr__(self, "endpoint", f"{self.ip}:{self.port}")
        if self.serving is None:
            object.__setattr__(self, "serving", self.ready)
        object.__setattr__(self, "zone_hints", frozenset(self.zone_hints))
        object.__setattr__(self, "node_hints", frozenset(self.node_hints))

    def is_local(self, node_name: str) -> bool:
        """Whether this endpoint runs on `node_name` (BaseEndpointInfo.IsLocal)."""
        return self.node_name is not None and self.node_name == node_name


@dataclass(frozen=True, slots=True)
class LocalDetector:
    """detectLocalMode plus its parameter (proxyutil.LocalTrafficDetector).

    `value` is a CIDR for CLUSTER_CIDR/NODE_CIDR, an interface name for
    BRIDGE_INTERFACE, an interface name prefix for INTERFACE_NAME_PREFIX, and
    unused for NONE.
    """

    mode: LocalDetectMode = LocalDetectMode.NONE
    value: str = ""

    def __post_init__(self) -> None:
        mode = LocalDetectMode(self.mode.value if isinstance(self.mode, LocalDetectMode) else self.mode)
        object.__setattr__(self, "mode", mode)
        if mode in (LocalDetectMode.CLUSTER_CIDR, LocalDetectMode.NODE_CIDR):
            net = _ipv4_net(self.value, "local detector", "value")
            object.__setattr__(self, "value", net.with_prefixlen)
        elif mode is not LocalDetectMode.NONE and not self.value:
            raise _fail("local detector", "value", f"{mode.value} needs an interface name")

    @classmethod
    def cluster_cidr(cls, cidr: str) -> LocalDetector:
        return cls(LocalDetectMode.CLUSTER_CIDR, cidr)

    def is_implemented(self) -> bool:
        return self.mode is not LocalDetectMode.NONE

    def if_local(self) -> tuple[str, ...]:
        """Match arguments selecting pod-originated traffic (IfLocal)."""
        return self._args(negate=False)

    def if_not_local(self) -> tuple[str, ...]:
        """Match arguments selecting traffic not from a pod (IfNotLocal)."""
        return self._args(negate=True)

    def _args(self, negate: bool) -> tuple[str, ...]:
        neg = ("!",) if negate else ()
        match self.mode:
            case LocalDetectMode.CLUSTER_CIDR | LocalDetectMode.NODE_CIDR:
                return (*neg, "-s", self.value)
            case LocalDetectMode.BRIDGE_INTERFACE:
                return (*neg, "-i", self.value)
            case LocalDetectMode.INTERFACE_NAME_PREFIX:
                return (*neg, "-i", self.value + "+")
        return ()


@dataclass(frozen=True, slots=True)
class ProxyConfig:
    """What one node's kube-proxy knows about itself: identity, flags and kernel capabilities.

    Fields (defaults are kube-proxy's defaults on a current Linux node):
      node_name             the Node's name (endpoints with this nodeName are local)
      node_ip               the node's primary IPv4 (loadBalancerSourceRanges "allow from node" check)
      node_addresses        every IPv4 address on the node's interfaces (incl. 127.0.0.1); only
                            used to resolve `node_port_addresses`
      zone                  the node's topology.kubernetes.io/zone label ("" when unlabelled)
      local_detector        detectLocalMode and its CIDR / interface
      masquerade_all        --masquerade-all: SNAT every ClusterIP connection
      masquerade_bit        --iptables-masquerade-bit (14 → mark 0x4000)
      localhost_node_ports  --iptables-localhost-nodeports (NodePorts answer on 127.0.0.0/8)
      node_port_addresses   --nodeport-addresses CIDRs; empty means all local addresses (for
                            the `primary` keyword pass the node IP as a /32)
      conntrack_tcp_be_liberal  net.netfilter.nf_conntrack_tcp_be_liberal is set (no INVALID drop rule)
      nfacct                the kernel has nfacct, so kube-proxy adds its counter matches (the
                            counters must exist before such rules load: `nfacct add <name>`)
      random_fully          iptables supports MASQUERADE --random-fully (1.6.2+)
      canary_chains         show the empty KUBE-PROXY-CANARY chains utiliptables.Monitor creates
      kubelet_firewall      kubelet's own iptables setup ran first (true on real nodes): its
                            KUBE-FIREWALL jumps precede kube-proxy's in INPUT/OUTPUT and the chain
                            holds the localnet rule even when localhost NodePorts are off
      prefer_same_traffic_distribution  the PreferSameTrafficDistribution feature gate (node hints)
      masquerade_mark_text  how the mark is spelled in the rules; None (a real kube-proxy) is Go's
                            `%#08x` of the mark (`0x00004000`); kube-proxy's NewFakeProxier uses "0x4000"
    """

    node_name: str
    node_ip: IPv4Address | None = None
    node_addresses: tuple[IPv4Address, ...] = ()
    zone: str = ""
    local_detector: LocalDetector = field(default_factory=LocalDetector)
    masquerade_all: bool = False
    masquerade_bit: int = DEFAULT_MASQUERADE_BIT
    localhost_node_ports: bool = True
    node_port_addresses: tuple[IPv4Network, ...] = ()
    conntrack_tcp_be_liberal: bool = False
    nfacct: bool = False
    random_fully: bool = True
    canary_chains: bool = True
    kubelet_firewall: bool = True
    prefer_same_traffic_distribution: bool = True
    masquerade_mark_text: str | None = None

    def __post_init__(self) -> None:
        what = f"proxy config of node {self.node_name!r}"
        if not self.node_name:
            raise _fail(what, "node_name", "must not be empty")
        if self.node_ip is not None:
            object.__setattr__(self, "node_ip", _ipv4(self.node_ip, what, "node_ip"))
        object.__setattr__(self, "node_addresses", tuple(_ipv4(a, what, "node_addresses") for a in self.node_addresses))
        object.__setattr__(self, "node_port_addresses",
                           tuple(_ipv4_net(n, what, "node_port_addresses") for n in _as_iterable(self.node_port_addresses)))
        if not isinstance(self.masquerade_bit, int) or not 0 <= self.masquerade_bit <= 31:
            raise _fail(what, "masquerade_bit", f"must be between 0 and 31, got {self.masquerade_bit!r}")

    @property
    def masquerade_mark(self) -> int:
        """The mark value (and mask) kube-proxy sets on traffic to SNAT: 1 << masquerade_bit."""
        return 1 << self.masquerade_bit

    @property
    def mark_text(self) -> str:
        """The mark as kube-proxy writes it (proxier.go: `fmt.Sprintf("%#08x", masqueradeValue)`)."""
        if self.masquerade_mark_text is not None:
            return self.masquerade_mark_text
        return f"0x{self.masquerade_mark:08x}"  # Go pads the digits to 8; the 0x is not counted

    def node_ports_match_all(self) -> bool:
        """No --nodeport-addresses restriction (NodePortAddresses.MatchAll)."""
        return not self.node_port_addresses or any(n.prefixlen == 0 for n in self.node_port_addresses)

    def effective_localhost_node_ports(self) -> bool:
        """localhost NodePorts stay on only if --nodeport-addresses includes 127.0.0.1 (NewProxier)."""
        loopback = IPv4Address("127.0.0.1")
        contains_loopback = self.node_ports_match_all() or any(loopback in n for n in self.node_port_addresses)
        return self.localhost_node_ports and contains_loopback

    def node_port_ips(self) -> tuple[IPv4Address, ...]:
        """Node addresses NodePorts answer on when restricted (NodePortAddresses.GetNodeIPs), sorted."""
        return tuple(sorted({a for a in self.node_addresses if any(a in n for n in self.node_port_addresses)}))


def _as_iterable(value: object) -> Iterable[object]:
    if isinstance(value, (str, IPv4Network)):
        return (value,)
    return value  # type: ignore[return-value]
