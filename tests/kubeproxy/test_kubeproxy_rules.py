"""iptables-save printing: probabilities, quoting, addresses, rule layout, ordering."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, strategies as st

from netsim.kubeproxy.rules import (
    Order,
    Ruleset,
    m_comment,
    m_proto,
    m_statistic,
    probability,
    quote,
    rule,
    t_jump,
    t_mark_or,
    t_mark_xor,
)


@pytest.mark.parametrize("n, printed", [
    (1, "1.00000000000"),
    (2, "0.50000000000"),   # the seed document's first kube-dns jump
    (3, "0.33333333349"),   # checked against iptables v1.8.9
    (4, "0.25000000000"),
    (10, "0.10000000009"),
])
def test_probability_as_iptables_save_prints_it(n, printed):
    assert probability(n) == printed


@given(st.integers(min_value=1, max_value=100_000))
def test_probability_is_stable_under_reload(n):
    # Loading the printed value again stores the same 2^31 fraction (print∘parse is a fixed point).
    printed = probability(n)
    stored = math.floor(float(printed) * 0x80000000 + 0.5)
    assert f"{stored / 0x80000000:.11f}" == printed
    assert abs(float(printed) - 1 / n) < 1e-9


@pytest.mark.parametrize("text, printed", [
    ("abc_d-9", "abc_d-9"),
    ("ns1/svc1:p80", '"ns1/svc1:p80"'),
    ("kube-system/kube-dns:dns cluster IP", '"kube-system/kube-dns:dns cluster IP"'),
    ('say "hi"', '"say \\"hi\\""'),
    ("", '""'),
])
def test_quote(text, printed):
    assert quote(text) == printed


def test_rule_layout_puts_addresses_and_protocol_first():
    r = rule("KUBE-SVC-X", source="!10.0.0.0/8", destination="172.30.0.41", protocol="tcp",
             matches=[m_comment("ns1/svc1:p80 cluster IP"), m_proto("tcp", 80)], target=t_jump("KUBE-MARK-MASQ"))
    assert r.line() == ('-A KUBE-SVC-X ! -s 10.0.0.0/8 -d 172.30.0.41/32 -p tcp -m comment '
                        '--comment "ns1/svc1:p80 cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ')
    assert r.comment == "ns1/svc1:p80 cluster IP"


def test_rule_with_interface_detector_and_no_target():
    r = rule("KUBE-EXT-X", local=("!", "-i", "cali+"), matches=[m_statistic(3)])
    assert r.line() == "-A KUBE-EXT-X ! -i cali+ -m statistic --mode random --probability 0.33333333349"
    assert rule("KUBE-FW-X").line() == "-A KUBE-FW-X"


def test_marks_print_as_set_xmark():
    assert rule("A", target=t_mark_or(0x4000)).line() == "-A A -j MARK --set-xmark 0x4000/0x4000"
    assert rule("A", target=t_mark_xor(0x4000)).line() == "-A A -j MARK --set-xmark 0x4000/0x0"


def _ruleset() -> Ruleset:
    rs = Ruleset()
    nat = rs.table("nat")
    for chain in ("KUBE-SVC-B", "KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-A"):
        nat.declare(chain)
    nat.append(rule("KUBE-SERVICES", matches=[m_comment("kubernetes service nodeports; NOTE: this must be "
                                                        "the last rule in this chain")], target=t_jump("KUBE-NODEPORTS")))
    nat.append(rule("KUBE-SERVICES", matches=[m_comment("ns2/b:p cluster IP")], target=t_jump("KUBE-SVC-B")))
    nat.append(rule("KUBE-SERVICES", matches=[m_comment("ns1/a:p cluster IP")], target=t_jump("KUBE-A")))
    nat.append(rule("KUBE-SVC-B", target=t_jump("KUBE-A")))
    nat.append(rule("KUBE-A", target=("RETURN",)))
    nat.append(rule("PREROUTING", target=t_jump("KUBE-SERVICES")))
    return rs


def test_canonical_order():
    text = _ruleset().to_text(Order.CANONICAL)
    assert [l.split()[0] for l in text.splitlines() if l.startswith(":")] == [
        ":KUBE-NODEPORTS", ":KUBE-SERVICES", ":KUBE-A", ":KUBE-SVC-B",
        ":INPUT", ":OUTPUT", ":POSTROUTING", ":PREROUTING"]
    services = [l for l in text.splitlines() if l.startswith("-A KUBE-SERVICES")]
    assert "ns1/a" in services[0] and "ns2/b" in services[1] and "must be the last" in services[2]
    assert text.splitlines()[-2].startswith("-A PREROUTING")


def test_iptables_save_order():
    text = _ruleset().to_text(Order.IPTABLES_SAVE)
    assert [l.split()[0] for l in text.splitlines() if l.startswith(":")] == [
        ":PREROUTING", ":INPUT", ":OUTPUT", ":POSTROUTING",
        ":KUBE-A", ":KUBE-NODEPORTS", ":KUBE-SERVICES", ":KUBE-SVC-B"]
