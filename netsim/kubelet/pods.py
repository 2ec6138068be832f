"""The lifecycle of pods on one node (thin for now): sandbox, address, Running and Ready.

A pod bound to this node gets its address from the node's IPAM (the node's
own address with hostNetwork), then goes Running with every container
started and Ready (probes and start-up time are not emulated yet: a
container is ready as soon as it starts). Forming the sandbox's
resolv.conf (resolvconf.py) records kubelet's DNSConfigForming warnings, as
GetPodDNS does. A pod being deleted is stopped and removed at once (preStop
hooks and the grace period are for the termination-sequence work to come).
"""

from __future__ import annotations

from netsim.api.objects import Pod
from netsim.api.store import Store
from netsim.api.topology import Topology
from netsim.kubelet.ipam import HostLocalIpam
from netsim.kubelet.resolvconf import record_dns_warnings

COMPONENT = "kubelet"


class Kubelet:
    """One node's kubelet: runs the pods the scheduler bound to it."""

    def __init__(self, node_name: str, node_ip: str, ipam: HostLocalIpam, topology: Topology | None = None) -> None:
        self.node_name = node_name
        self.node_ip = node_ip
        self.ipam = ipam
        self.topology = topology   # clusterDNS, clusterDomain and the node's resolv.conf (resolvconf.py)

    def reconcile(self, store: Store) -> None:
        """One pass over this node's pods."""
        for pod in store.list("Pod", where=lambda p: p.node_name == self.node_name):
            owner = f"{pod.namespace}/{pod.name}"
            if pod.deletion_timestamp:
                self.ipam.release(owner)
                store.delete("Pod", pod.name, pod.namespace, grace_period=0)
                continue
            if pod.phase == "Pending":
                self._start(store, pod, owner)  # type: ignore[arg-type]
            elif pod.pod_ip and not pod.host_network and pod.phase == "Running":
                self.ipam.reserve(pod.pod_ip, owner)  # a pod that was running before (a dump)

    def _start(self, store: Store, pod: Pod, owner: str) -> None:
        if pod.host_network:
            address = self.node_ip
        elif pod.pod_ip:
            self.ipam.reserve(pod.pod_ip, owner)
            address = pod.pod_ip
        else:
            address = str(self.ipam.allocate(owner))
        now = store.now()

        def running(d: dict) -> None:
            status = d.setdefault("status", {})
            status["phase"] = "Running"
            status["hostIP"] = self.node_ip
            status["hostIPs"] = [{"ip": self.node_ip}]
            status["podIP"] = address
            status["podIPs"] = [{"ip": address}]
            status["startTime"] = now
            status["conditions"] = [
                {"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": now}
                for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")
            ]
            status["containerStatuses"] = [
                {"name": c["name"], "image": c.get("image", ""), "imageID": "", "ready": True, "restartCount": 0,
                 "started": True, "state": {"running": {"startedAt": now}}, "lastState": {}}
                for c in d["spec"]["containers"]
            ]

        if self.topology is not None:
            record_dns_warnings(store, pod, self.topology, self.node_name)   # the sandbox's resolv.conf
        store.update(pod.evolve(running))
        for c in pod.containers:
            store.record_event(pod, "Normal", "Started", f"Started container {c.name}", COMPONENT, self.node_name)
