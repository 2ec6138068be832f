"""The seed document's kube-dns example (cluster/kube-dns-aks/) through `netsim iptables -t nat -nL`.

The seed (shared/seed/kubernetes-resources.ja.txt, the KUBE-SVC section) lists
`iptables -nL -t nat --line-numbers` on an AKS node: kube-dns 10.0.0.10, CoreDNS pods
172.16.10.9 and 172.16.10.42, pod CIDR 172.16.10.0/24. netsim builds the same cluster from a
dump (Nodes, Service, Pods) and lists the same chains. Where current kube-proxy and
iptables 1.8.9 differ from the seed's older versions, the test says so:

1. The seed's kube-proxy put the "not from a pod" masquerade rule in KUBE-SERVICES (its rule 5,
   before the jump to KUBE-SVC-); current kube-proxy (since v1.23) writes it as the first rule of
   KUBE-SVC-TCOU7JCQXEZGVUNU, and KUBE-SERVICES holds only the jump.
2. Current kube-proxy comments each KUBE-SVC- jump with the endpoint (`... -> 172.16.10.42:53`);
   the seed's shows only `kube-system/kube-dns:dns`.
3. iptables 1.8.9 prints protocols numerically under -n (`0`, `17`) where the seed's iptables
   printed names (`all`, `udp`), and pads the target column to 9 characters where the seed's
   output is padded wider (hand-aligned).
Everything else (chain names, order, targets, addresses, probabilities, DNAT) is the seed's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_support import run_cli
from kp_support import assert_text_equal

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "cluster" / "kube-dns-aks"
NODES = ("aks-nodepool1-19344272-vmss000000", "aks-nodepool1-19344272-vmss000001")
INPUTS = ("-f", str(EXAMPLE / "cluster.yaml"), "--topology", str(EXAMPLE / "topology.yaml"))
PROTO_NAMES = {"0": "all", "6": "tcp", "17": "udp"}

# The seed's lines (targets, prot, opt, source, destination, then the rest), as printed there.
SEED_SVC = [
    "1    KUBE-SEP-K7EZDDI5TWNJA7RX  all  --  0.0.0.0/0            0.0.0.0/0            "
    "/* kube-system/kube-dns:dns */ statistic mode random probability 0.50000000000",
    "2    KUBE-SEP-JTVLMQFBDVPXUWUS  all  --  0.0.0.0/0            0.0.0.0/0            /* kube-system/kube-dns:dns */",
]
SEED_SERVICES_MASQ = ("KUBE-MARK-MASQ udp -- !172.16.10.0/24 10.0.0.10 "
                      "/* kube-system/kube-dns:dns cluster IP */ udp dpt:53")
SEED_SERVICES_JUMP = ("KUBE-SVC-TCOU7JCQXEZGVUNU udp -- 0.0.0.0/0 10.0.0.10 "
                      "/* kube-system/kube-dns:dns cluster IP */ udp dpt:53")
SEED_SEP = {
    "KUBE-SEP-K7EZDDI5TWNJA7RX": [
        "1    KUBE-MARK-MASQ  all   --   172.16.10.42     0.0.0.0/0            /* kube-system/kube-dns:dns */",
        "2    DNAT            udp   --   0.0.0.0/0        0.0.0.0/0            /* kube-system/kube-dns:dns */ udp to:172.16.10.42:53",
    ],
    "KUBE-SEP-JTVLMQFBDVPXUWUS": [
        "1    KUBE-MARK-MASQ  all   --   172.16.10.9      0.0.0.0/0            /* kube-system/kube-dns:dns */",
        "2    DNAT            udp   --    0.0.0.0/0       0.0.0.0/0            /* kube-system/kube-dns:dns */ udp to:172.16.10.9:53",
    ],
}


def listing(chain: str, node: str = NODES[0], *extra: str) -> str:
    code, out, err = run_cli("iptables", "-t", "nat", "-nL", chain, "--line-numbers", "--node", node, *INPUTS, *extra)
    assert code == 0, err
    return out


def words(line: str, names: bool = True) -> str:
    """A listing line with runs of spaces collapsed and (for ours) protocol numbers named as the seed's."""
    parts = line.split()
    if names and len(parts) > 2 and parts[2].lstrip("!") in PROTO_NAMES:
        parts[2] = PROTO_NAMES[parts[2]]
    return " ".join(parts)


def rule_lines(text: str) -> list[str]:
    return [l for l in text.splitlines() if l[:1].isdigit()]


@pytest.mark.parametrize("chain", ["KUBE-SERVICES", "KUBE-SVC-TCOU7JCQXEZGVUNU", "KUBE-SEP-K7EZDDI5TWNJA7RX",
                                   "KUBE-SEP-JTVLMQFBDVPXUWUS"])
def test_listing_equals_checked_in_expected_output(chain):
    assert_text_equal((EXAMPLE / "expected" / f"{chain}.nL").read_text(), listing(chain), f"{chain} listing")


def test_kube_svc_chain_shows_the_seeds_lines():
    ours = rule_lines(listing("KUBE-SVC-TCOU7JCQXEZGVUNU"))
    # Difference 1: the masquerade rule the seed shows in KUBE-SERVICES is now rule 1 here.
    assert words(ours[0]).split(maxsplit=1)[1] == SEED_SERVICES_MASQ
    # Difference 2: the endpoint comments gained " -> ip:port".
    seed = [words(l) for l in SEED_SVC]
    got = [words(l).replace(" -> 172.16.10.42:53", "").replace(" -> 172.16.10.9:53", "") for l in ours[1:]]
    assert [g.split(maxsplit=1)[1] for g in got] == [s.split(maxsplit=1)[1] for s in seed]


def test_kube_services_jumps_to_the_svc_chain():
    ours = [words(l).split(maxsplit=1)[1] for l in rule_lines(listing("KUBE-SERVICES"))]
    assert SEED_SERVICES_JUMP in ours
    assert SEED_SERVICES_MASQ not in ours  # difference 1


@pytest.mark.parametrize("chain", sorted(SEED_SEP))
def test_kube_sep_chains_show_the_seeds_lines(chain):
    assert [words(l) for l in rule_lines(listing(chain))] == [words(l) for l in SEED_SEP[chain]]


@pytest.mark.parametrize("node", NODES)
def test_kube_proxy_config_file_gives_the_topologys_rules(node):
    # kube-proxy-config.yaml (what kube-proxy reads with --config) and the topology's
    # netsim.kubeProxy describe the same kube-proxy.
    from_file = run_cli("iptables-save", "--node", node, *INPUTS,
                        "--kube-proxy-config", str(EXAMPLE / "kube-proxy-config.yaml"))
    from_topology = run_cli("iptables-save", "--node", node, *INPUTS)
    assert from_file == from_topology and from_file[0] == 0
    assert "! -s 172.16.10.0/24 -d 10.0.0.10/32 -p udp" in from_file[1]


def test_sending_packets_needs_pod_cidrs_the_aks_dump_does_not_have(capsys) -> None:
    from netsim.cli.main import main

    code = main(["resolve", "-f", str(EXAMPLE / "cluster.yaml"), "--topology", str(EXAMPLE / "topology.yaml"),
                 "--from", "x", "web"])
    err = capsys.readouterr().err
    assert code == 2 and "node aks-nodepool1-19344272-vmss000000 has no spec.podCIDR" in err
    assert "Traceback" not in err
