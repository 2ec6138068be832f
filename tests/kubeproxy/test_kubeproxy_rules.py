"""kube-proxy's argument form: Go's number formats, comment quoting, rule layout, canonical order."""

from __future__ import annotations

import pytest
from hypothesis import example, given, strategies as st

from netsim.kubeproxy import ProxyConfig
from netsim.kubeproxy.rules import Ruleset, comment, comment_word, go_hex08, go_probability, proto_match, rule
from netsim.netfilter import parse_rule


@pytest.mark.parametrize("n, written, saved", [
    (1, "1.0000000000", "1.00000000000"),
    (2, "0.5000000000", "0.50000000000"),   # the seed document's first kube-dns jump
    (3, "0.3333333333", "0.33333333349"),   # saved form checked against iptables v1.8.9
    (4, "0.2500000000", "0.25000000000"),
    (10, "0.1000000000", "0.10000000009"),
])
def test_probability_as_kube_proxy_writes_it_and_iptables_saves_it(n, written, saved):
    assert go_probability(n) == written
    line = f"-A X -m statistic --mode random --probability {written} -j Y"
    assert parse_rule(line).normalized().render() == f"-A X -m statistic --mode random --probability {saved} -j Y"


@given(st.integers(min_value=1, max_value=100_000))
@example(2048)
def test_probability_has_ten_decimals(n):
    text = go_probability(n)
    # half a unit of the tenth decimal; a tie (1/2048) lands exactly on it, give float rounding its due
    assert len(text.split(".")[1]) == 10 and abs(float(text) - 1 / n) <= 5e-11 + 1e-18


@pytest.mark.parametrize("bit, text", [(14, "0x00004000"), (0, "0x00000001"), (31, "0x80000000")])
def test_masquerade_mark_is_go_hash_08x(bit, text):
    # proxier.go: fmt.Sprintf("%#08x", 1 << masqueradeBit); Go does not count "0x" in the width.
    assert go_hex08(1 << bit) == text
    assert ProxyConfig(node_name="n", masquerade_bit=bit).mark_text == text


@pytest.mark.parametrize("text, written", [
    ("ns1/svc1:p80", "ns1/svc1:p80"),
    ("kube-system/kube-dns:dns cluster IP", '"kube-system/kube-dns:dns cluster IP"'),
])
def test_comment_quoted_where_kube_proxy_quotes(text, written):
    assert comment_word(text) == written


def test_comment_with_quote_is_a_bug():
    with pytest.raises(ValueError):
        comment_word('say "hi"')


def test_rule_layout_is_kube_proxys_argument_order():
    r = rule("KUBE-SVC-X", comment("ns1/svc1:p80 cluster IP"), proto_match("tcp"),
             ("-d", "172.30.0.41", "--dport", "80"), ("!", "-s", "10.0.0.0/8"), ("-j", "KUBE-MARK-MASQ"))
    assert r.line() == ('-A KUBE-SVC-X -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp '
                        "-d 172.30.0.41 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ")
    assert r.comment == "ns1/svc1:p80 cluster IP"
    assert rule("KUBE-FW-X").line() == "-A KUBE-FW-X"


def _ruleset() -> Ruleset:
    rs = Ruleset()
    nat = rs.table("nat")
    for chain in ("KUBE-SVC-B", "KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-A"):
        nat.declare(chain)
    nat.append(rule("KUBE-SERVICES", comment("kubernetes service nodeports; NOTE: this must be the last rule "
                                             "in this chain"), ("-j", "KUBE-NODEPORTS")))
    nat.append(rule("KUBE-SERVICES", comment("ns2/b:p cluster IP"), ("-j", "KUBE-SVC-B")))
    nat.append(rule("KUBE-SERVICES", comment("ns1/a:p cluster IP"), ("-j", "KUBE-A")))
    nat.append(rule("KUBE-SVC-B", ("-j", "KUBE-A")))
    nat.append(rule("KUBE-A", ("-j", "RETURN")))
    nat.append(rule("PREROUTING", ("-j", "KUBE-SERVICES")))
    return rs


def test_canonical_order():
    text = _ruleset().to_text()
    assert [l.split()[0] for l in text.splitlines() if l.startswith(":")] == [
        ":KUBE-NODEPORTS", ":KUBE-SERVICES", ":KUBE-A", ":KUBE-SVC-B"]
    services = [l for l in text.splitlines() if l.startswith("-A KUBE-SERVICES")]
    assert "ns1/a" in services[0] and "ns2/b" in services[1] and "must be the last" in services[2]
    assert text.splitlines()[-2].startswith("-A PREROUTING")
