"""`iptables -nL --line-numbers` of kube-proxy's rules: netsim.netfilter.listing against the real iptables.

data/listing/<scenario>.<node>.<table>.nL were printed by iptables v1.8.9 (nf_tables) after
iptables-restore of the rendered text in a scratch namespace (nfacct counters created first
for the nfacct scenario); test_listing_live re-records them on the fly when root.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import kp_scenarios
from kp_support import _NFACCT_ADD, DATA_DIR, assert_text_equal, live_skip_reason
from netsim.kubeproxy import render
from netsim.netfilter import parse_ruleset
from netsim.netfilter.listing import list_table

CASES = [(f, i, t) for f in kp_scenarios.ALL for i in range(len(f().configs)) for t in ("filter", "nat", "mangle")]
IDS = [f"{f.__name__}-{i}-{t}" for f, i, t in CASES]
NFACCT_COUNTERS = ("ct_state_invalid_dropped_pkts", "localhost_nps_accepted_pkts")


def _listing(factory, node: int, table: str) -> tuple[str, str]:
    sc = factory()
    config = sc.configs[node]
    text = render(config, sc.services, sc.endpoints)
    recorded = DATA_DIR / "listing" / f"{sc.name}.{config.node_name}.{table}.nL"
    return list_table(parse_ruleset(text), table, line_numbers=True), str(recorded)


@pytest.mark.parametrize("factory, node, table", CASES, ids=IDS)
def test_listing_equals_recorded_iptables_output(factory, node, table):
    got, recorded = _listing(factory, node, table)
    with open(recorded) as f:
        assert_text_equal(f.read(), got, f"iptables -t {table} -nL --line-numbers ({recorded})")


_LIVE = live_skip_reason("nft")


@pytest.mark.skipif(_LIVE is not None, reason=_LIVE or "")
@pytest.mark.parametrize("factory, node", [(f, i) for f in kp_scenarios.ALL for i in range(len(f().configs))],
                         ids=[f"{f.__name__}-{i}" for f in kp_scenarios.ALL for i in range(len(f().configs))])
def test_listing_live(factory, node):
    sc = factory()
    config = sc.configs[node]
    text = render(config, sc.services, sc.endpoints)
    ns = f"nskp-list-{os.getpid()}-{factory.__name__[:8]}-{node}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        if config.nfacct:
            subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", _NFACCT_ADD, *NFACCT_COUNTERS],
                           check=True, capture_output=True)
        subprocess.run(["ip", "netns", "exec", ns, "iptables-nft-restore"], input=text, text=True, check=True)
        for table in ("filter", "nat"):
            for chain, numbers in ((None, True), (None, False)):
                real = subprocess.run(["ip", "netns", "exec", ns, "iptables-nft", "-t", table, "-nL",
                                       *(["--line-numbers"] if numbers else [])],
                                      text=True, check=True, capture_output=True).stdout
                assert_text_equal(real, list_table(parse_ruleset(text), table, chain, line_numbers=numbers),
                                  f"live iptables -t {table} -nL")
        for chain in [c for c in parse_ruleset(text).tables["nat"].chains if c.startswith("KUBE-S")]:
            real = subprocess.run(["ip", "netns", "exec", ns, "iptables-nft", "-t", "nat", "-nL", chain,
                                   "--line-numbers"], text=True, check=True, capture_output=True).stdout
            assert_text_equal(real, list_table(parse_ruleset(text), "nat", chain, line_numbers=True),
                              f"live iptables -t nat -nL {chain}")
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=True)
