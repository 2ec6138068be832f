"""Live runs own what they create: a run killed with SIGKILL is removed at the next start, by its registry."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from netsim.api.load import load_paths
from netsim.api.topology import load_topology
from netsim.emulator.cluster import Cluster
from netsim.emulator.wiring import build_network
from netsim.live import netns, registry
from netsim.live.diff import rulesets
from netsim.live.errors import LiveError
from netsim.live.session import LiveSession

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.needs_live


def _root_links_of_runs() -> list[str]:
    """Links in the root namespace carrying a live run's alias (there must never be any)."""
    out = subprocess.run(["ip", "-o", "-d", "link", "show"], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if f"alias {registry.PREFIX}-" in line]


@pytest.fixture
def started():
    """The `netsim live up` children of a test; whatever a failing test leaves running is ended and removed."""
    procs: list[subprocess.Popen] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for record in registry.runs():
            if record.pid == proc.pid:
                record.remove()


def _start_up(procs: list, *extra: str) -> subprocess.Popen:
    """`netsim live up` on the paths scenario in a child process, returned once it says it is up."""
    proc = subprocess.Popen([sys.executable, "-m", "netsim.cli.live", "up", str(ROOT / "tests/scenarios/data/paths"),
                             *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    procs.append(proc)
    lines = []
    for line in proc.stdout:  # type: ignore[union-attr]
        lines.append(line)
        if line.startswith("up;"):
            return proc
    proc.wait()
    raise AssertionError("netsim live up did not come up:\n" + "".join(lines) + proc.stderr.read())  # type: ignore


def _run_of(pid: int) -> registry.RunRecord:
    return next(r for r in registry.runs() if r.pid == pid)


def test_sigkilled_run_is_removed_at_the_next_start(started) -> None:
    killed = _start_up(started, "--cni", "vxlan")
    stale = _run_of(killed.pid)
    assert stale.namespaces and all(netns.exists(ns) for ns in stale.namespaces)
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait()
    assert not stale.alive()  # its namespaces stay until a start (this one's, or a concurrent run's) removes them

    nxt = _start_up(started)
    assert not any(netns.exists(ns) for ns in stale.namespaces)
    assert not stale.path.exists()
    current = _run_of(nxt.pid)
    assert all(netns.exists(ns) for ns in current.namespaces)
    nxt.send_signal(signal.SIGTERM)
    out, err = nxt.communicate(timeout=60)
    assert nxt.returncode == 128 + signal.SIGTERM, err
    assert not any(netns.exists(ns) for ns in current.namespaces)
    assert not current.path.exists()
    assert not _root_links_of_runs()  # nothing was ever created in the root namespace


def test_ctrl_c_removes_the_run(started) -> None:
    proc = _start_up(started)
    record = _run_of(proc.pid)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert not any(netns.exists(ns) for ns in record.namespaces) and not record.path.exists()


def test_down_ends_a_running_run(started) -> None:
    proc = _start_up(started)
    record = _run_of(proc.pid)
    down = subprocess.run([sys.executable, "-m", "netsim.cli.live", "down", record.run_id], capture_output=True,
                          text=True, cwd=ROOT)
    assert down.returncode == 0, down.stderr
    proc.wait(timeout=60)
    assert not any(netns.exists(ns) for ns in record.namespaces) and not record.path.exists()


def test_a_failure_while_building_removes_what_was_built() -> None:
    cluster = Cluster.build(load_topology(ROOT / "topologies/three-node.yaml"),
                            load_paths([ROOT / "cluster/quickstart"]), seed=0)
    broken = dict(rulesets(cluster))
    broken["kind-worker"] = "*nat\n-A NO-SUCH-CHAIN -j ACCEPT\nCOMMIT\n"
    session = LiveSession(build_network(cluster), broken, "broken")
    with pytest.raises(LiveError, match="kind-worker: iptables-restore"):
        session.__enter__()
    made = [r for r in registry.runs() if r.scenario == "broken" and r.pid == os.getpid()]
    assert not made
    assert not any(ns.startswith(f"{registry.PREFIX}-{os.getpid():x}") for ns in os.listdir(netns.NETNS_DIR))
