"""Node registration: the Node object a kubelet (with kubeadm's additions) creates for itself.

Labels and taints come from the topology (kubeadm puts the control-plane
label and NoSchedule taint on control planes); the podCIDR is the one the
nodeipam controller hands out, which the topology computes in node order;
capacity is netsim's default machine size unless the Node object in the
manifests says otherwise. A Node given in the manifests (a dump of a real
cluster) is kept as it is, and only what it lacks is filled from the topology.
"""

from __future__ import annotations

import copy

from netsim.api.objects import Node
from netsim.api.store import Store
from netsim.api.topology import NodeSpec, Topology

# The machine size a node reports when nothing else says (status.capacity).
DEFAULT_CAPACITY = {"cpu": "4", "ephemeral-storage": "102400Mi", "memory": "16Gi", "pods": "110"}
KUBELET_VERSION = "v1.31.0"
# The conditions a healthy kubelet posts, in its order (kubelet's setters.go: MemoryPressureCondition,
# DiskPressureCondition, PIDPressureCondition, ReadyCondition).
NODE_CONDITIONS = (
    {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory",
     "message": "kubelet has sufficient memory available"},
    {"type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure",
     "message": "kubelet has no disk pressure"},
    {"type": "PIDPressure", "status": "False", "reason": "KubeletHasSufficientPID",
     "message": "kubelet has sufficient PID available"},
    {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status"},
)


def node_manifest(spec: NodeSpec) -> dict:
    """The Node a kubelet on `spec` registers, Ready, with the topology's labels and taints."""
    cidrs = [str(c) for c in spec.pod_cidrs]
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": spec.name, "labels": spec.labels_dict(),
                     "annotations": {"node.alpha.kubernetes.io/ttl": "0"}},
        "spec": {
            "podCIDR": cidrs[0],
            "podCIDRs": cidrs,
            "providerID": f"kind://docker/netsim/{spec.name}",
            **({"taints": [{"key": t.key, "effect": t.effect, **({"value": t.value} if t.value else {})}
                           for t in spec.taints]} if spec.taints else {}),
        },
        "status": {
            "addresses": [{"address": str(spec.ip), "type": "InternalIP"},
                          {"address": spec.name, "type": "Hostname"}],
            "capacity": dict(DEFAULT_CAPACITY),
            "allocatable": dict(DEFAULT_CAPACITY),
            "conditions": [dict(c) for c in NODE_CONDITIONS],
            "nodeInfo": {"architecture": "amd64", "operatingSystem": "linux", "kubeletVersion": KUBELET_VERSION,
                         "osImage": "Debian GNU/Linux 12 (bookworm)", "kernelVersion": "6.1.0-netsim",
                         "kubeProxyVersion": KUBELET_VERSION, "containerRuntimeVersion": "containerd://1.7.18"},
        },
    }


def register_nodes(store: Store, topology: Topology) -> list[Node]:
    """Make sure the cluster has its nodes; returns them sorted by name.

    With no Node in the store, every topology node registers. When the manifests
    brought Nodes, those are the cluster's nodes: a topology node of the same name
    only fills in what the Node lacks (labels such as the zone, a podCIDR), and
    topology nodes with no Node of that name are not added.
    """
    given = {n.name: n for n in store.list("Node")}
    for spec in topology.nodes:
        wanted = node_manifest(spec)
        existing = given.get(spec.name)
        if existing is not None:
            store.update(existing.evolve(lambda d: _complete(d, wanted)))
        elif not given:
            stamp = store.now()
            for cond in wanted["status"]["conditions"]:
                cond.update(lastHeartbeatTime=stamp, lastTransitionTime=stamp)
            store.create(wanted)
    return store.list("Node")  # type: ignore[return-value]


def _complete(data: dict, wanted: dict) -> None:
    """Fill what a user-given Node lacks; never overwrite what it says."""
    for section in ("metadata", "spec", "status"):
        target = data.setdefault(section, {})
        for key, value in wanted[section].items():
            if key not in target:
                target[key] = copy.deepcopy(value)
    labels = data["metadata"].setdefault("labels", {})
    for key, value in wanted["metadata"]["labels"].items():
        labels.setdefault(key, value)
