"""What kube-apiserver itself keeps in the store: the `kubernetes` Service and its endpoints.

The Service gets the first address of the service range and port 443
(https) → 6443; its EndpointSlice (named `kubernetes`, no selector, written
by the API server's endpoint reconciler) lists the control-plane nodes'
addresses.
"""

from __future__ import annotations

from ipaddress import ip_network

from netsim.api.store import Store

SECURE_PORT = 6443


def first_service_ip(service_cidr: str) -> str:
    """The `kubernetes` Service's ClusterIP: the first address of the range."""
    return str(ip_network(service_cidr).network_address + 1)


def reconcile(store: Store, service_cidr: str) -> None:
    """Create the `kubernetes` Service if missing, and keep its EndpointSlice listing the control planes."""
    if store.try_get("Service", "kubernetes", "default") is None:
        store.create({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "kubernetes", "namespace": "default",
                         "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"clusterIP": first_service_ip(service_cidr), "type": "ClusterIP",
                     "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": SECURE_PORT}]},
        })
    addresses = sorted(
        n.internal_ip for n in store.list("Node")
        if "node-role.kubernetes.io/control-plane" in n.labels and n.internal_ip
    )
    body = {
        "addressType": "IPv4",
        "endpoints": [{"addresses": [a], "conditions": {"ready": True}} for a in addresses],
        "ports": [{"name": "https", "port": SECURE_PORT, "protocol": "TCP"}],
    }
    current = store.try_get("EndpointSlice", "kubernetes", "default")
    if current is None:
        store.create({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                      "metadata": {"name": "kubernetes", "namespace": "default",
                                   "labels": {"kubernetes.io/service-name": "kubernetes"}}, **body})
    elif any(current.get(k) != v for k, v in body.items()):
        store.update(current.evolve(lambda d: d.update(body)))
