"""A reachability matrix: from every running pod to every Service port and every declared pod port.

Each cell sends `samples` connections (TCP or UDP as the port declares) and
says how they ended: `ok` when every one was delivered to an application
and its answer came back, else the outcome (`rejected`, `dropped`,
`no-listener`, ...), or `k/n` when only some were. A Service's cell samples
its random endpoint choice, so `samples` > 1 is what finds a broken
endpoint behind a working one. Rows and columns are in name order.

`truth_tables` is the NetworkPolicy e2e suite's view of the same network
(netpol_model.py): pods x pods, one table per port and protocol, `.` for
allowed and `X` for blocked, as the suite prints them.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from netsim.dataplane.trace import Outcome
from netsim.emulator.emulator import Emulator
from netsim.emulator.traffic import FlowSpec
from netsim.verify.observe import observe, pods_by_host


@dataclass(frozen=True, slots=True)
class Column:
    """A destination: `svc/ns/name:port` or `pod/ns/name:port`, with its protocol."""

    ref: str
    protocol: str

    @property
    def label(self) -> str:
        """`svc/default/web:80/TCP`."""
        return f"{self.ref}/{self.protocol}"


@dataclass(frozen=True, slots=True)
class Cell:
    """How a row's connections to a column ended."""

    delivered: int
    samples: int
    outcomes: tuple[tuple[str, int], ...]  # outcome -> connections, sorted

    @property
    def text(self) -> str:
        """`ok`, `k/n`, or the failure outcome."""
        if self.delivered == self.samples:
            return "ok"
        if self.delivered:
            return f"{self.delivered}/{self.samples}"
        return self.outcomes[0][0] if len(self.outcomes) == 1 else "+".join(o for o, _ in self.outcomes)


@dataclass(frozen=True, slots=True)
class Matrix:
    """Rows (source pods), columns (destinations) and one cell per pair."""

    rows: tuple[str, ...]
    columns: tuple[Column, ...]
    cells: tuple[tuple[Cell, ...], ...]

    def table(self) -> str:
        """The destinations numbered in a legend, then one row per source with a column per number."""
        lines = ["TO"]
        lines += [f"  {i:>3}  {c.label}" for i, c in enumerate(self.columns, start=1)]
        headers = ["FROM \\ TO", *[str(i) for i in range(1, len(self.columns) + 1)]]
        body = [[row, *[cell.text for cell in cells]] for row, cells in zip(self.rows, self.cells)]
        widths = [max(len(r[i]) for r in [headers, *body]) for i in range(len(headers))]
        lines.append("")
        for r in [headers, *body]:
            lines.append("  ".join([r[0].ljust(widths[0])] + [v.rjust(w) for v, w in zip(r[1:], widths[1:])]))
        return "\n".join(lines) + "\n"

    def csv(self) -> str:
        """One line per (source, destination) pair."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["from", "to", "protocol", "result", "delivered", "samples"])
        for row, cells in zip(self.rows, self.cells):
            for column, cell in zip(self.columns, cells):
                writer.writerow([row, column.ref, column.protocol, cell.text, cell.delivered, cell.samples])
        return out.getvalue()

    def json(self) -> str:
        """The matrix as JSON: columns, then rows with their cells."""
        return json.dumps({
            "columns": [{"to": c.ref, "protocol": c.protocol} for c in self.columns],
            "rows": [{"from": row, "cells": [{"to": col.ref, "result": cell.text, "delivered": cell.delivered,
                                              "samples": cell.samples, "outcomes": dict(cell.outcomes)}
                                             for col, cell in zip(self.columns, cells)]}
                     for row, cells in zip(self.rows, self.cells)]}, indent=2) + "\n"


def columns(emulator: Emulator, services: bool = True, pods: bool = True,
            namespace: str | None = None) -> tuple[Column, ...]:
    """Every ClusterIP Service port, then every declared container port of a running pod."""
    store = emulator.cluster.store
    out: list[Column] = []
    if services:
        for svc in sorted(store.list("Service", namespace), key=lambda s: (s.namespace, s.name)):
            if svc.cluster_ip and not svc.headless:  # type: ignore[attr-defined]
                for port in svc.ports:  # type: ignore[attr-defined]
                    if port.protocol in ("TCP", "UDP"):
                        out.append(Column(f"svc/{svc.namespace}/{svc.name}:{port.port}", port.protocol))
    if pods:
        for pod in _pods(emulator, namespace):
            seen = set()
            for container in pod.containers:
                for port in container.ports:
                    key = (port.container_port, port.protocol)
                    if port.protocol in ("TCP", "UDP") and key not in seen:
                        seen.add(key)
                        out.append(Column(f"pod/{pod.namespace}/{pod.name}:{port.container_port}", port.protocol))
    return tuple(out)


def _pods(emulator: Emulator, namespace: str | None):
    return sorted((p for p in emulator.cluster.store.list("Pod", namespace) if p.phase == "Running" and p.pod_ip),
                  key=lambda p: (p.namespace, p.name))


def reachability(emulator: Emulator, samples: int = 1, namespace: str | None = None, services: bool = True,
                 pods: bool = True, progress: Callable[[int, int], None] | None = None) -> Matrix:
    """The matrix for every running pod (in `namespace`, or all) as a source."""
    store = emulator.cluster.store
    sources = _pods(emulator, namespace)
    cols = columns(emulator, services, pods, namespace)
    by_host = pods_by_host(store)
    rows, cells = [], []
    total, done = len(sources) * len(cols), 0
    for pod in sources:
        rows.append(f"pod/{pod.namespace}/{pod.name}")
        line = []
        for col in cols:
            flow = FlowSpec(col.label, rows[-1], col.ref, col.protocol, samples)
            found = Counter()
            delivered = 0
            for n, conn in enumerate(emulator.send(flow, f"reach {rows[-1]} -> {col.ref}"), start=1):
                o = observe(store, conn, n, by_host)
                ok = o.outcome is Outcome.DELIVERED and bool(o.reply)
                delivered += ok
                found["ok" if ok else (o.outcome.value if o.outcome is not Outcome.DELIVERED else "no-answer")] += 1
            line.append(Cell(delivered, samples, tuple(sorted((k, v) for k, v in found.items() if k != "ok"))))
            done += 1
            if progress is not None:
                progress(done, total)
        cells.append(tuple(line))
    return Matrix(tuple(rows), cols, tuple(cells))


# --- the NetworkPolicy e2e suite's view: truth tables of pods x pods, per port and protocol ----------------
def model_items(emulator: Emulator, namespace: str | None = None) -> tuple[str, ...]:
    """The pods a truth table covers (`ns/name`): running pods with their own IP, all namespaces but
    kube-system (or only `namespace`), in name order."""
    return tuple(f"{p.namespace}/{p.name}" for p in _pods(emulator, namespace)
                 if not p.host_network and (namespace is not None or p.namespace != "kube-system"))


def model_ports(emulator: Emulator, items: tuple[str, ...]) -> tuple[tuple[int, str], ...]:
    """Every (port, protocol) a covered pod declares (TCP and UDP), by protocol then port."""
    store = emulator.cluster.store
    found = set()
    for item in items:
        ns, name = item.split("/", 1)
        for container in store.get("Pod", name, ns).containers:  # type: ignore[attr-defined]
            found.update((p.container_port, p.protocol) for p in container.ports if p.protocol in ("TCP", "UDP"))
    return tuple(sorted(found, key=lambda pp: (pp[1], pp[0])))


def truth_tables(emulator: Emulator, namespace: str | None = None,
                 ports: tuple[tuple[int, str], ...] | None = None) -> str:
    """One e2e-format truth table (truthtable.go PrettyPrint: `.` allowed, `X` blocked) per port and protocol,
    each pair probed once through the destination's `s-<ns>-<pod>` Service when it exists, else its pod IP."""
    from netsim.verify.netpol_model import observe_table

    items = model_items(emulator, namespace)
    chosen = ports if ports is not None else model_ports(emulator, items)
    parts = []
    for port, protocol in chosen:
        table = observe_table(emulator, items, port, protocol)
        parts.append(f"port {port}, protocol {protocol}:\n\n{table.pretty()}\n")
    return "\n".join(parts)
