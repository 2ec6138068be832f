"""The cluster's control plane: the store, the controllers and the kubelets, driven to a steady state.

`Cluster.build(topology, manifests, seed)` makes a store with the default
namespaces, registers the nodes, applies the manifests (all or nothing,
keeping the identities a dump of a real cluster carries) and
runs every controller and kubelet in a fixed order until a whole pass
changes nothing. Every random draw comes from one seeded generator, split
per component, so the same inputs and seed give the same objects.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from netsim.api.apply import apply_manifests
from netsim.api.load import Manifest
from netsim.api.store import Store
from netsim.api.topology import Topology
from netsim.controllers import apiserver, deployment, endpointslice, replicaset, scheduler, servicelb
from netsim.controllers.allocation import ServiceAllocator
from netsim.emulator.addons import install_addons
from netsim.errors import NetsimError
from netsim.kubelet.ipam import HostLocalIpam
from netsim.kubelet.pods import Kubelet
from netsim.kubelet.registration import register_nodes
from netsim.sim.clock import Clock
from netsim.sim.rng import Random

MAX_PASSES = 200


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
        self.store = Store(
            clock=self.clock.now,
            rng=child_rng(seed, "apiserver"),
            admission=(ServiceAllocator(str(topology.service_subnet), child_rng(seed, "service-allocator")),),
        )
        self.scheduler_rng = child_rng(seed, "scheduler")
        self.kubelets: dict[str, Kubelet] = {}

    @classmethod
    def build(cls, topology: Topology, manifests: Sequence[Manifest], seed: int = 0,
              clock: Clock | None = None) -> Cluster:
        """A cluster with the manifests applied and every controller settled."""
        cluster = cls(topology, seed, clock)
        nodes = [m for m in manifests if m.obj.kind == "Node"]
        others = [m for m in manifests if m.obj.kind != "Node"]
        apply_manifests(cluster.store, nodes, restore=True)
        register_nodes(cluster.store, topology)
        install_addons(cluster.store, topology, others)   # kubeadm's CoreDNS, unless the manifests hold it
        apply_manifests(cluster.store, others, restore=True)
        apiserver.reconcile(cluster.store, str(topology.service_subnet))
        cluster.settle()
        return cluster

    def _kubelet(self, node) -> Kubelet | None:
        if node.name not in self.kubelets and node.pod_cidrs and node.internal_ip:
            self.kubelets[node.name] = Kubelet(node.name, node.internal_ip, HostLocalIpam(node.pod_cidrs[0]),
                                              self.topology)
        return self.kubelets.get(node.name)

    def reconcile_once(self) -> None:
        """One pass of every controller and kubelet, in a fixed order."""
        store = self.store
        apiserver.reconcile(store, str(self.topology.service_subnet))
        deployment.reconcile(store)
        replicaset.reconcile(store)
        scheduler.reconcile(store, self.scheduler_rng)
        for node in store.list("Node"):
            kubelet = self._kubelet(node)
            if kubelet is not None:
                kubelet.reconcile(store)
        endpointslice.reconcile(store)
        servicelb.reconcile(store, self.topology.load_balancer_pool)

    def settle(self) -> int:
        """Reconcile until a pass changes nothing; returns the number of passes."""
        for passes in range(1, MAX_PASSES + 1):
            before = self.store.resource_version
            self.reconcile_once()
            if self.store.resource_version == before:
                return passes
        raise DidNotSettle(f"the controllers were still changing objects after {MAX_PASSES} passes")
