"""The cluster's control plane: the store, the controllers and the kubelets, driven by the simulated clock.

`Cluster.build(topology, manifests, seed)` makes a store with the default
namespaces, registers the nodes, applies the manifests (all or nothing,
keeping the identities a dump of a real cluster carries) and settles.
Settling runs every controller and kubelet in a fixed order until a whole
pass changes nothing (all at one instant); a component that waits for time
to pass (a container's start, a readiness probe, a back-off, a grace
period, the node monitor's grace) says when it next has work, and the
cluster puts a wake-up on the simulation's event queue for that instant, as
a controller's work queue does with AddAfter. `advance(seconds)` runs the
queue forward; `build` runs it until nothing is due within `horizon`
seconds (the default pod starts and is Ready at once, so a plain cluster
settles without the clock moving). Every random draw comes from one seeded
generator, split per component, so the same inputs and seed give the same
objects and events.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from netsim.api.apply import apply_manifests
from netsim.api.load import Manifest
from netsim.api.store import Store
from netsim.api.topology import Topology
from netsim.controllers import (apiserver, cronjob, daemonset, deployment, disruption, endpointslice, job,
                                nodelifecycle, replicaset, scheduler, servicelb, statefulset, volumes)
from netsim.controllers.allocation import ServiceAllocator
from netsim.controllers.workloads import RetryQueue
from netsim.controllers import namespace as namespace_controller
from netsim.controllers import serviceaccount, volume_expansion
from netsim.controllers.podgc import PodGC
from netsim.controllers.attachdetach import AttachDetach
from netsim.auth.certificates import ca_for_seed
from netsim.auth import aggregation
from netsim.emulator.addons import install_addons, reconcile_l7_status
from netsim.errors import NetsimError
from netsim.kubelet.ipam import HostLocalIpam
from netsim.kubelet.pods import Kubelet
from netsim.kubelet.registration import register_nodes
from netsim.sim.clock import Clock
from netsim.sim.queue import EventQueue
from netsim.sim.rng import Random

MAX_PASSES = 200
BUILD_HORIZON = 30.0   # seconds `build` lets pass at most while things are still due


class DidNotSettle(NetsimError):
    """The controllers kept changing the store; a controller bug, reported rather than looped on."""


def child_rng(seed: int, component: str) -> np.random.Generator:
    """A generator for one component, independent of the others and stable across runs."""
    return Random(seed).child(component).generator


class Cluster:
    """The api state of one emulated cluster and the components that act on it."""

    def __init__(self, topology: Topology, seed: int, clock: Clock | None = None) -> None:
        self.topology = topology
        self.seed = seed
        self.clock = clock or Clock()
        self.feature_gates = dict(topology.feature_gates)   # the kube-controller-manager's --feature-gates
        self.store = Store(
            clock=self.clock.now,
            rng=child_rng(seed, "apiserver"),
            admission=(ServiceAllocator(str(topology.service_subnet), child_rng(seed, "service-allocator")),
                       scheduler.admit_priority,
                       serviceaccount.ServiceAccountAdmission(child_rng(seed, "serviceaccount-admission")),
                       volume_expansion.PersistentVolumeClaimResize(self.feature_gates)),
            event_rng=child_rng(seed, "events"),
        )
        self.scheduler_rng = child_rng(seed, "scheduler")
        self.serviceaccount_rng = child_rng(seed, "serviceaccount-controllers")
        self.provisioners = volumes.ExternalProvisioners(seed)   # their identities: the Provisioning events' source
        self.kubelets: dict[str, Kubelet] = {}
        self.queue = EventQueue(self.clock)
        self.nodes = nodelifecycle.NodeHealth()
        self.speakers = servicelb.Speakers()   # MetalLB's layer-2 announcements (who answers ARP, since when)
        self.attach_detach = AttachDetach()   # its detach request times and reported Multi-Attach errors
        self.podgc = PodGC(self.clock.now())   # the pod garbage collector's tick grid and quarantine
        self.retries = RetryQueue()   # the workload controllers' rate-limited requeues
        self._wakeups: set[float] = set()
        self._slice_log: list[tuple[float, str, object]] = []   # (time, watch type, EndpointSlice)
        self._slices_synced = 0                                  # log entries every kube-proxy has seen
        self.store.watch(self._log_slice)

    @classmethod
    def build(cls, topology: Topology, manifests: Sequence[Manifest], seed: int = 0,
              clock: Clock | None = None, horizon: float = BUILD_HORIZON) -> Cluster:
        """A cluster with the manifests applied, settled, and run until nothing is due within `horizon` seconds."""
        cluster = cls(topology, seed, clock)
        nodes = [m for m in manifests if m.obj.kind == "Node"]
        others = [m for m in manifests if m.obj.kind != "Node"]
        apply_manifests(cluster.store, nodes, restore=True)
        register_nodes(cluster.store, topology)
        install_addons(cluster.store, topology, others)   # kubeadm's CoreDNS, unless the manifests hold it
        apply_manifests(cluster.store, others, restore=True)
        apiserver.reconcile(cluster.store, str(topology.service_subnet))
        cluster.settle()
        cluster.run_quiet(horizon)
        cluster._slices_synced = len(cluster._slice_log)   # kube-proxy starts with the built cluster's slices
        return cluster

    def _kubelet(self, node) -> Kubelet | None:
        if node.name not in self.kubelets and node.pod_cidrs and node.internal_ip:
            self.kubelets[node.name] = Kubelet(node.name, node.internal_ip, HostLocalIpam(node.pod_cidrs[0]),
                                              self.topology)
        return self.kubelets.get(node.name)

    def root_ca_pem(self) -> str:
        """The cluster CA certificate, PEM (kube-root-ca.crt's ca.crt); derived from the seed on first use."""
        return ca_for_seed(self.seed, self.clock.start).pem.decode()

    def reconcile_once(self) -> None:
        """One pass of every controller and kubelet, in a fixed order."""
        store = self.store
        now = self.clock.now()
        apiserver.reconcile(store, str(self.topology.service_subnet))
        aggregation.reconcile(store)
        serviceaccount.reconcile(store, self.root_ca_pem, self.serviceaccount_rng)
        self.wake_at(nodelifecycle.reconcile(store, now, self.nodes))
        self.wake_at(self.podgc.reconcile(store, now))
        self.wake_at(deployment.reconcile(store))
        self.wake_at(replicaset.reconcile(store, self.retries))
        self.wake_at(statefulset.reconcile(store, self.feature_gates, self.retries))
        self.wake_at(daemonset.reconcile(store, self.retries))
        self.wake_at(cronjob.reconcile(store, now))
        self.wake_at(job.reconcile(store, now, self.retries))
        volumes.reconcile(store, self.provisioners, self.feature_gates)
        namespace_controller.reconcile(store)
        scheduler.reconcile(store, self.scheduler_rng)
        self.wake_at(self.attach_detach.reconcile(store, now))
        for node in store.list("Node"):
            kubelet = self._kubelet(node)
            if kubelet is not None and self.nodes.up(node.name):
                self.wake_at(kubelet.reconcile(store, now))
        endpointslice.reconcile(store)
        self.wake_at(disruption.reconcile(store))
        servicelb.reconcile(store, self.topology.load_balancer_pool)
        self.wake_at(self.speakers.reconcile(store, self.nodes, now))
        reconcile_l7_status(store)

    def settle(self) -> int:
        """Reconcile until a pass changes nothing (at this instant); returns the number of passes."""
        for passes in range(1, MAX_PASSES + 1):
            before = self.store.resource_version
            self.reconcile_once()
            if self.store.resource_version == before:
                return passes
        raise DidNotSettle(f"the controllers were still changing objects after {MAX_PASSES} passes")

    # the clock ---------------------------------------------------------------------------
    def wake_at(self, when: float) -> None:
        """Have the controllers and kubelets run again at `when` (epoch seconds; inf: never)."""
        if not when < float("inf"):
            return
        when = round(when, 6)
        if when <= self.clock.now() or when in self._wakeups:
            return   # work due now is the settle loop's; asking again would spin at this instant
        self._wakeups.add(when)

        def wake() -> None:
            self._wakeups.discard(when)
            self.settle()

        self.queue.schedule(when, wake, name="reconcile")

    def advance(self, seconds: float) -> int:
        """Run the next `seconds` of simulated time; returns how many wake-ups ran."""
        self.settle()
        return self.queue.run_until(self.clock.now() + seconds)

    def run_quiet(self, horizon: float = BUILD_HORIZON) -> float:
        """Run wake-ups until none is due within `horizon` seconds of the last; returns the seconds that passed."""
        start = self.clock.now()
        while self.queue.peek() <= self.clock.now() + horizon and self.queue.peek() <= start + horizon:
            self.queue.step()
        return self.clock.now() - start

    # what each node's kube-proxy has seen ---------------------------------------------------
    def _log_slice(self, event) -> None:
        if event.obj.kind == "EndpointSlice":
            self._slice_log.append((self.clock.now(), event.type, event.obj))

    def endpoint_slices_seen_by(self, node_name: str) -> list:
        """The EndpointSlices as `node_name`'s kube-proxy has them now: the store's, as they were
        `netsim.endpointPropagationSeconds` ago (the watch's and the sync's lag; 0: as they are). What
        `build` settled is seen at once: kube-proxy starts with a full sync."""
        delay = self.topology.endpoint_propagation_seconds
        if not delay:
            return list(self.store.list("EndpointSlice"))
        cutoff = self.clock.now() - delay
        seen: dict = {}
        for index, (when, change, obj) in enumerate(self._slice_log):
            if when > cutoff and index >= self._slices_synced:
                break
            if change == "DELETED":
                seen.pop(obj.key, None)  # type: ignore[attr-defined]
            else:
                seen[obj.key] = obj  # type: ignore[attr-defined]
        return sorted(seen.values(), key=lambda o: (o.namespace, o.name))  # type: ignore[attr-defined]

    # the nodes' health -------------------------------------------------------------------
    def fail_node(self, name: str) -> None:
        """The node stops: its kubelet posts nothing and runs nothing (a crashed or unreachable machine)."""
        self.store.get("Node", name)
        self.nodes.fail(name, self.clock.now())
        self.settle()

    def recover_node(self, name: str) -> None:
        """The node is back: its kubelet posts Ready again and finishes what it was told meanwhile."""
        self.store.get("Node", name)
        self.nodes.recover(name, self.clock.now())
        if name in self.kubelets:
            self.kubelets[name].resync()   # its status manager sends every pod's status again
        self.settle()
