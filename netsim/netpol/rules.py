"""A node's NetworkPolicy chains in the filter table, modelled on kube-router's network policy controller
(cloudnativelabs/kube-router pkg/controllers/netpol: network_policy_controller.go, pod.go, policy.go).

The packet path, per node (the jumps are prepended to the built-in chains,
ahead of kube-proxy's, as kube-router inserts them at position 1):

    INPUT   -> KUBE-ROUTER-INPUT    -s POD -> KUBE-POD-FW-<hash>      (egress: a pod to its node)
    FORWARD -> KUBE-ROUTER-FORWARD  -d POD / -s POD -> KUBE-POD-FW-<hash>
    OUTPUT  -> KUBE-ROUTER-OUTPUT   -d POD / -s POD -> KUBE-POD-FW-<hash>
    each KUBE-ROUTER-* chain ends: -m mark --mark 0x20000/0x20000 -j ACCEPT

filter FORWARD runs after nat PREROUTING, so a Service's DNAT has already
put the endpoint's pod IP in the packet; br_netfilter makes traffic bridged
between two pods of one node cross FORWARD too, so the plain `-d POD` jump
covers it (kube-router's extra `-m physdev --physdev-is-bridged` copy of the
jump reaches the same chain and is left out). Only the pods of this node
that some policy isolates get a pod firewall chain:

    KUBE-POD-FW-<hash>
      -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT        replies of allowed connections
      -m conntrack --ctstate INVALID -j DROP
      -d POD -m addrtype --src-type LOCAL -j ACCEPT               the node itself (kubelet probes)
      -d POD -j KUBE-NWPLCY-<hash of ns,name,ingress>             per ingress policy selecting the pod
      -d POD -m mark ! --mark 0x10000/0x10000 -j NFLOG / -j REJECT
      -s POD -j KUBE-NWPLCY-<hash of ns,name,egress>              per egress policy selecting the pod
      -s POD -m mark ! --mark 0x10000/0x10000 -j NFLOG / -j REJECT
      -j MARK --set-xmark 0x0/0x10000                             reset for the next chain
      -j MARK --set-xmark 0x20000/0x20000                         complies: KUBE-ROUTER-* accepts it

A policy chain marks what one of its rules allows and returns at once
(the union of allows: any policy, any rule, any peer):

    KUBE-NWPLCY-<hash>
      -s PEER [-p PROTO -m PROTO --dport N[:M]] -j MARK --set-xmark 0x10000/0x10000
      -m mark --mark 0x10000/0x10000 -j RETURN

Two deliberate differences from kube-router, both so that each direction is
judged alone (kube-router runs every policy of a pod for traffic in either
direction through one unconditional REJECT): policy chains are per direction,
and the REJECT of each direction is guarded by `-d POD` / `-s POD`. ipset is
not emulated, so each ipset kube-router would fill becomes plain `-s`/`-d`
rules, one per pod IP; an ipBlock with `except` becomes a small chain
(named as kube-router names the ipset, KUBE-SRC-/KUBE-DST-<hash>) that returns
for the exceptions and marks the rest. Named ports resolve per pod: on the
selected pod for ingress (the rule also matches `-d POD`), on the peer pod
for egress. hostNetwork pods are neither selected nor peers (ipBlock still
matches a node address).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from netsim.api.objects import Pod
from netsim.api.store import Store
from netsim.netpol.policy import (Direction, IPBlock, Policy, PolicyRule, PortSpec, actionable_pods, isolated,
                                  namespace_labels, peer_pods, policies, resolve_port)

KUBE_ROUTER_INPUT = "KUBE-ROUTER-INPUT"
KUBE_ROUTER_FORWARD = "KUBE-ROUTER-FORWARD"
KUBE_ROUTER_OUTPUT = "KUBE-ROUTER-OUTPUT"
POD_FW_PREFIX = "KUBE-POD-FW-"
POLICY_PREFIX = "KUBE-NWPLCY-"
MARK_ALLOWED = "0x10000/0x10000"     # a policy rule allowed the packet (kube-router's 0x10000)
MARK_COMPLIES = "0x20000/0x20000"    # the packet passed every pod firewall it met
MARK_RESET = "0x0/0x10000"
NFLOG_GROUP = "100"

# The jumps from the built-in chains (each prepended), and which pod-firewall jumps each top chain holds.
TOP_CHAINS = (
    # built-in, kube-router's chain, jump for traffic to a pod, jump for traffic from a pod
    ("INPUT", KUBE_ROUTER_INPUT, False, True),      # to a pod never arrives in INPUT; a pod's egress to its node does
    ("FORWARD", KUBE_ROUTER_FORWARD, True, True),   # routed and (br_netfilter) bridged pod traffic
    ("OUTPUT", KUBE_ROUTER_OUTPUT, True, True),     # the node's own traffic to a pod
)


@dataclass(frozen=True, slots=True)
class FilterRules:
    """What a node's netpol adds to the filter table: chains to declare, rules, jumps to prepend."""

    chains: tuple[str, ...]
    rules: tuple[str, ...]
    prepend: Mapping[str, tuple[str, ...]]

    @property
    def empty(self) -> bool:
        """True when no policy selects a pod of the node."""
        return not self.chains


def _hash16(text: str) -> str:
    return base64.b32encode(hashlib.sha256(text.encode()).digest()).decode()[:16]


def pod_firewall_chain_name(namespace: str, name: str) -> str:
    """kube-router's `podFirewallChainName`: KUBE-POD-FW- + base32(sha256(namespace+name))[:16]."""
    return POD_FW_PREFIX + _hash16(namespace + name)


def policy_chain_name(policy: Policy, direction: Direction) -> str:
    """kube-router's `networkPolicyChainName`, one chain per direction: KUBE-NWPLCY- + 16 base32 characters."""
    return POLICY_PREFIX + _hash16(policy.namespace + policy.name + direction.value.lower())


def ip_block_chain_name(policy: Policy, direction: Direction, rule: int, peer: int) -> str:
    """The chain standing for kube-router's ipBlock ipset of one peer (KUBE-SRC- for ingress, KUBE-DST- egress)."""
    prefix = "KUBE-SRC-" if direction is Direction.INGRESS else "KUBE-DST-"
    return prefix + _hash16(f"{policy.namespace}{policy.name}{direction.value.lower()}rule{rule}{peer}ipblock")


def _comment(text: str) -> str:
    return f'-m comment --comment "{text}"'


def _host(address: str) -> str:
    return f"{address}/128" if ":" in address else f"{address}/32"


def _port_match(protocol: str, port: int | None, end_port: int | None) -> str:
    """`-p tcp -m tcp --dport 80[:90]` (just `-p tcp` when the port is absent)."""
    proto = protocol.lower()
    if port is None:
        return f"-p {proto}"
    return f"-p {proto} -m {proto} --dport {port}" + (f":{end_port}" if end_port is not None else "")


def _rule_line(chain: str, parts: Iterable[str]) -> str:
    return " ".join([f"-A {chain}", *(p for p in parts if p)])


@dataclass(frozen=True, slots=True)
class Match:
    """One allow rule's match before rendering: peer address match, local pod match, port match."""

    peer: str           # `-s 10.244.1.2/32`, `-d 10.0.0.0/8` or "" (every peer)
    local: str          # `-d POD/32` / `-s POD/32` when a named port fixes the local pod, else ""
    ports: str          # `-p tcp -m tcp --dport 80`, or ""
    block: tuple[int, IPBlock] | None = None   # (peer index, block) when the peer's except needs a chain


def rule_matches(policy: Policy, direction: Direction, rule: PolicyRule, local_pods: Sequence[Pod],
                 pods: Sequence[Pod], ns_labels: Mapping[str, Mapping[str, str]]) -> list[Match]:
    """Every (peer, port) combination one rule allows, in the rule's own order (peers, then ports)."""
    peer_flag, local_flag = ("-s", "-d") if direction is Direction.INGRESS else ("-d", "-s")
    # (peer match text, ipBlock, the peer pods for egress named ports)
    peers: list[tuple[str, tuple[int, IPBlock] | None, Sequence[Pod]]] = []
    if rule.peers is None:
        peers.append(("", None, pods))
    else:
        for index, peer in enumerate(rule.peers):
            if peer.ip_block is not None:
                if peer.ip_block.cidr.version != 4:
                    continue  # the cluster is IPv4: an IPv6 block never matches (kube-router writes it to the v6 table)
                block = (index, peer.ip_block) if peer.ip_block.excepts else None
                peers.append((f"{peer_flag} {peer.ip_block.cidr}", block, peer_pods(policy, peer, pods, ns_labels)))
            else:
                for pod in peer_pods(policy, peer, pods, ns_labels):
                    peers.append((f"{peer_flag} {_host(pod.pod_ip)}", None, (pod,)))  # type: ignore[arg-type]
    out: list[Match] = []
    for peer_text, block, peer_pod_list in peers:
        if not rule.ports:
            out.append(Match(peer_text, "", "", block))
            continue
        for spec in rule.ports:
            out.extend(_port_matches(spec, direction, peer_text, block, peer_pod_list, local_pods, local_flag))
    return out


def _port_matches(spec: PortSpec, direction: Direction, peer_text: str, block, peer_pod_list: Sequence[Pod],
                  local_pods: Sequence[Pod], local_flag: str) -> list[Match]:
    if not isinstance(spec.port, str):
        return [Match(peer_text, "", _port_match(spec.protocol, spec.port, spec.end_port), block)]
    out = []
    if direction is Direction.INGRESS:       # the selected pod's own port of that name
        for pod in local_pods:
            number = resolve_port(pod, spec)
            if number is not None:
                out.append(Match(peer_text, f"{local_flag} {_host(pod.pod_ip)}",  # type: ignore[arg-type]
                                 _port_match(spec.protocol, number, None), block))
    else:                                    # the destination pod's port of that name
        for pod in peer_pod_list:
            number = resolve_port(pod, spec)
            if number is not None:
                out.append(Match(f"-d {_host(pod.pod_ip)}", "", _port_match(spec.protocol, number, None),  # type: ignore[arg-type]
                                 block))
    return out


def policy_chain_rules(policy: Policy, direction: Direction, local_pods: Sequence[Pod], pods: Sequence[Pod],
                       ns_labels: Mapping[str, Mapping[str, str]]) -> tuple[list[str], list[str]]:
    """(extra ipBlock chains, rules) of one policy's chain for one direction."""
    chain = policy_chain_name(policy, direction)
    comment = _comment(f"rule to ACCEPT traffic from source pods to dest pods selected by policy name: "
                       f"{policy.name} namespace {policy.namespace}")   # kube-router's wording, both directions
    chains: list[str] = []
    rules: list[str] = []
    block_rules: list[str] = []
    flag = "-s" if direction is Direction.INGRESS else "-d"
    for r, rule in enumerate(policy.rules(direction)):
        for m in rule_matches(policy, direction, rule, local_pods, pods, ns_labels):
            addr = " ".join(x for x in (m.peer, m.local) if x)
            if m.block is None:
                target = f"-j MARK --set-xmark {MARK_ALLOWED}"
            else:
                block_chain = ip_block_chain_name(policy, direction, r, m.block[0])
                if block_chain not in chains:
                    chains.append(block_chain)
                    block_rules += [_rule_line(block_chain, [f"{flag} {e}", _comment("except"), "-j RETURN"])
                                    for e in m.block[1].excepts if e.version == 4]
                    block_rules.append(_rule_line(block_chain, [f"-j MARK --set-xmark {MARK_ALLOWED}"]))
                target = f"-j {block_chain}"
            protocol, _, module = m.ports.partition(" -m ")
            rules.append(_rule_line(chain, [addr, protocol, comment, f"-m {module}" if module else "", target]))
            rules.append(_rule_line(chain, [addr, protocol, comment, f"-m {module}" if module else "",
                                            f"-m mark --mark {MARK_ALLOWED} -j RETURN"]))
    return chains, rules + block_rules


def pod_firewall_rules(pod: Pod, ingress: Sequence[Policy], egress: Sequence[Policy]) -> list[str]:
    """The rules of one pod's firewall chain (the order in the module docstring)."""
    chain = pod_firewall_chain_name(pod.namespace, pod.name)
    ip = _host(pod.pod_ip)  # type: ignore[arg-type]
    who = f"POD name:{pod.name} namespace: {pod.namespace}"
    rules = [
        _rule_line(chain, [_comment("rule for stateful firewall for pod"),
                           "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"]),
        _rule_line(chain, [_comment("rule to drop invalid state for pod"), "-m conntrack --ctstate INVALID -j DROP"]),
    ]
    for flag, direction, chosen in (("-d", Direction.INGRESS, ingress), ("-s", Direction.EGRESS, egress)):
        if not chosen:
            continue
        if direction is Direction.INGRESS:
            rules.append(_rule_line(chain, [f"-d {ip}", _comment(
                "rule to permit the traffic traffic to pods when source is the pod's local node"),
                "-m addrtype --src-type LOCAL -j ACCEPT"]))
        for policy in chosen:
            rules.append(_rule_line(chain, [f"{flag} {ip}", _comment(f"run through nw policy {policy.name}"),
                                            f"-j {policy_chain_name(policy, direction)}"]))
        verb = "destined for" if direction is Direction.INGRESS else "from"
        rules.append(_rule_line(chain, [f"{flag} {ip}", _comment(f"rule to log dropped traffic {who}"),
                                        f"-m mark ! --mark {MARK_ALLOWED} -m limit --limit 10/min --limit-burst 10",
                                        f"-j NFLOG --nflog-group {NFLOG_GROUP}"]))
        rules.append(_rule_line(chain, [f"{flag} {ip}", _comment(f"rule to REJECT traffic {verb} {who}"),
                                        f"-m mark ! --mark {MARK_ALLOWED}",
                                        "-j REJECT --reject-with icmp-port-unreachable"]))
    rules.append(_rule_line(chain, [f"-j MARK --set-xmark {MARK_RESET}"]))
    rules.append(_rule_line(chain, [_comment("set mark to ACCEPT traffic that comply to network policies"),
                                    f"-j MARK --set-xmark {MARK_COMPLIES}"]))
    return rules


def node_filter_rules(store: Store, node_name: str) -> FilterRules:
    """The netpol chains and rules for one node, from the api state as it stands."""
    policy_list = policies(store)
    pods = actionable_pods(store)
    local = [p for p in pods if p.node_name == node_name]
    guarded = [(pod, isolated(policy_list, pod, Direction.INGRESS), isolated(policy_list, pod, Direction.EGRESS))
               for pod in local]
    guarded = [g for g in guarded if g[1] or g[2]]
    if not guarded:
        return FilterRules((), (), {})
    ns_labels = namespace_labels(store)
    chains = [KUBE_ROUTER_INPUT, KUBE_ROUTER_FORWARD, KUBE_ROUTER_OUTPUT]
    rules: list[str] = []
    for builtin, top, to_pod, from_pod in TOP_CHAINS:
        for pod, ingress, egress in guarded:
            fw = pod_firewall_chain_name(pod.namespace, pod.name)
            ip = _host(pod.pod_ip)  # type: ignore[arg-type]
            if to_pod and ingress:
                rules.append(_rule_line(top, [f"-d {ip}", _comment(
                    f"rule to jump traffic destined to POD name:{pod.name} namespace: {pod.namespace} to chain {fw}"),
                    f"-j {fw}"]))
            if from_pod and egress:
                rules.append(_rule_line(top, [f"-s {ip}", _comment(
                    f"rule to jump traffic from POD name:{pod.name} namespace: {pod.namespace} to chain {fw}"),
                    f"-j {fw}"]))
        rules.append(_rule_line(top, [_comment("rule to explicitly ACCEPT traffic that comply to network policies"),
                                      f"-m mark --mark {MARK_COMPLIES} -j ACCEPT"]))
    for pod, ingress, egress in guarded:
        chains.append(pod_firewall_chain_name(pod.namespace, pod.name))
        rules += pod_firewall_rules(pod, ingress, egress)
    for direction in (Direction.INGRESS, Direction.EGRESS):
        for policy in policy_list:
            local_pods = [pod for pod, ingress, egress in guarded
                          if policy in (ingress if direction is Direction.INGRESS else egress)]
            if not local_pods:
                continue
            chains.append(policy_chain_name(policy, direction))
            extra, policy_rules = policy_chain_rules(policy, direction, local_pods, pods, ns_labels)
            chains += extra
            rules += policy_rules
    prepend = {builtin: (_rule_line(builtin, [_comment("kube-router netpol"), f"-j {top}"]),)
               for builtin, top, _, _ in TOP_CHAINS}
    return FilterRules(tuple(chains), tuple(rules), prepend)
