"""render(): golden files per scenario and node (what kube-proxy writes and what iptables-save
prints back), kube-proxy's own expected output, the seed example."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

import kp_scenarios
from kp_support import DATA_DIR, assert_text_equal, canonical_sort, without_node_extras
from netsim.kubeproxy import (
    EndpointInfo as E,
    Protocol,
    ProxyConfig,
    ServicePortInfo as S,
    check_rule_jumps,
    plan_service_port,
    render,
)
from netsim.kubeproxy.check import RuleStructureError, rule_jump_problems
from netsim.kubeproxy.errors import InvalidProxyInput, UnsupportedProxyFeature
from netsim.netfilter import parse_ruleset


def saved(text: str) -> str:
    """What iptables-save prints once the kernel holds `text` (netsim.netfilter's normalizer)."""
    return str(parse_ruleset(text).normalized())

CASES = [(f, i) for f in kp_scenarios.ALL for i in range(len(f().configs))]


@pytest.mark.parametrize("factory, node", CASES, ids=[f"{f.__name__}-{i}" for f, i in CASES])
def test_golden(factory, node, golden):
    sc = factory()
    config = sc.configs[node]
    text = render(config, sc.services, sc.endpoints)
    golden(sc.name, config.node_name, text, ".restore")
    check_rule_jumps(text)
    golden(sc.name, config.node_name, saved(text), ".rules")
    check_rule_jumps(saved(text))


def test_writes_exactly_kube_proxy_test_overall_iptables_rules():
    # data/overall_kubeproxy_form.rules is proxier_test.go TestOverallIPTablesRules' expected
    # text: what kube-proxy's (fake) proxier hands iptables-restore, sorted by sortIPTablesRules.
    sc = kp_scenarios.overall()
    text = without_node_extras(render(sc.configs[0], sc.services, sc.endpoints))
    assert_text_equal((DATA_DIR / "overall_kubeproxy_form.rules").read_text(), text, "TestOverallIPTablesRules")


def test_saves_as_iptables_prints_test_overall_iptables_rules():
    # data/overall_expected.rules is that text loaded into iptables v1.8.9 (nfacct counters
    # created) and saved back, sorted canonically; test_kubeproxy_live re-checks it.
    sc = kp_scenarios.overall()
    text = canonical_sort(without_node_extras(saved(render(sc.configs[0], sc.services, sc.endpoints))))
    expected = (DATA_DIR / "overall_expected.rules").read_text()
    assert_text_equal(expected, text, "TestOverallIPTablesRules, saved")
    # iptables-save prints two spaces after --nfacct-name (libxt_nfacct's and xtables_save_string's)
    assert "--nfacct-name  ct_state_invalid_dropped_pkts" in text


def test_seed_kube_dns_example():
    sc = kp_scenarios.seed_kube_dns()
    text = saved(render(sc.configs[0], sc.services, sc.endpoints))
    svc_rules = [l for l in text.splitlines() if l.startswith("-A KUBE-SVC-TCOU7JCQXEZGVUNU ")]
    jumps = [l for l in svc_rules if "-j KUBE-SEP-" in l]
    assert jumps[0].endswith("--probability 0.50000000000 -j KUBE-SEP-K7EZDDI5TWNJA7RX")
    assert jumps[1].endswith("-j KUBE-SEP-JTVLMQFBDVPXUWUS") and "probability" not in jumps[1]
    assert ("-A KUBE-SVC-TCOU7JCQXEZGVUNU ! -s 172.16.10.0/24 -d 10.0.0.10/32 -p udp -m comment --comment "
            '"kube-system/kube-dns:dns cluster IP" -m udp --dport 53 -j KUBE-MARK-MASQ') in svc_rules
    assert ('-A KUBE-SERVICES -d 10.0.0.10/32 -p udp -m comment --comment "kube-system/kube-dns:dns cluster IP" '
            "-m udp --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU") in text
    for chain, ip in (("KUBE-SEP-K7EZDDI5TWNJA7RX", "172.16.10.42"), ("KUBE-SEP-JTVLMQFBDVPXUWUS", "172.16.10.9")):
        assert (f'-A {chain} -s {ip}/32 -m comment --comment "kube-system/kube-dns:dns" -j KUBE-MARK-MASQ') in text
        assert (f'-A {chain} -p udp -m comment --comment "kube-system/kube-dns:dns" -m udp '
                f"-j DNAT --to-destination {ip}:53") in text


def test_output_does_not_depend_on_input_order():
    sc = kp_scenarios.overall()
    expected = render(sc.configs[0], sc.services, sc.endpoints)
    rng = random.Random(7)
    for _ in range(5):
        services = list(sc.services)
        rng.shuffle(services)
        endpoints = {k: tuple(rng.sample(v, len(v))) for k, v in sc.endpoints.items()}
        assert render(sc.configs[0], services, endpoints) == expected


def test_probabilities_cascade():
    svc = S("ns", "big", "p", Protocol.TCP, "172.30.9.9", 80)
    eps = {"ns/big:p": tuple(E(f"10.1.0.{i}", 80) for i in range(1, 6))}
    text = render(ProxyConfig(node_name="n"), [svc], eps)

    def probs(t: str) -> list[str]:
        return [l.split("--probability ")[1].split()[0] for l in t.splitlines()
                if l.startswith("-A KUBE-SVC-") and "-j KUBE-SEP-" in l and "--probability" in l]

    assert probs(text) == ["0.2000000000", "0.2500000000", "0.3333333333", "0.5000000000"]
    assert probs(saved(text)) == ["0.20000000019", "0.25000000000", "0.33333333349", "0.50000000000"]


def test_large_cluster_mode_drops_endpoint_comments():
    svc = S("ns", "big", "p", Protocol.TCP, "172.30.9.9", 80)
    eps = {"ns/big:p": tuple(E(f"10.{i // 250}.{i % 250}.1", 80) for i in range(1001))}
    text = render(ProxyConfig(node_name="n"), [svc], eps)
    sep = [l for l in text.splitlines() if l.startswith("-A KUBE-SEP-")]
    assert len(sep) == 2002 and not any("--comment" in l for l in sep)
    assert not any("--comment" in l for l in text.splitlines() if l.startswith("-A KUBE-SVC-"))
    check_rule_jumps(text)
    small = render(ProxyConfig(node_name="n"), [svc], {"ns/big:p": eps["ns/big:p"][:1000]})
    assert all("--comment" in l for l in small.splitlines() if l.startswith("-A KUBE-SEP-"))


def test_saved_form_lists_builtin_chains_first_then_user_chains_sorted():
    sc = kp_scenarios.local_policies()
    text = saved(render(sc.configs[0], sc.services, sc.endpoints))
    nat = text.split("*nat\n")[1].split("COMMIT")[0]
    chains = [l[1:].split()[0] for l in nat.splitlines() if l.startswith(":")]
    assert chains[:4] == ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"] and chains[4:] == sorted(chains[4:])
    assert "-d 172.30.1.10/32 -p tcp -m comment" in text and "-m tcp -p tcp -d 172.30.1.10 " not in text


def test_plan_for_local_policy_without_local_endpoints():
    sc = kp_scenarios.local_policies()
    node_b = sc.configs[1]
    cache = next(s for s in sc.services if s.name == "cache")
    plan = plan_service_port(cache, sc.endpoints["web/cache"], node_b)
    assert plan.has_endpoints and not plan.has_internal_endpoints
    assert plan.internal_filter == ("DROP", "web/cache has no local endpoints")
    assert not plan.uses_local_policy_chain and not plan.uses_cluster_policy_chain


def test_canary_and_kubelet_order_options():
    sc = kp_scenarios.seed_kube_dns()
    config = replace(sc.configs[0], canary_chains=False, kubelet_firewall=False)
    text = saved(render(config, sc.services, sc.endpoints))
    assert "*mangle" not in text and "KUBE-PROXY-CANARY" not in text
    input_rules = [l for l in text.splitlines() if l.startswith("-A INPUT ")]
    assert input_rules[0] == "-A INPUT -j KUBE-FIREWALL"
    assert "-A KUBE-FIREWALL ! -s 127.0.0.0/8" in text


def test_localnet_rule_belongs_to_kubelet_when_localhost_nodeports_are_off():
    sc = kp_scenarios.seed_kube_dns()
    off = replace(sc.configs[0], localhost_node_ports=False)
    assert "-A KUBE-FIREWALL ! -s 127.0.0.0/8" in saved(render(off, sc.services, sc.endpoints))
    alone = saved(render(replace(off, kubelet_firewall=False), sc.services, sc.endpoints))
    assert ":KUBE-FIREWALL - [0:0]" in alone and "-A KUBE-FIREWALL " not in alone
    assert "-A INPUT -j KUBE-FIREWALL" in alone
    check_rule_jumps(alone)


@pytest.mark.parametrize("text, problem", [
    ("*filter\nCOMMIT\n*nat\n:KUBE-SERVICES - [0:0]\n-A KUBE-SERVICES -j KUBE-SVC-X\nCOMMIT\n",
     "some chains in nat are used but were not created: ['KUBE-SVC-X']"),
    ("*nat\n:KUBE-SERVICES - [0:0]\n:KUBE-SVC-X - [0:0]\n-A KUBE-SERVICES -j KUBE-SVC-X\nCOMMIT\n",
     "some chains in nat are jumped to but have no rules: ['KUBE-SVC-X']"),
    ("*nat\n:KUBE-SERVICES - [0:0]\n:KUBE-SVC-X - [0:0]\n-A KUBE-SERVICES -j RETURN\nCOMMIT\n",
     "some chains in nat are created but not used: ['KUBE-SVC-X']"),
    ("*nat\n:KUBE-SERVICES - [0:0]\n-A KUBE-SVC-X -j KUBE-MARK-MASQ\nCOMMIT\n",
     "some chains in nat are used but were not created: ['KUBE-MARK-MASQ', 'KUBE-SVC-X']"),
])
def test_structure_check_finds_problems(text, problem):
    assert problem in rule_jump_problems(text)
    with pytest.raises(RuleStructureError):
        check_rule_jumps(text)


def test_invalid_input_is_rejected_with_the_field():
    with pytest.raises(InvalidProxyInput, match="port: must be between 1 and 65535, got 70000"):
        S("ns", "svc", "p", Protocol.TCP, "172.30.0.1", 70000)
    with pytest.raises(InvalidProxyInput, match="cluster_ip: not an IP address"):
        S("ns", "svc", "p", Protocol.TCP, "not-an-ip", 80)
    with pytest.raises(InvalidProxyInput, match="protocol"):
        S("ns", "svc", "p", "ICMP", "172.30.0.1", 80)
    with pytest.raises(UnsupportedProxyFeature):
        E("fd00::1", 80)
    with pytest.raises(InvalidProxyInput, match="node_name"):
        ProxyConfig(node_name="")


def test_builtin_chain_jumps_in_real_node_order():
    # The order `iptables -L` shows on a kubeadm node (kubelet first, then kube-proxy's
    # EnsureRule(Prepend) of each iptablesJumpChains row).
    sc = kp_scenarios.seed_kube_dns()
    text = saved(render(sc.configs[0], sc.services, sc.endpoints))

    def targets(chain: str, table: str = "filter") -> list[str]:
        block = text.split(f"*{table}\n")[1].split("COMMIT")[0]
        return [l.rsplit("-j ", 1)[1] for l in block.splitlines() if l.startswith(f"-A {chain} ")]

    assert targets("INPUT") == ["KUBE-PROXY-FIREWALL", "KUBE-NODEPORTS", "KUBE-EXTERNAL-SERVICES", "KUBE-FIREWALL"]
    assert targets("FORWARD") == ["KUBE-PROXY-FIREWALL", "KUBE-FORWARD", "KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES"]
    assert targets("OUTPUT") == ["KUBE-PROXY-FIREWALL", "KUBE-SERVICES", "KUBE-FIREWALL"]
    assert targets("PREROUTING", "nat") == ["KUBE-SERVICES"]
    assert targets("OUTPUT", "nat") == ["KUBE-SERVICES"]
    assert targets("POSTROUTING", "nat") == ["KUBE-POSTROUTING"]
