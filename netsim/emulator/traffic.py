"""Traffic to send, as a scenario names it: from a pod, a node or the outside, to a Service, pod, node or address.

Endpoints are written the way kubectl names objects; the namespace defaults
to `default`.

`from:`
- `pod/[namespace/]name`: the pod's network namespace (its node's, for a
  hostNetwork pod), from the pod IP;
- `node/name`: the node itself, from its InternalIP;
- `external`: the client outside the cluster (the `external` host at the
  node network's gateway address, see emulator/external.py).

`to:`
- `service/[namespace/]name:port`: the Service's ClusterIP and port (a port
  number or the Service port's name);
- `loadbalancer/[namespace/]name:port`: the Service's first
  status.loadBalancer.ingress IP and that Service port;
- `nodeport/[namespace/]service@node:port`: the node's InternalIP and the
  nodePort of that Service port (`nodeport/web@kind-worker:80`);
- `node/name:port`: the node's InternalIP and a port (a hostPort, a NodePort
  number, any port);
- `pod/[namespace/]name:port`: the pod IP and a port number;
- `IP:port`: any address.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, ip_address
from typing import Any

from netsim.api.errors import FieldError, NotFound
from netsim.api.objects import Service
from netsim.api.store import Store
from netsim.emulator.wiring import pod_host_name

PROTOCOLS = ("TCP", "UDP")


@dataclass(frozen=True, slots=True)
class FlowSpec:
    """One line of a scenario's traffic: who sends to what, how, how many connections."""

    name: str
    source: str
    destination: str
    protocol: str = "TCP"
    count: int = 1
    payload: bytes = b""

    @classmethod
    def from_dict(cls, data: Any, index: int) -> FlowSpec:
        """Read `traffic[index]`; FieldError names the sub-field."""
        if not isinstance(data, Mapping):
            raise FieldError("must be an object with from, to, protocol, count", f"traffic[{index}]")
        where = f"traffic[{index}]"
        for key in ("from", "to"):
            if not isinstance(data.get(key), str) or not data[key]:
                raise FieldError("is required (a string such as pod/client or service/web:80)", f"{where}.{key}")
        unknown = sorted(set(data) - {"name", "from", "to", "protocol", "count", "payload"})
        if unknown:
            raise FieldError(f"unknown field {unknown[0]!r}", f"{where}.{unknown[0]}")
        protocol = data.get("protocol", "TCP")
        if protocol not in PROTOCOLS:
            raise FieldError(f"must be one of {', '.join(PROTOCOLS)}; got {protocol!r}", f"{where}.protocol")
        count = data.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 100_000:
            raise FieldError(f"must be an integer between 1 and 100000, got {count!r}", f"{where}.count")
        payload = data.get("payload", "")
        if not isinstance(payload, str):
            raise FieldError("must be a string", f"{where}.payload")
        return cls(name=str(data.get("name") or f"{data['from']} -> {data['to']}"), source=data["from"],
                   destination=data["to"], protocol=protocol, count=count, payload=payload.encode())


@dataclass(frozen=True, slots=True)
class Sender:
    """Where a flow starts: the host that sends and its address."""

    host: str
    address: IPv4Address
    label: str


@dataclass(frozen=True, slots=True)
class Target:
    """Where a flow goes: the address and port put in the first packet, and what they stand for."""

    address: IPv4Address
    port: int
    label: str


def _split_ref(ref: str, field: str) -> tuple[str, str, str]:
    """(kind, namespace, name[:port]) of `kind/[ns/]name[:port]`."""
    kind, _, rest = ref.partition("/")
    if not rest:
        raise FieldError(f"must look like kind/[namespace/]name, got {ref!r}", field)
    if "/" in rest:
        ns, _, name = rest.partition("/")
    else:
        ns, name = "default", rest
    return kind, ns, name


def resolve_sender(store: Store, ref: str, field: str, external: Sender | None = None) -> Sender:
    """The host and address that `pod/...`, `node/...` or `external` sends from."""
    if ref == "external":
        if external is None:
            raise FieldError("this cluster has no external client", field)
        return external
    kind, ns, name = _split_ref(ref, field)
    if kind in ("pod", "pods", "po"):
        pod = store.try_get("Pod", name, ns)
        if pod is None:
            raise NotFound(f'{field}: pods "{name}" not found in namespace {ns}')
        if pod.phase != "Running" or not pod.pod_ip:
            raise FieldError(f"pod {ns}/{name} is {pod.phase} and has no address to send from", field)
        host = pod.node_name if pod.host_network else pod_host_name(pod)
        return Sender(host, ip_address(pod.pod_ip), f"pod {ns}/{name}")  # type: ignore[arg-type]
    if kind in ("node", "nodes", "no"):
        node = store.try_get("Node", name)
        if node is None or not node.internal_ip:
            raise NotFound(f'{field}: nodes "{name}" not found')
        return Sender(node.name, ip_address(node.internal_ip), f"node {node.name}")  # type: ignore[arg-type]
    raise FieldError(f"a flow starts at pod/NAME, node/NAME or external, got {ref!r}", field)


def resolve_target(store: Store, ref: str, protocol: str, field: str) -> Target:
    """The address and port a flow's first packet is sent to."""
    if "/" not in ref:
        host, _, port = ref.rpartition(":")
        try:
            return Target(ip_address(host), int(port), ref)  # type: ignore[arg-type]
        except ValueError:
            raise FieldError(f"must be IP:PORT or KIND/NAME:PORT (service, loadbalancer, nodeport, node, pod), "
                             f"got {ref!r}", field) from None
    kind, ns, rest = _split_ref(ref, field)
    name, _, port_text = rest.partition(":")
    if not port_text:
        raise FieldError(f"needs a port: {ref}:PORT", field)
    if kind in ("service", "services", "svc"):
        svc = store.try_get("Service", name, ns)
        if svc is None:
            raise NotFound(f'{field}: services "{name}" not found in namespace {ns}')
        port = _service_port(svc, port_text, protocol, field)  # type: ignore[arg-type]
        if not svc.cluster_ip or svc.headless:
            raise FieldError(f"service {ns}/{name} has no ClusterIP to send to", field)
        return Target(ip_address(svc.cluster_ip), port, f"service {ns}/{name}")  # type: ignore[arg-type]
    if kind in ("loadbalancer", "lb"):
        svc = _service(store, name, ns, field)
        port = _service_port(svc, port_text, protocol, field)
        if svc.type != "LoadBalancer" or not svc.load_balancer_ips:
            raise FieldError(f"service {ns}/{name} has no load-balancer address (type {svc.type}; "
                             f"a LoadBalancer needs netsim.loadBalancerPool in the topology)", field)
        return Target(ip_address(svc.load_balancer_ips[0]), port,  # type: ignore[arg-type]
                      f"load balancer of service {ns}/{name}")
    if kind == "nodeport":
        service, at, node_name = name.partition("@")
        if not at:
            raise FieldError(f"must look like nodeport/[namespace/]service@node:port, got {ref!r}", field)
        svc = _service(store, service, ns, field)
        port = _service_port(svc, port_text, protocol, field)
        node_port = next(p.node_port for p in svc.ports if p.port == port and p.protocol == protocol)
        if not node_port:
            raise FieldError(f"service {ns}/{service} port {port} has no nodePort (type {svc.type})", field)
        node = _node(store, node_name, field)
        return Target(ip_address(node.internal_ip), int(node_port),  # type: ignore[arg-type]
                      f"nodePort {node_port} of service {ns}/{service} on node {node.name}")
    if kind in ("node", "nodes", "no"):
        node = _node(store, rest.partition(":")[0], field)
        if not port_text.isdigit():
            raise FieldError(f"a node port must be a number, got {port_text!r}", field)
        return Target(ip_address(node.internal_ip), int(port_text), f"node {node.name}")  # type: ignore
    if kind in ("pod", "pods", "po"):
        pod = store.try_get("Pod", name, ns)
        if pod is None or not pod.pod_ip:
            raise NotFound(f'{field}: pods "{name}" not found (or not running) in namespace {ns}')
        if not port_text.isdigit():
            raise FieldError(f"a pod port must be a number, got {port_text!r}", field)
        return Target(ip_address(pod.pod_ip), int(port_text), f"pod {ns}/{name}")  # type: ignore[arg-type]
    raise FieldError(f"a flow goes to service/NAME:PORT, loadbalancer/NAME:PORT, nodeport/SERVICE@NODE:PORT, "
                     f"node/NAME:PORT, pod/NAME:PORT or IP:PORT, got {ref!r}", field)


def _service(store: Store, name: str, ns: str, field: str) -> Service:
    svc = store.try_get("Service", name, ns)
    if svc is None:
        raise NotFound(f'{field}: services "{name}" not found in namespace {ns}')
    return svc  # type: ignore[return-value]


def _node(store: Store, name: str, field: str):
    node = store.try_get("Node", name)
    if node is None or not node.internal_ip:
        raise NotFound(f'{field}: nodes "{name}" not found')
    return node


def _service_port(svc: Service, text: str, protocol: str, field: str) -> int:
    for port in svc.ports:
        if port.protocol == protocol and (str(port.port) == text or port.name == text):
            return port.port
    offered = ", ".join(f"{p.name or '-'}:{p.port}/{p.protocol}" for p in svc.ports) or "none"
    raise FieldError(f"service {svc.namespace}/{svc.name} has no {protocol} port {text!r} (ports: {offered})", field)
