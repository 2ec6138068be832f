"""The EndpointSlice controller: one managed slice per selector Service, listing its pods.

As kube-controller-manager's endpointslice controller: slices are named
`<service>-<suffix>` (generateName), labelled with the Service's labels plus
kubernetes.io/service-name and the managed-by label, owned by the Service;
each endpoint is a pod with an IP that has not finished, with the conditions
ready (ready and not terminating, or publishNotReadyAddresses), serving and
terminating, its nodeName, zone and targetRef; a named targetPort is
resolved in each pod. Services without a selector are left alone: their
slices are the user's. Pods whose named ports resolve differently share no
slice (one slice per distinct port set). At most 100 endpoints per slice.
"""

from __future__ import annotations

from collections import defaultdict

from netsim.api.objects import EndpointSlice, Pod, Service
from netsim.api.store import Store
from netsim.controllers.workloads import controller_ref, is_owned_by

MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
CONTROLLER_NAME = "endpointslice-controller.k8s.io"
SERVICE_NAME_LABEL = EndpointSlice.SERVICE_NAME_LABEL
MAX_ENDPOINTS_PER_SLICE = 100


def selects(service: Service, pod: Pod) -> bool:
    """True when the Service's selector (a plain map) matches the pod's labels."""
    selector = service.selector
    return selector is not None and all(pod.labels.get(k) == v for k, v in selector.items())


def in_endpoints(pod: Pod) -> bool:
    """Whether a pod belongs in endpoints at all (endpointutil.ShouldPodBeInEndpoints)."""
    return bool(pod.pod_ip) and pod.phase not in ("Succeeded", "Failed")


def resolve_ports(service: Service, pod: Pod) -> tuple[tuple[str, str, int | None, str | None], ...]:
    """(name, protocol, port, appProtocol) per Service port, the targetPort resolved in this pod."""
    out = []
    for port in service.ports:
        target = port.target_port
        number = pod.named_port(target, port.protocol) if isinstance(target, str) else int(target)
        if number is None:
            continue  # a named port the pod does not have: the pod serves no such port
        out.append((port.name, port.protocol, number, port.app_protocol))
    return tuple(out)


def _endpoint(store: Store, service: Service, pod: Pod) -> dict:
    terminating = pod.deletion_timestamp is not None
    ready = (pod.ready and not terminating) or bool(service.spec.get("publishNotReadyAddresses"))
    endpoint = {
        "addresses": [pod.pod_ip],
        "conditions": {"ready": ready, "serving": pod.ready, "terminating": terminating},
        "nodeName": pod.node_name,
        "targetRef": {"kind": "Pod", "name": pod.name, "namespace": pod.namespace, "uid": pod.uid},
    }
    if pod.hostname and pod.subdomain == service.name:
        endpoint["hostname"] = pod.hostname
    node = store.try_get("Node", pod.node_name)
    if node is not None and node.zone:
        endpoint["zone"] = node.zone
    return endpoint


def reconcile(store: Store) -> None:
    """Bring every selector Service's managed slices in line with its pods."""
    for service in store.list("Service"):
        if service.selector is None or service.deletion_timestamp or service.type == "ExternalName":
            continue
        _sync(store, service)  # type: ignore[arg-type]


def _sync(store: Store, service: Service) -> None:
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for pod in store.list("Pod", service.namespace):
        if pod.node_name and store.try_get("Node", pod.node_name) is None:
            continue   # the reconciler skips a pod whose Node is gone ("skipping Pod for Service, Node not found")
        if selects(service, pod) and in_endpoints(pod):  # type: ignore[arg-type]
            ports = resolve_ports(service, pod)  # type: ignore[arg-type]
            groups[ports].append(_endpoint(store, service, pod))  # type: ignore[arg-type]
    wanted: list[tuple[tuple, list[dict]]] = []
    for ports, endpoints in sorted(groups.items()):
        for start in range(0, len(endpoints), MAX_ENDPOINTS_PER_SLICE):
            wanted.append((ports, endpoints[start:start + MAX_ENDPOINTS_PER_SLICE]))
    if not wanted:
        wanted = [((), [])]  # the placeholder slice: no ports, no endpoints
    existing = [s for s in store.list("EndpointSlice", service.namespace)
                if s.labels.get(MANAGED_BY_LABEL) == CONTROLLER_NAME and is_owned_by(s, service)]
    for index, (ports, endpoints) in enumerate(wanted):
        body = _body(service, ports, endpoints)
        if index < len(existing):
            current = existing[index]
            if _same(current, body):
                continue
            store.update(current.evolve(lambda d: _fill(d, body, store.now())))
        else:
            data = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                    "metadata": {"generateName": f"{service.name}-", "namespace": service.namespace,
                                 "ownerReferences": [controller_ref(service)]}}
            _fill(data, body, store.now())
            store.create(data)
    for extra in existing[len(wanted):]:
        store.delete("EndpointSlice", extra.name, extra.namespace)


def _body(service: Service, ports: tuple, endpoints: list[dict]) -> dict:
    labels = {k: v for k, v in service.labels.items() if k != "service.kubernetes.io/headless"}
    labels[SERVICE_NAME_LABEL] = service.name
    labels[MANAGED_BY_LABEL] = CONTROLLER_NAME
    if service.headless:
        labels["service.kubernetes.io/headless"] = ""
    slice_ports = []
    for name, protocol, number, app_protocol in ports:
        entry = {"name": name, "port": number, "protocol": protocol}
        if app_protocol:
            entry["appProtocol"] = app_protocol
        slice_ports.append(entry)
    return {"labels": labels, "addressType": "IPv4", "endpoints": endpoints, "ports": slice_ports}


def _same(current: EndpointSlice, body: dict) -> bool:
    return (dict(current.labels) == body["labels"]
            and current.get("endpoints", []) == body["endpoints"]
            and current.get("ports", []) == body["ports"])


def _fill(data: dict, body: dict, now: str) -> None:
    data["metadata"]["labels"] = body["labels"]
    data["metadata"].setdefault("annotations", {})["endpoints.kubernetes.io/last-change-trigger-time"] = now
    data["addressType"] = body["addressType"]
    data["endpoints"] = body["endpoints"]
    data["ports"] = body["ports"]
