"""The compiled index for KUBE-SERVICES-shaped runs: which runs it finds, and that it never changes an outcome."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.netfilter import Hook
from netsim.netfilter.index import MIN_RUN, build_runs, rule_key
from netsim.netfilter.ruleset import parse_rule, parse_ruleset

from nf_helpers import A, data, make_engine, one, tcp, udp


def test_rule_key_accepts_only_the_kube_services_shape():
    ok = parse_rule('-A S -d 10.96.0.10/32 -p udp -m comment --comment "x y" -m udp --dport 53 -j KUBE-SVC-A')
    assert rule_key(ok) == (4, int(A("10.96.0.10")), 17, 53)
    for text in [
        "-A S -d 10.96.0.0/24 -p udp -m udp --dport 53 -j X",     # not a host
        "-A S ! -d 10.96.0.10/32 -p udp -m udp --dport 53 -j X",  # negated
        "-A S -d 10.96.0.10/32 -p udp -m udp --dport 53:54 -j X", # range
        "-A S -s 10.0.0.1/32 -d 10.96.0.10/32 -p udp -m udp --dport 53 -j X",
        "-A S -d 10.96.0.10/32 -p udp -m udp --sport 5 --dport 53 -j X",
        "-A S -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS",
    ]:
        assert rule_key(parse_rule(text)) is None, text


def test_runs_need_min_length():
    rules = [parse_rule(f"-A S -d 10.96.0.{i}/32 -p tcp -m tcp --dport 80 -j X") for i in range(MIN_RUN - 1)]
    assert all(r is None for r in build_runs(rules))
    rules.append(parse_rule("-A S -d 10.96.0.99/32 -p tcp -m tcp --dport 80 -j X"))
    runs = build_runs(rules)
    assert runs[0] is not None and runs[0].end == MIN_RUN


# --- property: compiled and plain evaluation agree ------------------------------

POOL = [(f"10.96.0.{i}", proto, port) for i in range(1, 5) for proto in ("tcp", "udp") for port in (53, 80)]


@st.composite
def services_table(draw):
    lines = []
    n = draw(st.integers(MIN_RUN, 30))
    targets = ["ACCEPT", "DROP", "RETURN", "MARK --set-xmark 0x1/0x1", "SVC-A", "SVC-B", "SVC-C"]
    for _ in range(n):
        if draw(st.integers(0, 9)) == 0:  # an occasional rule the index cannot take
            lines.append(draw(st.sampled_from([
                "-A INPUT -p tcp -m tcp --dport 1:100 -j MARK --set-xmark 0x2/0x2",
                "-A INPUT ! -d 10.96.0.1/32 -j RETURN",
                "-A INPUT -m mark --mark 0x1/0x1 -j ACCEPT",
                "-A INPUT -m statistic --mode nth --every 3 --packet 0 -j SVC-A",
            ])))
            continue
        dst, proto, port = draw(st.sampled_from(POOL))
        target = draw(st.sampled_from(targets))
        lines.append(f'-A INPUT -d {dst}/32 -p {proto} -m comment --comment "svc {dst}" -m {proto} --dport {port} -j {target}')
    body = "\n".join(lines)
    return (
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
        ":SVC-A - [0:0]\n:SVC-B - [0:0]\n:SVC-C - [0:0]\n"
        f"{body}\n"
        "-A SVC-A -j MARK --set-xmark 0x4/0x4\n"
        "-A SVC-B -m mark --mark 0x1/0x1 -j DROP\n-A SVC-B -j RETURN\n"
        "-A SVC-C -g SVC-B\n"
        "COMMIT\n"
    )


packets = st.lists(st.tuples(st.sampled_from(POOL + [("10.96.0.9", "tcp", 80), ("10.96.0.1", "tcp", 81)]),
                             st.integers(0, 3)), min_size=1, max_size=10)


@settings(max_examples=150, deadline=None)
@given(services_table(), packets)
def test_compiled_and_plain_evaluation_agree(text, sends):
    plain = make_engine(text, compiled_index=False)
    fast = make_engine(text, compiled_index=True)
    for (dst, proto, port), mark in sends:
        results = []
        for engine in (plain, fast):
            p = (tcp if proto == "tcp" else udp)("10.244.1.7", 40000, dst, port)
            p.mark = mark
            r = one(engine, Hook.INPUT, p, in_iface="eth0")
            results.append((r.verdict, r.reason, p.mark, [str(s) for s in r.trace]))
        assert results[0] == results[1]


def test_kube_proxy_node_services_chain_is_indexed_when_long():
    text = data("kube_proxy_node.saved")
    rs = parse_ruleset(text)
    nat = rs.tables["nat"]
    services = [r for r in nat.rules if r.chain == "KUBE-SERVICES"]
    keys = [rule_key(r) for r in services]
    assert keys[-1] is None  # the nodeports jump closes the chain
    assert sum(k is not None for k in keys) == 4


def test_property_examples_do_build_runs():
    from hypothesis import find

    def has_run(text: str) -> bool:   # MIN_RUN indexable rules in a row somewhere in INPUT
        keys = [rule_key(r) for r in parse_ruleset(text).tables["filter"].rules if r.chain == "INPUT"]
        return any(all(k is not None for k in keys[i:i + MIN_RUN]) for i in range(len(keys) - MIN_RUN + 1))

    text = find(services_table(), has_run)
    engine = make_engine(text)
    assert engine._tables_by_family[4]["filter"].runs.get("INPUT")
