"""ClusterIP and NodePort allocation, done when a Service is created (the API server's registry does this).

Both follow the allocators of kube-apiserver: a range split into a static band
(the lowest addresses/ports, for users who pick their own) and a dynamic band
that random allocations prefer (KEP-3070 for ClusterIPs, KEP-3668 for
NodePorts). The first address of the service range is the `kubernetes`
Service's. Draws come from the seeded generator handed in.
"""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

from netsim.api.errors import FieldError
from netsim.api.store import Store

NODE_PORT_RANGE = (30000, 32767)


def static_band_size(size: int) -> int:
    """How many of `size` values form the static band: size/16 clamped to [16, 256] (KEP-3070)."""
    return min(max(16, size // 16), 256)


class ServiceAllocator:
    """Admission step that fills spec.clusterIP(s) and nodePorts of new Services."""

    def __init__(self, service_cidr: str, rng, node_ports: tuple[int, int] = NODE_PORT_RANGE) -> None:
        self.network: IPv4Network | IPv6Network = ip_network(service_cidr)
        self.rng = rng
        self.node_ports = node_ports

    def __call__(self, store: Store, data: dict) -> None:
        if data["kind"] != "Service":
            return
        spec = data["spec"]
        if spec.get("type") == "ExternalName":
            return
        used_ips = {ip for svc in store.list("Service") for ip in svc.cluster_ips if ip != "None"}  # not headless
        ip = spec.get("clusterIP") or ""
        if ip == "":
            ip = self._pick_ip(used_ips)
        elif ip != "None":
            self._check_ip(ip, used_ips)
        spec["clusterIP"] = ip
        spec["clusterIPs"] = [ip]
        if ip != "None":
            spec.setdefault("ipFamilies", ["IPv6" if self.network.version == 6 else "IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        if spec.get("type") in ("NodePort", "LoadBalancer") and spec.get("allocateLoadBalancerNodePorts", True):
            used_ports = {p.node_port for svc in store.list("Service") for p in svc.ports if p.node_port}
            for index, port in enumerate(spec.get("ports") or ()):
                if port.get("nodePort"):
                    self._check_node_port(port["nodePort"], used_ports, index)
                else:
                    port["nodePort"] = self._pick_node_port(used_ports)
                used_ports.add(port["nodePort"])

    def _check_ip(self, ip: str, used: set[str]) -> None:
        if ip_address(ip) not in self.network:
            raise FieldError(f"the provided IP ({ip}) is not in the valid range. The range of valid IPs is "
                             f"{self.network}", "spec.clusterIP")
        if ip in used:
            raise FieldError(f"provided IP is already allocated, got {ip}", "spec.clusterIP")

    def _pick_ip(self, used: set[str]) -> str:
        size = self.network.num_addresses - (2 if self.network.version == 4 else 1)
        static = static_band_size(size)
        first = int(self.network.network_address) + 1
        # the dynamic band first, then the static band, as the allocator does when the upper band is full
        for low, high in ((first + static, first + size - 1), (first + 1, first + static - 1)):
            free = high - low + 1 - sum(1 for ip in used if low <= int(ip_address(ip)) <= high)
            if free <= 0:
                continue
            start = int(self.rng.integers(0, high - low + 1))
            for offset in range(high - low + 1):
                candidate = str(ip_address(low + (start + offset) % (high - low + 1)))
                if candidate not in used:
                    return candidate
        raise FieldError(f"range is full: no ClusterIP left in {self.network}", "spec.clusterIP")

    def _check_node_port(self, port: int, used: set[int], index: int) -> None:
        low, high = self.node_ports
        if not low <= port <= high:
            raise FieldError(f"provided port is not in the valid range. The range of valid ports is {low}-{high}",
                             f"spec.ports[{index}].nodePort")
        if port in used:
            raise FieldError(f"provided port is already allocated, got {port}", f"spec.ports[{index}].nodePort")

    def _pick_node_port(self, used: set[int]) -> int:
        low, high = self.node_ports
        size = high - low + 1
        static = min(max(16, size // 32), 128)  # KEP-3668: the node-port static band
        for band_low, band_high in ((low + static, high), (low, low + static - 1)):
            span = band_high - band_low + 1
            start = int(self.rng.integers(0, span))
            for offset in range(span):
                candidate = band_low + (start + offset) % span
                if candidate not in used:
                    return candidate
        raise FieldError(f"range is full: no node port left in {low}-{high}", "spec.ports.nodePort")
