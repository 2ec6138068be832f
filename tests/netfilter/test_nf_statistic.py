"""-m statistic: random draws from the engine's generator; nth counts per rule."""

from __future__ import annotations

import pytest

from netsim.netfilter import Hook, Verdict
from netsim.netfilter.normalize import quantized_probability

from nf_helpers import filter_only, make_engine, one, udp


def accepted(rule: str, n: int, seed: int = 0) -> list[bool]:
    engine = make_engine(filter_only(f"-A INPUT {rule} -j ACCEPT\n", policy="DROP"), seed=seed)
    packet = udp("10.0.0.1", 1, "10.0.0.2", 2)
    return [one(engine, Hook.INPUT, packet, in_iface="eth0").verdict is Verdict.ACCEPT for _ in range(n)]


@pytest.mark.parametrize("p", [0.5, 0.3333333333, 0.1, 0.01])
def test_random_within_four_sigma(p):
    n = 100_000
    hits = sum(accepted(f"-m statistic --mode random --probability {p}", n, seed=11))
    q = quantized_probability(p) / 0x80000000
    sigma = (n * q * (1 - q)) ** 0.5
    assert abs(hits - n * q) < 4 * sigma


def test_random_probability_one_and_zero():
    assert all(accepted("-m statistic --mode random --probability 1.0", 1000))
    assert not any(accepted("-m statistic --mode random --probability 0.0", 1000))


def test_random_negated():
    n = 20_000
    hits = sum(accepted("-m statistic --mode random ! --probability 0.25", n, seed=5))
    assert abs(hits - 0.75 * n) < 4 * (n * 0.25 * 0.75) ** 0.5


def test_random_is_reproducible_per_seed():
    rule = "-m statistic --mode random --probability 0.5"
    assert accepted(rule, 200, seed=1) == accepted(rule, 200, seed=1)
    assert accepted(rule, 200, seed=1) != accepted(rule, 200, seed=2)


@pytest.mark.parametrize("every, packet", [(1, 0), (2, 0), (3, 1), (5, 4), (4, 0)])
def test_nth_exact(every, packet):
    got = accepted(f"-m statistic --mode nth --every {every} --packet {packet}", 40)
    assert got == [i % every == packet for i in range(40)]


def test_nth_counter_is_per_rule_and_counts_only_packets_reaching_it():
    text = filter_only(
        "-A INPUT -p tcp -m statistic --mode nth --every 2 --packet 0 -j ACCEPT\n"
        "-A INPUT -p udp -m statistic --mode nth --every 2 --packet 0 -j ACCEPT\n",
        policy="DROP",
    )
    engine = make_engine(text)
    from nf_helpers import tcp

    results = []
    for i in range(8):
        p = udp("1.1.1.1", 1, "2.2.2.2", 2) if i % 2 else tcp("1.1.1.1", 1, "2.2.2.2", 2, "A")
        results.append(one(engine, Hook.INPUT, p, in_iface="eth0").verdict is Verdict.ACCEPT)
    # tcp packets are 0,2,4,6 -> the tcp rule's 0th, 2nd; udp 1,3,5,7 -> the udp rule's 0th, 2nd
    assert results == [True, True, False, False, True, True, False, False]


def test_kube_proxy_style_chain_splits_evenly():
    text = filter_only(
        "-A INPUT -m statistic --mode random --probability 0.3333333333 -j A\n"
        "-A INPUT -m statistic --mode random --probability 0.5000000000 -j B\n"
        "-A INPUT -j C\n"
        "-A A -j ACCEPT\n-A B -j DROP\n-A C -j REJECT\n",
        extra_chains=":A - [0:0]\n:B - [0:0]\n:C - [0:0]\n",
    )
    engine = make_engine(text, seed=3)
    counts = {Verdict.ACCEPT: 0, Verdict.DROP: 0, Verdict.REJECT: 0}
    n = 30_000
    for _ in range(n):
        counts[one(engine, Hook.INPUT, udp("1.1.1.1", 1, "2.2.2.2", 2), in_iface="eth0").verdict] += 1
    sigma = (n * (1 / 3) * (2 / 3)) ** 0.5
    for c in counts.values():
        assert abs(c - n / 3) < 4 * sigma
