"""Differential: random iptables-restore input through the real iptables-restore/iptables-save vs `normalized()`.

Runs only as root with `ip` and iptables 1.8.9 (nf_tables) available, in one scratch network
namespace named for this process and removed afterwards; otherwise skips with the reason.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netsim.netfilter import RulesetParseError, parse_ruleset

EXPECTED_VERSION = "iptables v1.8.9 (nf_tables)"


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root for a network namespace"
    for tool in ("ip", "iptables-restore", "iptables-save", "iptables"):
        if shutil.which(tool) is None:
            return f"{tool} not installed"
    version = subprocess.run(["iptables", "--version"], capture_output=True, text=True).stdout.strip()
    if version != EXPECTED_VERSION:
        return f"normalization is recorded for {EXPECTED_VERSION}, this machine has {version!r}"
    return None


REASON = _skip_reason()
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")
_counter = itertools.count()


@pytest.fixture(scope="module")
def netns():
    name = f"nsnf-{os.getpid()}-{next(_counter)}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=True)


def kernel_normalized(netns: str, text: str) -> str | None:
    """What iptables-save prints after iptables-restore of `text`; None when the restore is refused."""
    done = subprocess.run(["ip", "netns", "exec", netns, "iptables-restore"], input=text, text=True,
                          capture_output=True)
    if done.returncode != 0:
        return None
    saved = subprocess.run(["ip", "netns", "exec", netns, "iptables-save", "-t", "filter"], text=True,
                           check=True, capture_output=True).stdout
    return "".join(line + "\n" for line in saved.splitlines() if not line.startswith("#"))


_octet = st.integers(1, 254)
_words = st.text(alphabet="abcxyzABC019:/._- ", min_size=1, max_size=20).filter(lambda s: s.strip() == s and s)


@st.composite
def restore_rule(draw, chain: str):
    generic = []
    if draw(st.booleans()):
        generic += (["!"] if draw(st.booleans()) else []) + ["-s", f"10.{draw(_octet)}.{draw(_octet)}.{draw(_octet)}"
                                                              + draw(st.sampled_from(["", "/32", "/24", "/8", "/255.255.0.0",
                                                                                   "/255.0.255.0", "/0.0.0.255"]))]
    if draw(st.booleans()):
        generic += ["-d", f"192.168.{draw(_octet)}.{draw(_octet)}"]
    if draw(st.booleans()):
        generic += (["!"] if draw(st.booleans()) else []) + ["-i", draw(st.sampled_from(["eth0", "eth+", "lo"]))]
    if draw(st.integers(0, 4)) == 0:
        generic += (["!"] if draw(st.booleans()) else []) + ["-o", draw(st.sampled_from(["eth1", "veth+"]))]
    proto = draw(st.sampled_from([None, "tcp", "udp", "6", "17"]))
    if proto:
        generic += ["-p", proto]
    parts = [generic]
    name = {"6": "tcp", "17": "udp"}.get(proto or "", proto)
    if name and draw(st.booleans()):
        port = draw(st.sampled_from(["80", "53", "1000:2000", "http", "domain"]))
        ports = (["-m", name] if draw(st.booleans()) else []) + (["!"] if draw(st.booleans()) else []) + [
            draw(st.sampled_from(["--dport", "--sport"])), port]
        parts.append(ports)
    if name == "tcp" and draw(st.booleans()):
        parts.append(["--syn"])
    if draw(st.booleans()):
        parts.append(["-m", "comment", "--comment", '"' + draw(_words) + '"'])
    if draw(st.booleans()):
        states = draw(st.lists(st.sampled_from(["NEW", "ESTABLISHED", "RELATED", "INVALID", "DNAT"]), min_size=1,
                               max_size=3, unique=True))
        parts.append(["-m", "conntrack", "--ctstate", ",".join(states)])
    if draw(st.booleans()):
        value = draw(st.integers(0, 0xFFFF))
        parts.append(["-m", "mark"] + (["!"] if draw(st.booleans()) else []) + ["--mark", str(value) if draw(
            st.booleans()) else f"{value:#x}/{draw(st.integers(1, 0xFFFF)):#x}"])
    if draw(st.booleans()):
        p = draw(st.integers(1, 9999999999)) / 10_000_000_000
        parts.append(["-m", "statistic", "--mode", "random", "--probability", f"{p:.10f}"])
    if draw(st.integers(0, 3)) == 0:
        parts.append(draw(st.sampled_from([
            ["-m", "limit", "--limit", draw(st.sampled_from(["5/sec", "60/minute", "120/h", "7/day", "1/s"]))]
            + (["--limit-burst", str(draw(st.integers(1, 9)))] if draw(st.booleans()) else []),
            ["-m", "limit"],
            ["-m", "iprange", draw(st.sampled_from(["--src-range", "--dst-range"])), "10.0.0.1-10.0.0.20"],
            ["-m", "mac", "--mac-source", draw(st.sampled_from(["02:42:AC:11:00:02", "aa:bb:cc:dd:ee:ff"]))],
            ["-m", "recent", draw(st.sampled_from(["--set", "--rcheck", "--update"])), "--name",
             draw(st.sampled_from(["SSH", "x"]))] + (["--seconds", "60"] if draw(st.booleans()) else []),
            ["-m", "addrtype", "--dst-type", draw(st.sampled_from(["LOCAL", "UNICAST,LOCAL", "MULTICAST"]))],
            ["-m", "multiport", "--dports", "22,80:90"] if name in ("tcp", "udp") else ["-m", "comment", "--comment", "x"],
        ])))
    # generic options may come anywhere among the matches, as kube-proxy writes them, except
    # that an implicit protocol option (no -m before it) needs its -p first
    order = list(draw(st.permutations(range(len(parts)))))
    implicit = any(p[0] in ("--dport", "--sport", "!", "--syn") for p in parts[1:])
    if implicit:
        order.remove(0)
        order.insert(0, 0)
    words = ["-A", chain] + [w for i in order for w in parts[i]]
    target = draw(st.sampled_from(["ACCEPT", "DROP", "REJECT", "REJECTWITH", "MARK", "LOG", "USER"]))
    if target == "REJECTWITH":
        words += ["-j", "REJECT", "--reject-with", draw(st.sampled_from(
            ["icmp-host-prohibited", "icmp-net-unreachable", "icmp-admin-prohibited"]))]
    elif target == "MARK":
        op = draw(st.sampled_from(["--or-mark", "--and-mark", "--xor-mark", "--set-mark", "--set-xmark"]))
        words += ["-j", "MARK", op, f"{draw(st.integers(0, 0xFFFF)):#x}"]
    elif target == "LOG":
        words += ["-j", "LOG", "--log-prefix", '"' + draw(_words) + '"', "--log-level",
                  draw(st.sampled_from(["4", "info", "debug", "warning", "7"]))]
    elif target == "USER":
        words += ["-j", "USER-CHAIN"]
    else:
        words += ["-j", target]
    return " ".join(words)


@st.composite
def restore_text(draw):
    rules = draw(st.lists(st.one_of(restore_rule("INPUT"), restore_rule("USER-CHAIN"), restore_rule("FORWARD")),
                          min_size=1, max_size=15))
    return ("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:USER-CHAIN - [0:0]\n"
            + "\n".join(rules) + "\nCOMMIT\n")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(restore_text())
def test_normalized_matches_real_iptables_save(netns, text):
    real = kernel_normalized(netns, text)
    if real is None:  # refused by iptables-restore: refused by netsim too
        with pytest.raises(RulesetParseError):
            parse_ruleset(text, "generated")
        return
    assert str(parse_ruleset(text, "generated").normalized()) == real


def kernel_saved(netns: str, text: str, table: str) -> str | None:
    """iptables-save -t TABLE after restoring `text`; None when refused."""
    done = subprocess.run(["ip", "netns", "exec", netns, "iptables-restore"], input=text, text=True,
                          capture_output=True)
    if done.returncode != 0:
        return None
    saved = subprocess.run(["ip", "netns", "exec", netns, "iptables-save", "-t", table], text=True,
                           check=True, capture_output=True).stdout
    return "".join(line + "\n" for line in saved.splitlines() if not line.startswith("#"))


@st.composite
def nat_rule(draw):
    chain = draw(st.sampled_from(["PREROUTING", "OUTPUT", "POSTROUTING", "KUBE-X"]))
    words = ["-A", chain]
    proto = draw(st.sampled_from([None, "tcp", "udp", "icmp"]))
    if proto:
        words += ["-p", proto]
    if proto in ("tcp", "udp") and draw(st.booleans()):
        words += ["-m", "multiport", draw(st.sampled_from(["--dports", "--sports"])),
                  draw(st.sampled_from(["80,443", "1000:2000,53", "8080"]))]
    if proto == "icmp" and draw(st.booleans()):
        words += ["--icmp-type", draw(st.sampled_from(["echo-request", "8", "port-unreachable", "3/1", "any",
                                                       "time-exceeded"]))]
    if draw(st.booleans()):
        words += ["-m", "addrtype", draw(st.sampled_from(["--dst-type", "--src-type"])),
                  draw(st.sampled_from(["LOCAL", "UNICAST", "LOCAL,BROADCAST"]))]
    addr = f"10.0.{draw(_octet)}.{draw(_octet)}"
    port = draw(st.sampled_from(["", ":8080", ":8080-8090"])) if proto in ("tcp", "udp") else ""
    if chain in ("PREROUTING", "OUTPUT"):
        target = draw(st.sampled_from(["DNAT", "REDIRECT", "MARK"]))
    elif chain == "POSTROUTING":
        target = draw(st.sampled_from(["SNAT", "MASQUERADE", "MARK"]))
    else:
        target = "MARK"
    if target == "DNAT":
        words += ["-j", "DNAT", "--to-destination", addr + port] + (["--random"] if draw(st.booleans()) else [])
    elif target == "SNAT":
        words += ["-j", "SNAT", "--to-source", addr + port] + draw(st.sampled_from([[], ["--random"],
                                                                                     ["--random-fully"]]))
    elif target == "MASQUERADE":
        words += ["-j", "MASQUERADE"] + draw(st.sampled_from([[], ["--random-fully"], ["--random"]]))
    elif target == "REDIRECT":
        words += ["-j", "REDIRECT"] + (["--to-ports", "3128"] if proto in ("tcp", "udp") else [])
    else:
        words += ["-j", "MARK", draw(st.sampled_from(["--or-mark", "--xor-mark", "--set-mark"])), "0x4000"]
    return " ".join(words)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(nat_rule(), min_size=1, max_size=12))
def test_nat_table_normalized_matches_real_iptables_save(netns, rules):
    text = ("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
            ":KUBE-X - [0:0]\n" + "\n".join(rules) + "\nCOMMIT\n")
    real = kernel_saved(netns, text, "nat")
    if real is None:
        with pytest.raises(RulesetParseError):
            parse_ruleset(text, "generated")
        return
    assert str(parse_ruleset(text, "generated").normalized()) == real
