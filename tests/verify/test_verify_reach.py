"""The reachability matrix: cells say ok or how connections ended; table, CSV and JSON agree."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from netsim.verify.probe import ClusterProbe
from netsim.verify.reach import reachability

ROOT = Path(__file__).resolve().parents[2]


def test_matrix_of_the_rollout_after_v2_is_gone() -> None:
    probe = ClusterProbe.load(ROOT / "cluster/rollout")
    probe.scale("Deployment", "web-v1", 0)  # the web Service is left without endpoints
    matrix = reachability(probe.emulator, samples=2, namespace="default")
    assert matrix.rows == ("pod/default/client",)
    cells = dict(zip((c.ref for c in matrix.columns), matrix.cells[0]))
    assert cells["svc/default/web:80"].text == "rejected"
    assert cells["svc/default/kubernetes:443"].text == "ok"
    assert cells["svc/default/kubernetes:443"].delivered == 2
    rows = list(csv.DictReader(io.StringIO(matrix.csv())))
    assert {(r["to"], r["result"]) for r in rows} >= {("svc/default/web:80", "rejected")}
    data = json.loads(matrix.json())
    assert data["rows"][0]["from"] == "pod/default/client"
    table = matrix.table()
    assert "svc/default/web:80/TCP" in table and "rejected" in table


def test_every_pod_reaches_the_quickstart_services_and_pods() -> None:
    probe = ClusterProbe.load(ROOT / "cluster/quickstart")
    matrix = reachability(probe.emulator, namespace="default")
    assert {cell.text for row in matrix.cells for cell in row} == {"ok"}
    assert len(matrix.rows) == 3 and any(c.ref.startswith("pod/default/web-") for c in matrix.columns)
