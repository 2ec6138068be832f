"""The Kubernetes NetworkPolicy e2e model (test/e2e/network/netpol/model.go) and its truth tables (truthtable.go).

The model is namespaces x, y, z, each labelled `ns: <name>`, each holding
pods a, b, c labelled `pod: <name>`; every pod has one container per
(port, protocol) — `cont-<port>-<proto>` serving port `serve-<port>-<proto>`
— and a ClusterIP Service `s-<ns>-<pod>` selecting it alone. The e2e suite
probes each pair through that Service (the policy then sees the pod IP after
DNAT). `TruthTable.pretty` prints as the suite's `PrettyPrint` does: a header
`-` then the pod names, tab separated; `.` allowed, `X` blocked, `?` unset.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from netsim.dataplane.trace import Outcome
from netsim.emulator.emulator import Emulator
from netsim.emulator.traffic import FlowSpec
from netsim.verify.observe import observe, pods_by_host

NAMESPACES = ("x", "y", "z")
PODS = ("a", "b", "c")
PORTS = (80, 81)
PROTOCOLS = ("TCP", "UDP")
IMAGE = "registry.k8s.io/e2e-test-images/agnhost:2.52"


def model_manifests(namespaces: Sequence[str] = NAMESPACES, pods: Sequence[str] = PODS,
                    ports: Sequence[int] = PORTS, protocols: Sequence[str] = PROTOCOLS) -> list[dict]:
    """The model's Namespaces, Pods and Services as manifest dicts, in namespace then pod order."""
    out: list[dict] = []
    for ns in namespaces:
        out.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": {"ns": ns}}})
    for ns in namespaces:
        for pod in pods:
            containers = [{"name": f"cont-{port}-{proto.lower()}", "image": IMAGE,
                           "ports": [{"containerPort": port, "name": f"serve-{port}-{proto.lower()}",
                                      "protocol": proto}]}
                          for proto in protocols for port in ports]
            out.append({"apiVersion": "v1", "kind": "Pod",
                        "metadata": {"name": pod, "namespace": ns, "labels": {"pod": pod}},
                        "spec": {"containers": containers}})
            out.append({"apiVersion": "v1", "kind": "Service",
                        "metadata": {"name": f"s-{ns}-{pod}", "namespace": ns},
                        "spec": {"selector": {"pod": pod},
                                 "ports": [{"name": f"service-port-{proto.lower()}-{port}", "protocol": proto,
                                            "port": port, "targetPort": port}
                                           for proto in protocols for port in ports]}})
    return out


@dataclass(frozen=True, slots=True)
class TruthTable:
    """An n x n table of booleans over pod names (`x/a`), as the e2e suite keeps one."""

    froms: tuple[str, ...]
    tos: tuple[str, ...]
    values: Mapping[tuple[str, str], bool] = field(default_factory=lambda: MappingProxyType({}))

    def get(self, src: str, dst: str) -> bool | None:
        """The value of one pair (None when unset)."""
        return self.values.get((src, dst))

    def pretty(self, indent: str = "") -> str:
        """truthtable.go's PrettyPrint: `-` and the tos, then one line per from; `.` true, `X` false, `?` unset."""
        lines = [indent + "\t".join(["-", *self.tos])]
        for src in self.froms:
            marks = []
            for dst in self.tos:
                value = self.values.get((src, dst))
                marks.append("?" if value is None else ("." if value else "X"))
            lines.append(indent + "\t".join([src, *marks]))
        return "\n".join(lines)

    def compare(self, other: TruthTable) -> TruthTable:
        """truthtable.go's Compare: true where both tables agree."""
        if self.froms != other.froms or self.tos != other.tos:
            raise ValueError("cannot compare tables of different items")
        return TruthTable(self.froms, self.tos, MappingProxyType(
            {k: v == other.values.get(k) for k, v in self.values.items()}))


def expected_table(items: Sequence[str], default: bool, changes: Mapping[tuple[str, str], bool] = MappingProxyType({})
                   ) -> TruthTable:
    """A table with every pair `default`, then `changes` applied (as the suite's Expect calls do)."""
    values = {(a, b): default for a in items for b in items}
    values.update(changes)
    return TruthTable(tuple(items), tuple(items), MappingProxyType(values))


def model_pod_names(namespaces: Sequence[str] = NAMESPACES, pods: Sequence[str] = PODS) -> tuple[str, ...]:
    """`x/a`, `x/b`, ... in the suite's order."""
    return tuple(f"{ns}/{pod}" for ns in namespaces for pod in pods)


def probe_target(emulator: Emulator, pod: str, port: int) -> str:
    """The destination the suite probes: `service/<ns>/s-<ns>-<pod>:port` when that Service exists, else the pod."""
    ns, name = pod.split("/", 1)
    if emulator.cluster.store.try_get("Service", f"s-{ns}-{name}", ns) is not None:
        return f"service/{ns}/s-{ns}-{name}:{port}"
    return f"pod/{ns}/{name}:{port}"


def observe_table(emulator: Emulator, items: Sequence[str], port: int, protocol: str) -> TruthTable:
    """Probe every ordered pair (one connection each) and record whether it was answered."""
    store = emulator.cluster.store
    by_host = pods_by_host(store)
    values: dict[tuple[str, str], bool] = {}
    for src in items:
        for dst in items:
            flow = FlowSpec(f"{src} -> {dst}:{port}/{protocol}", f"pod/{src}", probe_target(emulator, dst, port),
                            protocol, 1)
            conn = emulator.send(flow, "reach --model")[0]
            o = observe(store, conn, 1, by_host)
            values[(src, dst)] = o.outcome is Outcome.DELIVERED and bool(o.reply)
    return TruthTable(tuple(items), tuple(items), MappingProxyType(values))
