"""The cluster topology: a kind `Cluster` config plus netsim's own fields, as frozen values.

Contract:

- `load_topology(path)` reads one YAML document (yaml.safe_load only) in kind's
  format (apiVersion kind.x-k8s.io/v1alpha4, kind Cluster), applies kind's defaults
  (pkg/apis/config/v1alpha4/default.go) and netsim's, validates everything, and
  returns a `Topology`, or raises `InvalidObject` with a one-line message naming the
  file and the field (`topologies/x.yaml (Cluster kind): nodes[1].role: ...`).
- Every kind field is accepted; the ones that change nothing netsim emulates
  (images, mounts, port mappings, patches) are accepted and dropped, the rest are
  recorded.  Unknown fields are errors, as kind decodes strictly.  netsim's fields
  live under a top-level `netsim:` key and a per-node `netsim:` key (real kind
  rejects those keys: strip them before `kind create cluster`).
- Naming and numbering follow kind and the control plane:
  node names `<cluster>-control-plane`, `<cluster>-control-plane2`, ...,
  `<cluster>-worker`, `<cluster>-worker2`, ... (kind's MakeNodeNamer, config order
  within a role); node order is control planes first, then workers (kubeadm init,
  control-plane joins, worker joins); node IPs from `.2` of the node network in that
  order (the docker network's gateway is `.1`); pod CIDRs are the nodeipam range
  allocator's: consecutive /24 (IPv4) or /64 (IPv6) slices of each pod subnet, in
  node order; the cluster DNS IP is the 10th address of the service subnet and the
  `kubernetes` Service's IP the 1st (kubeadm's GetDNSIP / GetAPIServerVirtualIP).
- Control-plane nodes carry the `node-role.kubernetes.io/control-plane` label and
  NoSchedule taint and the `node.kubernetes.io/exclude-from-external-load-balancers`
  label (kubeadm); in a one-node cluster kind removes the taint and that label.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from netsim.api.errors import FieldError, InvalidObject, YamlSyntaxError
from netsim.api.objects import Taint
from netsim.api.selector import dns1123_subdomain_errors, validate_label_key, validate_label_value

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

API_VERSION = "kind.x-k8s.io/v1alpha4"
KIND = "Cluster"
DEFAULT_CLUSTER_NAME = "kind"

# Well-known labels and taints (k8s.io/api/core/v1 well_known_labels.go, kubeadm constants).
LABEL_HOSTNAME = "kubernetes.io/hostname"
LABEL_OS = "kubernetes.io/os"
LABEL_ARCH = "kubernetes.io/arch"
LABEL_ZONE = "topology.kubernetes.io/zone"
LABEL_CONTROL_PLANE = "node-role.kubernetes.io/control-plane"
LABEL_EXCLUDE_FROM_LB = "node.kubernetes.io/exclude-from-external-load-balancers"
TAINT_CONTROL_PLANE = "node-role.kubernetes.io/control-plane"

# kind's defaults, per IP family (SetDefaultsCluster).
_DEFAULT_POD_SUBNET = {"ipv4": "10.244.0.0/16", "ipv6": "fd00:10:244::/56", "dual": "10.244.0.0/16,fd00:10:244::/56"}
_DEFAULT_SERVICE_SUBNET = {"ipv4": "10.96.0.0/16", "ipv6": "fd00:10:96::/112", "dual": "10.96.0.0/16,fd00:10:96::/112"}
# kube-controller-manager's --node-cidr-mask-size defaults, per address version.
NODE_CIDR_MASK_SIZE = {4: 24, 6: 64}
# kind's docker network ("kind"): IPv4 subnet, gateway .1, containers from .2.
DEFAULT_NODE_NETWORK = "172.18.0.0/16"
# kubeadm: the cluster DNS Service takes the 10th address, the kubernetes Service the 1st.
DNS_SERVICE_INDEX = 10
API_SERVER_SERVICE_INDEX = 1

_CLUSTER_NAME_RE = re.compile(r"^[a-z0-9.-]+$")  # kind's validNameRE
_IP_FAMILIES = ("ipv4", "ipv6", "dual")
_PROXY_MODES = ("iptables", "ipvs", "nftables", "none")  # kind's accepted kubeProxyMode values

# Fields kind accepts, with whether netsim uses them (True) or drops them (False).
_CLUSTER_FIELDS = {
    "kind": True,
    "apiVersion": True,
    "name": True,
    "nodes": True,
    "networking": True,
    "featureGates": True,
    "runtimeConfig": True,
    "kubeadmConfigPatches": False,
    "kubeadmConfigPatchesJSON6902": False,
    "containerdConfigPatches": False,
    "containerdConfigPatchesJSON6902": False,
    "netsim": True,
}
_NODE_FIELDS = {
    "role": True,
    "image": False,
    "labels": True,
    "extraMounts": False,
    "extraPortMappings": False,
    "gpus": False,
    "containerLabels": False,
    "kubeadmConfigPatches": False,
    "kubeadmConfigPatchesJSON6902": False,
    "netsim": True,
}
_NETWORKING_FIELDS = (
    "ipFamily",
    "apiServerPort",
    "apiServerAddress",
    "podSubnet",
    "serviceSubnet",
    "disableDefaultCNI",
    "kubeProxyMode",
    "dnsSearch",
)
_NETSIM_FIELDS = ("seed", "cni", "clusterDNS", "nodeNetwork", "loadBalancerPool", "upstreamDNS", "installCoreDNS",
                  "ingressController",
                  "nodeNetworkPerZone", "kubeProxy", "clusterDomain", "nodeResolvConf", "unpullableImages",
                  "endpointPropagationSeconds")
DEFAULT_CLUSTER_DOMAIN = "cluster.local"  # kubelet clusterDomain / kubeadm networking.dnsDomain
_NETSIM_NODE_FIELDS = ("name", "ip", "zone")


class Role(enum.Enum):
    """A node's role in the kind config."""

    CONTROL_PLANE = "control-plane"  # runs the control plane; tainted NoSchedule unless alone
    WORKER = "worker"  # runs workloads


class CNI(enum.Enum):
    """How the emulator wires pod networking."""

    BRIDGE = "bridge"  # pods on a per-node Linux bridge (cni0), routes to other nodes' pod CIDRs
    VXLAN = "vxlan"  # a bridge plus a VXLAN overlay between nodes (flannel-style)
    PTP = "ptp"  # a veth per pod routed by the node, no bridge (what kind's kindnetd installs)


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """One node as the topology defines it: name, role, address, labels, taints, pod CIDRs."""

    name: str
    role: Role
    ip: IPAddress
    labels: tuple[tuple[str, str], ...]
    taints: tuple[Taint, ...]
    pod_cidrs: tuple[IPNetwork, ...]
    zone: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", tuple(sorted(dict(self.labels).items())))
        object.__setattr__(self, "taints", tuple(self.taints))
        object.__setattr__(self, "pod_cidrs", tuple(self.pod_cidrs))
        if not self.pod_cidrs:
            raise ValueError(f"node {self.name} has no pod CIDR")
        if self.zone is not None and self.label(LABEL_ZONE) != self.zone:
            raise ValueError(f"node {self.name}: zone {self.zone!r} disagrees with its {LABEL_ZONE} label")

    @property
    def pod_cidr(self) -> IPNetwork:
        """The primary pod CIDR (Node.spec.podCIDR)."""
        return self.pod_cidrs[0]

    @property
    def is_control_plane(self) -> bool:
        return self.role is Role.CONTROL_PLANE

    def label(self, key: str) -> str | None:
        """The value of label `key`, or None."""
        return dict(self.labels).get(key)

    def labels_dict(self) -> dict[str, str]:
        """The labels as a new dict (Node.metadata.labels)."""
        return dict(self.labels)


@dataclass(frozen=True, slots=True)
class AddressPool:
    """An inclusive range of addresses (a load-balancer pool), from a CIDR or "first-last"."""

    first: IPAddress
    last: IPAddress

    def __post_init__(self) -> None:
        if self.first.version != self.last.version or self.first > self.last:
            raise ValueError(f"bad address range {self.first}-{self.last}")

    def __contains__(self, address: object) -> bool:
        return (
            isinstance(address, (ipaddress.IPv4Address, ipaddress.IPv6Address))
            and address.version == self.first.version
            and self.first <= address <= self.last
        )

    def __len__(self) -> int:
        return int(self.last) - int(self.first) + 1

    def __iter__(self) -> Iterator[IPAddress]:
        for value in range(int(self.first), int(self.last) + 1):
            yield ipaddress.ip_address(value)

    def overlaps(self, network: IPNetwork) -> bool:
        """Whether any address of the pool lies in `network`."""
        if network.version != self.first.version:
            return False
        return int(self.first) <= int(network.broadcast_address) and int(network.network_address) <= int(self.last)

    def __str__(self) -> str:
        return f"{self.first}-{self.last}"


@dataclass(frozen=True, slots=True)
class UpstreamRecord:
    """A name outside the cluster and the addresses the upstream resolver answers for it."""

    name: str
    addresses: tuple[IPAddress, ...]


@dataclass(frozen=True, slots=True)
class Topology:
    """A whole cluster topology: kind's fields (defaulted) and netsim's, nodes in registration order."""

    name: str
    nodes: tuple[NodeSpec, ...]
    pod_subnets: tuple[IPNetwork, ...]
    service_subnets: tuple[IPNetwork, ...]
    ip_family: str = "ipv4"
    kube_proxy_mode: str = "iptables"
    disable_default_cni: bool = False
    dns_search: tuple[str, ...] | None = None
    feature_gates: tuple[tuple[str, bool], ...] = ()
    runtime_config: tuple[tuple[str, str], ...] = ()
    cni: CNI = CNI.BRIDGE
    node_network: IPNetwork = ipaddress.ip_network(DEFAULT_NODE_NETWORK)
    cluster_dns_ip: IPAddress = ipaddress.ip_address("10.96.0.10")
    load_balancer_pool: AddressPool | None = None
    upstream_dns: tuple[UpstreamRecord, ...] = ()
    install_coredns: bool = True
    ingress_controller: str = ""  # netsim.ingressController: "", "nginx" or "alb" (topologies/README.md)
    node_network_per_zone: bool = False  # one L2 segment per zone, joined by a router (topologies/README.md)
    # netsim.kubeProxy: KubeProxyConfiguration fields over kind's (decoded and validated by
    # netsim.kubeproxy.config, which this layer may not import); None when not given.
    kube_proxy: Mapping[str, Any] | None = field(default=None, hash=False)
    cluster_domain: str = DEFAULT_CLUSTER_DOMAIN  # netsim.clusterDomain: kubelet clusterDomain, the CoreDNS zone
    node_resolv_conf: str | None = None  # netsim.nodeResolvConf: the nodes' /etc/resolv.conf; None: derived
    # netsim.unpullableImages: image references no registry serves (their pods show ErrImagePull/ImagePullBackOff)
    unpullable_images: tuple[str, ...] = ()
    # netsim.endpointPropagationSeconds: how late EndpointSlice changes reach each node's kube-proxy rules
    endpoint_propagation_seconds: float = 0.0
    seed: int = 0
    source: str = ""

    def __post_init__(self) -> None:
        names = [n.name for n in self.nodes]
        ips = [n.ip for n in self.nodes]
        if not self.nodes:
            raise ValueError("a topology needs at least one node")
        if len(set(names)) != len(names) or len(set(ips)) != len(ips):
            raise ValueError("node names and IPs must be unique")
        if not any(n.is_control_plane for n in self.nodes):
            raise ValueError("a topology needs a control-plane node")

    @property
    def pod_subnet(self) -> IPNetwork:
        """The primary pod subnet (kube-controller-manager --cluster-cidr, first entry)."""
        return self.pod_subnets[0]

    @property
    def service_subnet(self) -> IPNetwork:
        """The primary service subnet (--service-cluster-ip-range, first entry)."""
        return self.service_subnets[0]

    @property
    def api_server_service_ip(self) -> IPAddress:
        """The ClusterIP of the `default/kubernetes` Service: the service subnet's 1st address."""
        return self.service_subnet.network_address + API_SERVER_SERVICE_INDEX

    @property
    def node_gateway(self) -> IPAddress:
        """The node network's gateway (the docker bridge): its 1st address."""
        return self.node_network.network_address + 1

    @property
    def control_planes(self) -> tuple[NodeSpec, ...]:
        return tuple(n for n in self.nodes if n.is_control_plane)

    @property
    def workers(self) -> tuple[NodeSpec, ...]:
        return tuple(n for n in self.nodes if not n.is_control_plane)

    def node(self, name: str) -> NodeSpec:
        """The node called `name` (KeyError if there is none)."""
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def node_names(self) -> tuple[str, ...]:
        return tuple(n.name for n in self.nodes)


# --- loading ---------------------------------------------------------------------------------


def load_topology(path: str | Path) -> Topology:
    """Read, default and validate the topology file at `path`."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise InvalidObject(source, None, "", "", f"cannot read topology: {err.strerror or err}") from None
    return load_topology_text(text, source)


def load_topology_text(text: str, source: str = "<topology>") -> Topology:
    """Parse one YAML document of topology text; `source` names it in errors."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise YamlSyntaxError(f"{source}: invalid YAML{where}: {problem}") from None
    return topology_from_dict(data, source)


def default_topology() -> Topology:
    """kind's default cluster: one control-plane node named kind-control-plane, netsim defaults."""
    return topology_from_dict({"kind": KIND, "apiVersion": API_VERSION}, "<default topology>")


def topology_from_dict(data: Any, source: str = "<topology>") -> Topology:
    """Build a Topology from the decoded YAML of a kind Cluster config."""
    name = data.get("name", DEFAULT_CLUSTER_NAME) if isinstance(data, Mapping) else None
    ref = f"Cluster {name}" if isinstance(name, str) else "Cluster"
    try:
        return _build(data, source)
    except FieldError as err:
        raise InvalidObject(source, None, ref, err.field, err.problem) from None


def _build(data: Any, source: str) -> Topology:
    if data is None:
        raise FieldError("the topology is empty; expected a kind Cluster config")
    if not isinstance(data, Mapping):
        raise FieldError(f"expected a kind Cluster config (a mapping), got {_kind_of(data)}")
    _known(data, _CLUSTER_FIELDS, "")
    if data.get("apiVersion") != API_VERSION:
        raise FieldError(f'unknown apiVersion "{data.get("apiVersion", "")}", expected "{API_VERSION}"', "apiVersion")
    if data.get("kind") != KIND:
        raise FieldError(f'unknown kind "{data.get("kind", "")}", expected "{KIND}"', "kind")
    name = _string(data.get("name", DEFAULT_CLUSTER_NAME), "name")
    if not _CLUSTER_NAME_RE.match(name):
        raise FieldError(
            f"'{name}' is not a valid cluster name, cluster names must match `{_CLUSTER_NAME_RE.pattern}`", "name"
        )

    networking = _mapping(data.get("networking"), "networking")
    _known(networking, _NETWORKING_FIELDS, "networking")
    family = _string(networking.get("ipFamily") or "ipv4", "networking.ipFamily")
    if family not in _IP_FAMILIES:
        raise FieldError(f'invalid ipFamily "{family}" (ipv4, ipv6 or dual)', "networking.ipFamily")
    pod_subnets = _subnets(networking.get("podSubnet") or _DEFAULT_POD_SUBNET[family], family, "networking.podSubnet")
    service_subnets = _subnets(
        networking.get("serviceSubnet") or _DEFAULT_SERVICE_SUBNET[family], family, "networking.serviceSubnet"
    )
    for pod in pod_subnets:
        for svc in service_subnets:
            if pod.overlaps(svc):
                raise FieldError(f"{pod} overlaps networking.serviceSubnet {svc}", "networking.podSubnet")
    proxy_mode = _string(networking.get("kubeProxyMode") or "iptables", "networking.kubeProxyMode")
    if proxy_mode not in _PROXY_MODES:
        modes = ", ".join(_PROXY_MODES)
        raise FieldError(f'invalid kubeProxyMode "{proxy_mode}" ({modes})', "networking.kubeProxyMode")
    port = networking.get("apiServerPort", 0)
    if isinstance(port, bool) or not isinstance(port, int) or not -1 <= port <= 65535:
        raise FieldError(f"invalid port number: {port}", "networking.apiServerPort")
    if "apiServerAddress" in networking:
        _address(networking["apiServerAddress"], "networking.apiServerAddress")
    disable_cni = _boolean(networking.get("disableDefaultCNI", False), "networking.disableDefaultCNI")
    dns_search = None
    if networking.get("dnsSearch") is not None:
        dns_search = tuple(_string_list(networking["dnsSearch"], "networking.dnsSearch"))

    feature_gates = _mapping(data.get("featureGates"), "featureGates")
    for gate, enabled in feature_gates.items():
        _boolean(enabled, f"featureGates.{gate}")
    runtime_config = _mapping(data.get("runtimeConfig"), "runtimeConfig")
    for key, value in runtime_config.items():
        _string(value, f"runtimeConfig.{key}")

    extra = _mapping(data.get("netsim"), "netsim")
    _known(extra, _NETSIM_FIELDS, "netsim")
    seed = extra.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise FieldError(f"must be a non-negative integer, got {seed!r}", "netsim.seed")
    cni_text = _string(extra.get("cni", CNI.BRIDGE.value), "netsim.cni")
    try:
        cni = CNI(cni_text)
    except ValueError:
        raise FieldError(f'unknown CNI mode "{cni_text}" (bridge, vxlan or ptp)', "netsim.cni") from None
    node_network = _network(extra.get("nodeNetwork", DEFAULT_NODE_NETWORK), "netsim.nodeNetwork")
    for label, nets in (("networking.podSubnet", pod_subnets), ("networking.serviceSubnet", service_subnets)):
        for net in nets:
            if node_network.overlaps(net):
                raise FieldError(f"{node_network} overlaps {label} {net}", "netsim.nodeNetwork")
    service = service_subnets[0]
    if "clusterDNS" in extra:
        cluster_dns = _address(extra["clusterDNS"], "netsim.clusterDNS")
        if cluster_dns not in service:
            raise FieldError(f"{cluster_dns} is not in networking.serviceSubnet {service}", "netsim.clusterDNS")
    else:
        if service.num_addresses <= DNS_SERVICE_INDEX:
            raise FieldError(f"{service} is too small to hold the cluster DNS address", "networking.serviceSubnet")
        cluster_dns = service.network_address + DNS_SERVICE_INDEX
    pool = _pool(extra.get("loadBalancerPool"), pod_subnets + service_subnets)
    upstream = _upstream(extra.get("upstreamDNS"))
    install_coredns = _boolean(extra.get("installCoreDNS", True), "netsim.installCoreDNS")
    ingress_controller = _string(extra.get("ingressController", ""), "netsim.ingressController")
    if ingress_controller not in ("", "nginx", "alb"):
        raise FieldError(f'unknown ingress controller "{ingress_controller}" (nginx or alb)', "netsim.ingressController")
    per_zone = _boolean(extra.get("nodeNetworkPerZone", False), "netsim.nodeNetworkPerZone")
    cluster_domain = _string(extra.get("clusterDomain", DEFAULT_CLUSTER_DOMAIN), "netsim.clusterDomain").rstrip(".")
    domain_problems = dns1123_subdomain_errors(cluster_domain)
    if domain_problems:
        raise FieldError(f'Invalid value: "{cluster_domain}": {"; ".join(domain_problems)}', "netsim.clusterDomain")
    node_resolv_conf = None
    if extra.get("nodeResolvConf") is not None:
        node_resolv_conf = _string(extra["nodeResolvConf"], "netsim.nodeResolvConf")
    kube_proxy = _mapping(extra["kubeProxy"], "netsim.kubeProxy") if "kubeProxy" in extra else None
    propagation = extra.get("endpointPropagationSeconds", 0)
    if isinstance(propagation, bool) or not isinstance(propagation, (int, float)) or propagation < 0:
        raise FieldError(f"must be a non-negative number of seconds, got {propagation!r}",
                         "netsim.endpointPropagationSeconds")
    unpullable = extra.get("unpullableImages", [])
    if not isinstance(unpullable, list) or not all(isinstance(i, str) and i for i in unpullable):
        raise FieldError("must be a list of image references", "netsim.unpullableImages")

    nodes = _nodes(data.get("nodes"), name, node_network, pod_subnets, pool)
    return Topology(
        name=name,
        nodes=nodes,
        pod_subnets=pod_subnets,
        service_subnets=service_subnets,
        ip_family=family,
        kube_proxy_mode=proxy_mode,
        disable_default_cni=disable_cni,
        dns_search=dns_search,
        feature_gates=tuple(sorted(feature_gates.items())),
        runtime_config=tuple(sorted(runtime_config.items())),
        cni=cni,
        node_network=node_network,
        cluster_dns_ip=cluster_dns,
        load_balancer_pool=pool,
        upstream_dns=upstream,
        install_coredns=install_coredns,
        ingress_controller=ingress_controller,
        node_network_per_zone=per_zone,
        kube_proxy=kube_proxy,
        unpullable_images=tuple(unpullable),
        endpoint_propagation_seconds=float(propagation),
        cluster_domain=cluster_domain,
        node_resolv_conf=node_resolv_conf,
        seed=seed,
        source=source,
    )


@dataclass(frozen=True, slots=True)
class _NodeDraft:
    """A node as read from the config, before addresses and CIDRs are handed out."""

    index: int
    role: Role
    name: str
    ip: IPAddress | None
    zone: str | None
    labels: tuple[tuple[str, str], ...]


def _nodes(
    value: Any, cluster: str, node_network: IPNetwork, pod_subnets: tuple[IPNetwork, ...], pool: AddressPool | None
) -> tuple[NodeSpec, ...]:
    """Name, order, address and label the nodes, then hand out pod CIDRs."""
    if value is None or value == []:
        value = [{"role": Role.CONTROL_PLANE.value}]  # kind's default: one control-plane node
    if not isinstance(value, list):
        raise FieldError(f"must be a list of nodes, got {_kind_of(value)}", "nodes")
    counters: dict[Role, int] = {}
    drafts = []
    for i, raw in enumerate(value):
        path = f"nodes[{i}]"
        node = _mapping(raw, path)
        _known(node, _NODE_FIELDS, path)
        role_text = _string(node.get("role", Role.CONTROL_PLANE.value), f"{path}.role")
        try:
            role = Role(role_text)
        except ValueError:
            problem = f'"{role_text}" is not a valid node role (control-plane or worker)'
            raise FieldError(problem, f"{path}.role") from None
        counters[role] = counters.get(role, 0) + 1
        # kind's MakeNodeNamer: the first of a role has no number, then 2, 3, ...
        default_name = f"{cluster}-{role.value}" + (str(counters[role]) if counters[role] > 1 else "")
        extra = _mapping(node.get("netsim"), f"{path}.netsim")
        _known(extra, _NETSIM_NODE_FIELDS, f"{path}.netsim")
        node_name = _string(extra.get("name", default_name), f"{path}.netsim.name")
        problems = dns1123_subdomain_errors(node_name)
        if problems:
            raise FieldError(f'Invalid value: "{node_name}": {"; ".join(problems)}', f"{path}.netsim.name")
        ip = None
        if "ip" in extra:
            ip = _address(extra["ip"], f"{path}.netsim.ip")
            if ip not in node_network or ip in (node_network.network_address, node_network.broadcast_address):
                problem = f"{ip} is not a host address of netsim.nodeNetwork {node_network}"
                raise FieldError(problem, f"{path}.netsim.ip")
            if ip == node_network.network_address + 1:
                raise FieldError(f"{ip} is the node network's gateway", f"{path}.netsim.ip")
        labels = _labels(node.get("labels"), f"{path}.labels")
        zone = None
        if "zone" in extra:
            zone = _string(extra["zone"], f"{path}.netsim.zone")
            try:
                validate_label_value(zone)
            except FieldError as err:
                raise err.under(f"{path}.netsim.zone") from None
            if not zone:
                raise FieldError("must be non-empty", f"{path}.netsim.zone")
            if labels.get(LABEL_ZONE, zone) != zone:
                raise FieldError(
                    f'"{zone}" disagrees with the {LABEL_ZONE} label "{labels[LABEL_ZONE]}"', f"{path}.netsim.zone"
                )
        elif labels.get(LABEL_ZONE):
            zone = labels[LABEL_ZONE]
        drafts.append(_NodeDraft(i, role, node_name, ip, zone, tuple(labels.items())))

    if Role.CONTROL_PLANE not in counters:
        raise FieldError("must have at least one control-plane node", "nodes")
    # Registration order: control planes (init, then joins), then workers; config order within a role.
    ordered = [d for d in drafts if d.role is Role.CONTROL_PLANE] + [d for d in drafts if d.role is Role.WORKER]
    seen_names: dict[str, int] = {}
    seen_ips: dict[IPAddress, int] = {}
    for d in drafts:
        if d.name in seen_names:
            raise FieldError(f'duplicate node name "{d.name}" (also nodes[{seen_names[d.name]}])', f"nodes[{d.index}]")
        seen_names[d.name] = d.index
        if d.ip is not None:
            if d.ip in seen_ips:
                problem = f"duplicate node IP {d.ip} (also nodes[{seen_ips[d.ip]}])"
                raise FieldError(problem, f"nodes[{d.index}].netsim.ip")
            if pool is not None and d.ip in pool:
                raise FieldError(f"{d.ip} is inside netsim.loadBalancerPool {pool}", f"nodes[{d.index}].netsim.ip")
            seen_ips[d.ip] = d.index

    ips = _assign_ips(ordered, node_network, set(seen_ips), pool)
    cidrs = _allocate_pod_cidrs(pod_subnets, len(ordered))
    single = len(ordered) == 1
    specs = []
    for position, d in enumerate(ordered):
        labels = {LABEL_ARCH: "amd64", LABEL_HOSTNAME: d.name, LABEL_OS: "linux"}
        taints: tuple[Taint, ...] = ()
        if d.role is Role.CONTROL_PLANE:
            labels[LABEL_CONTROL_PLANE] = ""
            if not single:  # kind removes both from a one-node cluster so it can run workloads
                labels[LABEL_EXCLUDE_FROM_LB] = ""
                taints = (Taint(TAINT_CONTROL_PLANE, "NoSchedule"),)
        if d.zone is not None:
            labels[LABEL_ZONE] = d.zone
        labels.update(dict(d.labels))
        specs.append(
            NodeSpec(
                name=d.name,
                role=d.role,
                ip=ips[position],
                labels=tuple(labels.items()),
                taints=taints,
                pod_cidrs=tuple(c[position] for c in cidrs),
                zone=d.zone,
            )
        )
    return tuple(specs)


def _assign_ips(
    ordered: list[_NodeDraft], network: IPNetwork, taken: set[IPAddress], pool: AddressPool | None
) -> list[IPAddress]:
    """Explicit IPs stay; the others get .2, .3, ... of the node network in order, skipping taken ones."""
    result = []
    candidate = network.network_address + 2
    for d in ordered:
        if d.ip is not None:
            result.append(d.ip)
            continue
        while candidate in taken or (pool is not None and candidate in pool):
            candidate += 1
        if candidate not in network or candidate == network.broadcast_address:
            raise FieldError(f"{network} has no address left for node {d.name}", "netsim.nodeNetwork")
        result.append(candidate)
        taken.add(candidate)
        candidate += 1
    return result


def _allocate_pod_cidrs(pod_subnets: tuple[IPNetwork, ...], count: int) -> list[list[IPNetwork]]:
    """Per pod subnet, the first `count` node-sized slices in order (the range allocator's AllocateNext)."""
    result = []
    for subnet in pod_subnets:
        mask = NODE_CIDR_MASK_SIZE[subnet.version]
        if subnet.prefixlen > mask:
            raise FieldError(
                f"{subnet} is smaller than one node's /{mask} pod CIDR (--node-cidr-mask-size)", "networking.podSubnet"
            )
        available = 2 ** (mask - subnet.prefixlen)
        if count > available:
            problem = f"{subnet} holds only {available} node pod CIDRs of /{mask}, {count} nodes"
            raise FieldError(problem, "networking.podSubnet")
        slices = []
        for i, net in enumerate(subnet.subnets(new_prefix=mask)):
            if i >= count:
                break
            slices.append(net)
        result.append(slices)
    return result


# --- small typed readers: each raises FieldError(problem, field) --------------------------------


def _kind_of(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list"}.get(
        type(value), "a mapping" if isinstance(value, Mapping) else type(value).__name__
    )


def _known(data: Mapping, allowed: Any, path: str) -> None:
    for key in data:
        if key not in allowed:
            listed = ", ".join(allowed)
            where = f"{path}.{key}" if path else str(key)
            raise FieldError(f'unknown field "{key}" (known: {listed})', where)


def _mapping(value: Any, path: str) -> Mapping:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise FieldError(f"must be a mapping, got {_kind_of(value)}", path)
    return value


def _string(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise FieldError(f"must be a string, got {_kind_of(value)} ({value!r}); quote it", path)
    return value


def _boolean(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise FieldError(f"must be true or false, got {_kind_of(value)}", path)
    return value


def _string_list(value: Any, path: str) -> list[str]:
    if not isinstance(value, list):
        raise FieldError(f"must be a list of strings, got {_kind_of(value)}", path)
    return [_string(item, f"{path}[{i}]") for i, item in enumerate(value)]


def _address(value: Any, path: str) -> IPAddress:
    text = _string(value, path)
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise FieldError(f'invalid IP address "{text}"', path) from None


def _network(value: Any, path: str) -> IPNetwork:
    text = _string(value, path)
    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError as err:
        raise FieldError(f'invalid CIDR address "{text}": {err}', path) from None


def _subnets(value: Any, family: str, path: str) -> tuple[IPNetwork, ...]:
    """A comma-separated CIDR list checked as kind's validateSubnets does."""
    text = _string(value, path)
    nets = tuple(_network(part, path) for part in text.split(","))
    versions = [n.version for n in nets]
    if family == "dual":
        if len(nets) > 2 or (len(nets) == 2 and set(versions) != {4, 6}):
            raise FieldError(
                "expected one (IPv4 or IPv6) CIDR or two CIDRs from each family for dual-stack networking", path
            )
    elif len(nets) > 1:
        raise FieldError("only one CIDR allowed for single-stack networking", path)
    elif family == "ipv4" and versions[0] != 4:
        raise FieldError("expected IPv4 CIDR for IPv4 family", path)
    elif family == "ipv6" and versions[0] != 6:
        raise FieldError("expected IPv6 CIDR for IPv6 family", path)
    return nets


def _labels(value: Any, path: str) -> dict[str, str]:
    labels = _mapping(value, path)
    result = {}
    for key, item in labels.items():
        try:
            validate_label_key(key)
            validate_label_value(_string(item, ""))
        except FieldError as err:
            raise FieldError(err.problem, f"{path}.{key}" if isinstance(key, str) else path) from None
        result[key] = item
    return result


def _pool(value: Any, cluster_nets: tuple[IPNetwork, ...]) -> AddressPool | None:
    """netsim.loadBalancerPool: "a.b.c.d/n" or "first-last", outside the pod and service subnets."""
    path = "netsim.loadBalancerPool"
    if value is None:
        return None
    text = _string(value, path)
    if "-" in text:
        first_text, _, last_text = text.partition("-")
        first = _address(first_text.strip(), path)
        last = _address(last_text.strip(), path)
        if first.version != last.version or first > last:
            raise FieldError(f'invalid address range "{text}"', path)
        pool = AddressPool(first, last)
    else:
        net = _network(text, path)
        pool = AddressPool(net.network_address, net.broadcast_address)
    for net in cluster_nets:
        if pool.overlaps(net):
            raise FieldError(f"{pool} overlaps the cluster's subnet {net}", path)
    return pool


def _upstream(value: Any) -> tuple[UpstreamRecord, ...]:
    """netsim.upstreamDNS: name → address or list of addresses, for names outside the cluster."""
    path = "netsim.upstreamDNS"
    records = _mapping(value, path)
    result = []
    for name, addresses in records.items():
        where = f"{path}.{name}"
        name_text = _string(name, path).rstrip(".").lower()
        problems = dns1123_subdomain_errors(name_text)
        if problems:
            raise FieldError(f'Invalid value: "{name}": {"; ".join(problems)}', where)
        items = addresses if isinstance(addresses, list) else [addresses]
        if not items:
            raise FieldError("needs at least one address", where)
        parsed = tuple(_address(item, f"{where}[{i}]") for i, item in enumerate(items))
        result.append(UpstreamRecord(name_text, parsed))
    names = [r.name for r in result]
    if len(set(names)) != len(names):
        raise FieldError("names must be unique (compared lower-case, without the trailing dot)", path)
    return tuple(sorted(result, key=lambda r: r.name))
