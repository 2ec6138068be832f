"""kube-proxy's configuration file: `KubeProxyConfiguration` (kubeproxy.config.k8s.io/v1alpha1).

`load_config_file(path)` reads the file kube-proxy reads with `--config`;
`config_from_mapping(data, source, prefix)` decodes the same fields from any
mapping (the topology's `netsim.kubeProxy`). Decoding is strict, as
kube-proxy's (an unknown field is an error), applies kube-proxy's defaults
(pkg/proxy/apis/config/v1alpha1/defaults.go, plus the platform defaults of
cmd/kube-proxy/app: mode "" is iptables on Linux, detectLocalMode "" is
ClusterCIDR) and validates the values netsim uses as kube-proxy's
validation.go does. Every error is one line naming the file and the field:

    cluster/kp.yaml: KubeProxyConfiguration: iptables.masqueradeBit: must be between 0 and 31, got 40

`KubeProxyConfiguration.proxy_config(node, ...)` turns it into the renderer's
`ProxyConfig` for one Node: the node name and addresses come from the Node
object, the local-traffic detector from detectLocalMode (ClusterCIDR: the
IPv4 clusterCIDR; NodeCIDR: the Node's IPv4 spec.podCIDRs entry; none
available: no detection, as kube-proxy's NoOp detector).

`kind_defaults(pod_subnet, mode)` is what kind deploys: kubeadm writes
clusterCIDR = networking.podSubnet and mode = networking.kubeProxyMode.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, ip_address, ip_network
from pathlib import Path
from typing import Any

import yaml

from netsim.api.objects import Node
from netsim.kubeproxy.constants import DEFAULT_MASQUERADE_BIT
from netsim.kubeproxy.errors import KubeProxyError, UnsupportedProxyFeature
from netsim.kubeproxy.model import LocalDetectMode, LocalDetector, ProxyConfig
from netsim.errors import InputError

API_VERSION = "kubeproxy.config.k8s.io/v1alpha1"
KIND = "KubeProxyConfiguration"

#: proxy modes kube-proxy accepts on Linux (validateProxyMode), and the one netsim renders.
MODES = ("iptables", "ipvs", "nftables")
EMULATED_MODE = "iptables"
#: the keyword nodePortAddresses accepts instead of CIDRs (NodePortAddressesPrimary).
NODE_PORT_ADDRESSES_PRIMARY = "primary"

# Fields of v1alpha1.KubeProxyConfiguration; True where netsim's rendering depends on them,
# False where they are accepted, validated for type and recorded only.
_TOP_FIELDS = {
    "apiVersion": True, "kind": True, "featureGates": True, "clientConnection": False,
    "hostnameOverride": False, "bindAddress": False, "healthzBindAddress": False, "metricsBindAddress": False,
    "bindAddressHardFail": False, "enableProfiling": False, "showHiddenMetricsForVersion": False,
    "mode": True, "iptables": True, "ipvs": False, "nftables": False, "winkernel": False,
    "detectLocalMode": True, "detectLocal": True, "clusterCIDR": True, "nodePortAddresses": True,
    "oomScoreAdj": False, "conntrack": True, "configSyncPeriod": False, "portRange": False,
    "windowsRunAsService": False, "logging": False,
}
_IPTABLES_FIELDS = ("masqueradeBit", "masqueradeAll", "localhostNodePorts", "syncPeriod", "minSyncPeriod")
_DETECT_LOCAL_FIELDS = ("bridgeInterface", "interfaceNamePrefix")
_CONNTRACK_FIELDS = ("maxPerCore", "min", "tcpEstablishedTimeout", "tcpCloseWaitTimeout", "tcpBeLiberal",
                     "udpTimeout", "udpStreamTimeout")
_DURATION = re.compile(r"^(0|([0-9]+(\.[0-9]*)?(ns|us|µs|ms|s|m|h))+)$")  # Go time.ParseDuration


class InvalidProxyConfig(KubeProxyError, InputError):
    """A KubeProxyConfiguration field is invalid; `source` names the file, `field` the field path."""

    def __init__(self, source: str, field: str, problem: str) -> None:
        self.source = source
        self.field = field
        self.problem = problem
        super().__init__(f"{source}: {KIND}: {field}: {problem}" if field else f"{source}: {KIND}: {problem}")


@dataclass(frozen=True, slots=True)
class KubeProxyConfiguration:
    """A decoded, defaulted and validated KubeProxyConfiguration (the fields netsim uses).

    Durations stay Go duration strings ("24h0m0s"); `None` means the field was left unset.
    """

    source: str
    mode: str = EMULATED_MODE
    cluster_cidrs: tuple[IPv4Network, ...] = ()        # clusterCIDR, IPv4 entries
    masquerade_bit: int = DEFAULT_MASQUERADE_BIT       # iptables.masqueradeBit
    masquerade_all: bool = False                       # iptables.masqueradeAll
    localhost_node_ports: bool = True                  # iptables.localhostNodePorts
    sync_period: str = "30s"                           # iptables.syncPeriod
    min_sync_period: str = "1s"                        # iptables.minSyncPeriod
    node_port_addresses: tuple[str, ...] = ()          # CIDRs, or ("primary",)
    detect_local_mode: LocalDetectMode = LocalDetectMode.CLUSTER_CIDR
    bridge_interface: str = ""                         # detectLocal.bridgeInterface
    interface_name_prefix: str = ""                    # detectLocal.interfaceNamePrefix
    conntrack_max_per_core: int = 32 * 1024
    conntrack_min: int = 128 * 1024
    conntrack_tcp_established_timeout: str = "24h0m0s"
    conntrack_tcp_close_wait_timeout: str = "1h0m0s"
    conntrack_tcp_be_liberal: bool = False             # no INVALID drop rule in KUBE-FORWARD
    conntrack_udp_timeout: str = "0s"
    conntrack_udp_stream_timeout: str = "0s"
    feature_gates: tuple[tuple[str, bool], ...] = ()

    def gate(self, name: str, default: bool) -> bool:
        return dict(self.feature_gates).get(name, default)

    def check_emulated(self) -> None:
        """Raise UnsupportedProxyFeature unless netsim renders this mode."""
        if self.mode != EMULATED_MODE:
            raise UnsupportedProxyFeature(
                f"{self.source}: {KIND}: mode: {self.mode!r} is not emulated yet "
                f"(netsim renders kube-proxy's {EMULATED_MODE} mode only)")

    def local_detector(self, node: Node) -> LocalDetector:
        """The local-traffic detector kube-proxy builds for `node` (server.go getLocalDetector)."""
        match self.detect_local_mode:
            case LocalDetectMode.CLUSTER_CIDR:
                return LocalDetector.cluster_cidr(str(self.cluster_cidrs[0])) if self.cluster_cidrs else LocalDetector()
            case LocalDetectMode.NODE_CIDR:
                cidrs = [c for c in node.pod_cidrs if ip_network(c, strict=False).version == 4]
                return LocalDetector(LocalDetectMode.NODE_CIDR, cidrs[0]) if cidrs else LocalDetector()
            case LocalDetectMode.BRIDGE_INTERFACE:
                return LocalDetector(LocalDetectMode.BRIDGE_INTERFACE, self.bridge_interface)
            case LocalDetectMode.INTERFACE_NAME_PREFIX:
                return LocalDetector(LocalDetectMode.INTERFACE_NAME_PREFIX, self.interface_name_prefix)
        return LocalDetector()

    def proxy_config(self, node: Node, extra_addresses: Sequence[str] = ()) -> ProxyConfig:
        """The renderer's view of kube-proxy on `node`: identity and addresses from the Node
        (InternalIP, plus 127.0.0.1 and `extra_addresses`, the node's other interface addresses)."""
        self.check_emulated()
        node_ip = node.internal_ip
        addresses = sorted({a for a in (ip_address(x) for x in (node_ip, "127.0.0.1", *extra_addresses) if x)
                            if isinstance(a, IPv4Address)}, key=int)
        if self.node_port_addresses == (NODE_PORT_ADDRESSES_PRIMARY,):
            node_ports: tuple[str, ...] = (f"{node_ip}/32",) if node_ip else ()
        else:
            node_ports = tuple(c for c in self.node_port_addresses if ip_network(c, strict=False).version == 4)
        return ProxyConfig(
            node_name=node.name,
            node_ip=node_ip,
            node_addresses=tuple(addresses),
            zone=node.zone or "",
            local_detector=self.local_detector(node),
            masquerade_all=self.masquerade_all,
            masquerade_bit=self.masquerade_bit,
            localhost_node_ports=self.localhost_node_ports,
            node_port_addresses=node_ports,
            conntrack_tcp_be_liberal=self.conntrack_tcp_be_liberal,
            prefer_same_traffic_distribution=self.gate("PreferSameTrafficDistribution", True),
        )


def kind_defaults(pod_subnet: str, mode: str = "") -> dict[str, Any]:
    """The KubeProxyConfiguration kind has kubeadm write: clusterCIDR from networking.podSubnet,
    mode from networking.kubeProxyMode (kubeadm's defaults, kind's template)."""
    data: dict[str, Any] = {"apiVersion": API_VERSION, "kind": KIND, "clusterCIDR": pod_subnet}
    if mode:
        data["mode"] = mode
    return data


def load_config_file(path: str | Path) -> KubeProxyConfiguration:
    """Read, default and validate a KubeProxyConfiguration file."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise InvalidProxyConfig(source, "", f"cannot read: {err.strerror or err}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise InvalidProxyConfig(source, "", f"invalid YAML{where}: "
                                 f"{getattr(err, 'problem', None) or str(err).splitlines()[0]}") from None
    if not isinstance(data, Mapping):
        raise InvalidProxyConfig(source, "", f"expected a {KIND} (a mapping), got {type(data).__name__}")
    if data.get("apiVersion") != API_VERSION:
        raise InvalidProxyConfig(source, "apiVersion", f"expected {API_VERSION!r}, got {data.get('apiVersion')!r}")
    if data.get("kind") != KIND:
        raise InvalidProxyConfig(source, "kind", f"expected {KIND!r}, got {data.get('kind')!r}")
    return config_from_mapping(data, source)


def config_from_mapping(data: Mapping[str, Any], source: str, prefix: str = "",
                        base: Mapping[str, Any] | None = None) -> KubeProxyConfiguration:
    """Decode `data` (over `base`, field by field, as a kubeadm config patch merges) with
    kube-proxy's defaults; `prefix` goes before field paths in errors (`netsim.kubeProxy.`)."""
    merged = _merge(dict(base or {}), data)
    d = _Decoder(source, prefix)
    d.known(merged, _TOP_FIELDS, "")
    ipt = d.mapping(merged.get("iptables"), "iptables")
    d.known(ipt, _IPTABLES_FIELDS, "iptables.")
    detect = d.mapping(merged.get("detectLocal"), "detectLocal")
    d.known(detect, _DETECT_LOCAL_FIELDS, "detectLocal.")
    ct = d.mapping(merged.get("conntrack"), "conntrack")
    d.known(ct, _CONNTRACK_FIELDS, "conntrack.")
    for name in ("clientConnection", "ipvs", "nftables", "winkernel", "logging"):
        d.mapping(merged.get(name), name)

    mode = d.string(merged.get("mode"), "mode") or EMULATED_MODE  # platformApplyDefaults on Linux
    if mode not in MODES:
        d.fail("mode", f'must be "", {", ".join(repr(m) for m in MODES)} on Linux, got {mode!r}')

    bit = d.integer(ipt.get("masqueradeBit"), "iptables.masqueradeBit", DEFAULT_MASQUERADE_BIT)
    if not 0 <= bit <= 31:
        d.fail("iptables.masqueradeBit", f"must be between 0 and 31, got {bit}")

    cidrs: list[IPv4Network] = []
    cluster_cidr = d.string(merged.get("clusterCIDR"), "clusterCIDR")
    if cluster_cidr:
        families: set[int] = set()
        for part in cluster_cidr.split(","):
            try:
                net = ip_network(part.strip(), strict=False)
            except ValueError:
                d.fail("clusterCIDR", f"must be a valid CIDR block or a comma-separated list of them, got {cluster_cidr!r}")
            if net.version in families:
                d.fail("clusterCIDR", f"must hold at most one CIDR per IP family, got {cluster_cidr!r}")
            families.add(net.version)
            if isinstance(net, IPv4Network):
                cidrs.append(net)

    addresses = d.string_list(merged.get("nodePortAddresses"), "nodePortAddresses")
    for i, text in enumerate(addresses):
        if text == NODE_PORT_ADDRESSES_PRIMARY:
            if len(addresses) != 1:
                d.fail(f"nodePortAddresses[{i}]", f'"{NODE_PORT_ADDRESSES_PRIMARY}" cannot be combined with CIDRs')
            continue
        try:
            ip_network(text, strict=False)
        except ValueError:
            d.fail(f"nodePortAddresses[{i}]", f'must be a valid CIDR or "{NODE_PORT_ADDRESSES_PRIMARY}", got {text!r}')

    mode_text = d.string(merged.get("detectLocalMode"), "detectLocalMode") or LocalDetectMode.CLUSTER_CIDR.value
    try:
        detect_mode = LocalDetectMode(mode_text)
    except ValueError:
        known = ", ".join(m.value for m in LocalDetectMode if m is not LocalDetectMode.NONE)
        d.fail("detectLocalMode", f"unknown mode {mode_text!r} ({known})")
    if detect_mode is LocalDetectMode.NONE:
        d.fail("detectLocalMode", "unknown mode 'None'")
    bridge = d.string(detect.get("bridgeInterface"), "detectLocal.bridgeInterface")
    prefix_text = d.string(detect.get("interfaceNamePrefix"), "detectLocal.interfaceNamePrefix")
    if detect_mode is LocalDetectMode.BRIDGE_INTERFACE and not bridge:
        d.fail("detectLocal.bridgeInterface", "must not be empty with detectLocalMode BridgeInterface")
    if detect_mode is LocalDetectMode.INTERFACE_NAME_PREFIX and not prefix_text:
        d.fail("detectLocal.interfaceNamePrefix", "must not be empty with detectLocalMode InterfaceNamePrefix")

    gates = d.mapping(merged.get("featureGates"), "featureGates")
    for gate, value in gates.items():
        d.boolean(value, f"featureGates.{gate}", False)

    durations = {}
    for path, value, default in (
        ("iptables.syncPeriod", ipt.get("syncPeriod"), "30s"),
        ("iptables.minSyncPeriod", ipt.get("minSyncPeriod"), "1s"),
        ("conntrack.tcpEstablishedTimeout", ct.get("tcpEstablishedTimeout"), "24h0m0s"),
        ("conntrack.tcpCloseWaitTimeout", ct.get("tcpCloseWaitTimeout"), "1h0m0s"),
        ("conntrack.udpTimeout", ct.get("udpTimeout"), "0s"),
        ("conntrack.udpStreamTimeout", ct.get("udpStreamTimeout"), "0s"),
    ):
        durations[path] = d.duration(value, path, default)

    return KubeProxyConfiguration(
        source=source,
        mode=mode,
        cluster_cidrs=tuple(cidrs),
        masquerade_bit=bit,
        masquerade_all=d.boolean(ipt.get("masqueradeAll"), "iptables.masqueradeAll", False),
        localhost_node_ports=d.boolean(ipt.get("localhostNodePorts"), "iptables.localhostNodePorts", True),
        sync_period=durations["iptables.syncPeriod"],
        min_sync_period=durations["iptables.minSyncPeriod"],
        node_port_addresses=tuple(addresses),
        detect_local_mode=detect_mode,
        bridge_interface=bridge,
        interface_name_prefix=prefix_text,
        conntrack_max_per_core=d.count(ct.get("maxPerCore"), "conntrack.maxPerCore", 32 * 1024),
        conntrack_min=d.count(ct.get("min"), "conntrack.min", 128 * 1024),
        conntrack_tcp_established_timeout=durations["conntrack.tcpEstablishedTimeout"],
        conntrack_tcp_close_wait_timeout=durations["conntrack.tcpCloseWaitTimeout"],
        conntrack_tcp_be_liberal=d.boolean(ct.get("tcpBeLiberal"), "conntrack.tcpBeLiberal", False),
        conntrack_udp_timeout=durations["conntrack.udpTimeout"],
        conntrack_udp_stream_timeout=durations["conntrack.udpStreamTimeout"],
        feature_gates=tuple(sorted((k, bool(v)) for k, v in gates.items())),
    )


def _merge(base: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """Merge `patch` into `base`, nested mappings field by field (a strategic-merge patch's maps)."""
    out = dict(base)
    for key, value in patch.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


class _Decoder:
    """Typed field readers that raise InvalidProxyConfig naming the source and the field."""

    def __init__(self, source: str, prefix: str) -> None:
        self.source, self.prefix = source, prefix

    def fail(self, field: str, problem: str):
        raise InvalidProxyConfig(self.source, self.prefix + field, problem)

    def known(self, data: Mapping, allowed, where: str) -> None:
        for key in data:
            if key not in allowed:
                self.fail(f"{where}{key}", f'unknown field "{key}" (known: {", ".join(allowed)})')

    def mapping(self, value: Any, field: str) -> Mapping:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.fail(field, f"must be a mapping, got {type(value).__name__}")
        return value

    def string(self, value: Any, field: str) -> str:
        if value is None:
            return ""
        if not isinstance(value, str):
            self.fail(field, f"must be a string, got {value!r}")
        return value

    def string_list(self, value: Any, field: str) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(field, f"must be a list of strings, got {value!r}")
        return list(value)

    def boolean(self, value: Any, field: str, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            self.fail(field, f"must be true or false, got {value!r}")
        return value

    def integer(self, value: Any, field: str, default: int) -> int:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(field, f"must be an integer, got {value!r}")
        return value

    def count(self, value: Any, field: str, default: int) -> int:
        number = self.integer(value, field, default)
        if number < 0:
            self.fail(field, f"must be greater than or equal to 0, got {number}")
        return number

    def duration(self, value: Any, field: str, default: str) -> str:
        if value is None:
            return default
        text = value if isinstance(value, str) else None
        if text is None or not _DURATION.match(text):
            self.fail(field, f'must be a duration such as "30s" or "1h0m0s", got {value!r}')
        return text
