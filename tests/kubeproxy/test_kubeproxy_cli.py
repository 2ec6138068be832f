"""`netsim iptables-save [--restore-input]` and `netsim iptables -t T -nL [CHAIN] [--line-numbers]`."""

from __future__ import annotations

import pytest

from cli_support import run_cli
from kp_manifests import SCENARIOS_DIR
from kp_support import GOLDEN_DIR

INPUTS = ("-f", str(SCENARIOS_DIR / "nodes.yaml"), "-f", str(SCENARIOS_DIR / "nodeport" / "manifests.yaml"),
          "--topology", str(SCENARIOS_DIR / "topology.yaml"))


def test_restore_input_is_what_kube_proxy_writes():
    code, out, err = run_cli("iptables-save", "--node", "node-a", "--restore-input", *INPUTS)
    assert code == 0, err
    assert out == (GOLDEN_DIR / "nodeport" / "node-a.restore").read_text()


def test_default_is_what_iptables_save_prints():
    code, out, err = run_cli("iptables-save", "--node", "node-b", *INPUTS)
    assert code == 0, err
    assert out == (GOLDEN_DIR / "nodeport" / "node-b.rules").read_text()


def test_listing_a_chain():
    code, out, err = run_cli("iptables", "-t", "nat", "-nL", "KUBE-NODEPORTS", "--line-numbers", "--node", "node-a",
                             *INPUTS)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[:2] == ["Chain KUBE-NODEPORTS (1 references)",
                         "num  target     prot opt source               destination         "]
    assert lines[2].startswith("1    KUBE-EXT-") and lines[2].endswith(
        "  6    --  0.0.0.0/0            0.0.0.0/0            /* web/front:http */ tcp dpt:30080")
    assert len(lines) == 3


def test_listing_the_filter_table_by_default():
    code, out, err = run_cli("iptables", "-L", "-n", "--node", "node-a", *INPUTS)
    assert code == 0, err
    assert out.startswith("Chain INPUT (policy ACCEPT)\ntarget     prot opt source")


@pytest.mark.parametrize("argv, message", [
    (("iptables", "-t", "nat", "-nL", "NOPE", "--node", "node-a"), "No chain/target/match by that name."),
    (("iptables", "-t", "nat", "-L", "--node", "node-a"), "add -n"),
    (("iptables", "-t", "nat", "-n", "--node", "node-a"), "give -L"),
    (("iptables-save", "--node", "node-z"), 'nodes "node-z" not found (nodes: node-a, node-b)'),
])
def test_errors_are_one_line_exit_2(argv, message):
    code, out, err = run_cli(*argv, *INPUTS)
    assert code == 2 and out == "" and message in err and err.count("\n") == 1
