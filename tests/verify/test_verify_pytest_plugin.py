"""The pytest plugin as a user runs it (pytester): a passing and a failing routing test, and the failure's message."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]
ROOT = Path(__file__).resolve().parents[2]
# once installed with its pytest11 entry point the plugin loads by itself; until then, as `-p` names it
PLUGIN = "netsim.verify.pytest_plugin"
ARGS = ([] if any(ep.value == PLUGIN for ep in entry_points(group="pytest11")) else ["-p", PLUGIN]) + \
    ["-p", "no:cacheprovider"]

TESTS = f'''
import pytest

@pytest.mark.netsim("{ROOT / "cluster/quickstart"}")
def test_web_serves_the_client(netsim_cluster):
    t = netsim_cluster.trace("pod/default/client", "svc/default/web:80")
    assert t.delivered_to.matches("app=web")
    assert t.client_ip_kept

@pytest.mark.netsim("{ROOT / "cluster/quickstart"}")
def test_web_is_not_the_database(netsim_cluster):
    t = netsim_cluster.trace("pod/default/client", "svc/default/web:80")
    assert t.delivered_to.matches("app=db")

def test_external_local_policy(netsim_build):
    probe = netsim_build("{ROOT / "cluster/external"}")
    assert probe.trace("external", "nodeport/np-local@kind-worker2:80").client_ip_kept
    assert probe.trace("external", "nodeport/np-cluster@kind-worker:80").masqueraded
    assert probe.trace("external", "nodeport/np-local@kind-worker:80").ended("dropped")
'''


def test_passing_and_failing_routing_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_routes=TESTS)
    result = pytester.runpytest(*ARGS)
    result.assert_outcomes(passed=2, failed=1)
    out = result.stdout.str()
    # the assertion line says what was expected, what was reached and by which path
    result.stdout.fnmatch_lines([
        "*AssertionError: assert <FAILED: expected a pod matching app=db, got default/web-* (app=web,*); "
        "path default/client -> *>*",
    ])
    # the whole hop-by-hop trace is attached to the failing test's report
    assert "netsim trace" in out and "nat/KUBE-SERVICES#" in out and "-j DNAT --to-destination" in out
    assert "test_web_serves_the_client" not in out.split("short test summary")[0].split("FAILURES")[-1]


def test_marker_is_required_and_registered(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_nomark="def test_x(netsim_cluster):\n    pass\n")
    result = pytester.runpytest(*ARGS, "--strict-markers")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*netsim_cluster needs @pytest.mark.netsim*"])
    assert pytester.runpytest(*ARGS, "--markers").stdout.str().count("@pytest.mark.netsim") == 1


def test_relative_paths_and_ini_topology(pytester: pytest.Pytester) -> None:
    (pytester.path / "manifests").mkdir()
    for name in ("web.yaml", "client.yaml"):
        (pytester.path / "manifests" / name).write_text((ROOT / "cluster/quickstart" / name).read_text())
    (pytester.path / "topo.yaml").write_text((ROOT / "topologies/three-node.yaml").read_text())
    pytester.makeini("[pytest]\nnetsim_topology = topo.yaml\n")
    pytester.makepyfile(test_rel='''
import pytest

@pytest.mark.netsim("manifests", seed=3)
def test_rel(netsim_cluster):
    assert netsim_cluster.trace("pod/client", "svc/web:80").delivered_to.matches("app=web")
''')
    result = pytester.runpytest(*ARGS)
    result.assert_outcomes(passed=1)
