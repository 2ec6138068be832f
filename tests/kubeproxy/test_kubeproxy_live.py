"""Rendered text against the real iptables: kube-proxy's text loads, and iptables-save prints
back exactly what netsim.netfilter's normalizer derives from it.

Runs as root with iptables (nf_tables and legacy backends) and ip(8); each
round trip uses its own scratch network namespace (nskp-<pid>-<n>), removed
afterwards. Table order differs between backends, so tables are compared one
by one; inside a table the text must be byte-identical.
"""

from __future__ import annotations

import pytest

import kp_scenarios
from kp_support import (
    DATA_DIR,
    assert_text_equal,
    canonical_sort,
    iptables_round_trip,
    live_skip_reason,
    tables_by_name,
    without_node_extras,
)
from netsim.kubeproxy import render
from netsim.netfilter import parse_ruleset

BACKENDS = ["nft", "legacy"]
NFACCT_COUNTERS = ("ct_state_invalid_dropped_pkts", "localhost_nps_accepted_pkts")
CASES = [(f, i) for f in kp_scenarios.ALL for i in range(len(f().configs))]


def _skip(backend: str) -> None:
    reason = live_skip_reason(backend)
    if reason:
        pytest.skip(reason)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("factory, node", CASES, ids=[f"{f.__name__}-{i}" for f, i in CASES])
def test_iptables_save_prints_rendered_text_back(factory, node, backend):
    _skip(backend)
    sc = factory()
    config = sc.configs[node]
    written = render(config, sc.services, sc.endpoints)
    expected = str(parse_ruleset(written).normalized())
    saved = iptables_round_trip(written, backend, NFACCT_COUNTERS if config.nfacct else ())
    want, got = tables_by_name(expected), tables_by_name(saved)
    assert sorted(want) == sorted(got)
    for table in want:
        assert_text_equal(want[table], got[table], f"{backend} iptables-save of table {table}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_kube_proxy_expected_text_translates_to_our_data(backend):
    # proxier_test.go's expected text (kube-proxy's own argument order) loaded into the kernel
    # and saved back is data/overall_expected.rules.
    _skip(backend)
    kube_form = (DATA_DIR / "overall_kubeproxy_form.rules").read_text()
    saved = canonical_sort(without_node_extras(iptables_round_trip(kube_form, backend, NFACCT_COUNTERS)))
    expected = (DATA_DIR / "overall_expected.rules").read_text()
    assert_text_equal(expected, saved, f"{backend} translation of TestOverallIPTablesRules")
