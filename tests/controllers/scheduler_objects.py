"""Hand-built Nodes, Pods and scheduler snapshots for the scheduler's plugin tests."""

from __future__ import annotations

from netsim.api.objects import Node, Pod, make_object
from netsim.controllers.scheduler_snapshot import NodeInfo, Snapshot

NOW = "2024-01-01T00:10:00Z"


def node(name: str, cpu: str = "4", memory: str = "16Gi", labels: dict | None = None,
         taints: list | None = None, images: list | None = None) -> Node:
    """A Node with the hostname label, the given allocatable, labels, taints and status.images."""
    status: dict = {"allocatable": {"cpu": cpu, "memory": memory, "pods": "110"}}
    if images is not None:
        status["images"] = images
    return make_object({"apiVersion": "v1", "kind": "Node",
                        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
                        "spec": {"taints": taints or []}, "status": status})  # type: ignore[return-value]


def pod(name: str, on: str = "", requests: dict | None = None, labels: dict | None = None,
        namespace: str = "default", priority: int = 0, spec: dict | None = None, owner: tuple | None = None,
        start: str | None = None, image: str = "nginx:1.25") -> Pod:
    """A Pod (bound to `on` when given) with one container requesting `requests`."""
    container: dict = {"name": "app", "image": image}
    if requests:
        container["resources"] = {"requests": requests}
    meta: dict = {"name": name, "namespace": namespace, "uid": f"uid-{name}", "labels": labels or {}}
    if owner:
        kind, owner_name = owner
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": kind, "name": owner_name,
                                    "uid": f"uid-{owner_name}", "controller": True}]
    body = {"containers": [container], "priority": priority, **(spec or {})}
    if on:
        body["nodeName"] = on
    status: dict = {"phase": "Running" if on else "Pending"}
    if start:
        status["startTime"] = start
    return make_object({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": body,
                        "status": status})  # type: ignore[return-value]


def snapshot(nodes: list[Node], pods: list[Pod] | tuple = (), namespaces: dict | None = None,
             services: list | tuple = (), replicasets: list | tuple = (), statefulsets: list | tuple = ()) -> Snapshot:
    """The snapshot the scheduler would take of these objects."""
    infos = {n.name: NodeInfo(n, [p for p in pods if p.node_name == n.name]) for n in nodes}
    labels = namespaces if namespaces is not None else {"default": {"kubernetes.io/metadata.name": "default"}}
    return Snapshot(infos, labels, list(services), list(replicasets), list(statefulsets), NOW)


def replicaset(name: str, match_labels: dict, namespace: str = "default"):
    """A ReplicaSet with a matchLabels selector (only its selector matters to the scheduler)."""
    return make_object({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                        "metadata": {"name": name, "namespace": namespace},
                        "spec": {"selector": {"matchLabels": match_labels}}})


def service(name: str, selector: dict, namespace: str = "default"):
    """A Service with a selector."""
    return make_object({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": namespace},
                        "spec": {"selector": selector}})
