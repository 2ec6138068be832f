"""hostPort as the CNI portmap plugin (containernetworking/plugins plugins/meta/portmap, iptables backend) writes it.

For every running, non-hostNetwork pod with a `hostPort`, portmap (chained
after the main plugin, with the kubelet passing the `portMappings`
capability) adds to the node's nat table, with its defaults (snat on,
markMasqBit 13, no conditions):

    :CNI-HOSTPORT-DNAT, :CNI-HOSTPORT-SETMARK, :CNI-HOSTPORT-MASQ, :CNI-DN-<hash>
    -A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT        (appended)
    -A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT            (appended)
    -A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ   (prepended)
    -A CNI-HOSTPORT-SETMARK -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark 0x2000/0x2000
    -A CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE
    -A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"NET\\" id: \\"ID\\""
        -m multiport --dports P,... -j CNI-DN-<hash>                        (prepended: the newest pod first)
    -A CNI-DN-<hash> -s POD/PREFIX -p tcp -m tcp --dport HOSTPORT -j CNI-HOSTPORT-SETMARK   (hairpin)
    -A CNI-DN-<hash> -s 127.0.0.1/32 -p tcp -m tcp --dport HOSTPORT -j CNI-HOSTPORT-SETMARK (localhost)
    -A CNI-DN-<hash> -p tcp -m tcp --dport HOSTPORT -j DNAT --to-destination POD:CONTAINERPORT

kube-proxy's jumps were written first (kube-proxy runs before any pod), so
its PREROUTING and OUTPUT jumps stay ahead of portmap's, and portmap's
prepended POSTROUTING jump lands ahead of KUBE-POSTROUTING.

Names: the network name is the conflist's (`cbr0` for flannel's bridge and
vxlan modes, `kindnet` for ptp); the container ID, which a real runtime
draws at random, is the SHA-256 hex of the pod's UID; the per-pod chain is
`CNI-DN-` + SHA-512 hex of name+ID, cut to 28 characters
(`utils.MustFormatChainNameWithPrefix`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import ip_interface

from netsim.api.objects import Pod
from netsim.api.topology import CNI
from netsim.errors import NetsimError

DNAT_CHAIN = "CNI-HOSTPORT-DNAT"
SETMARK_CHAIN = "CNI-HOSTPORT-SETMARK"
MASQ_CHAIN = "CNI-HOSTPORT-MASQ"
MARK = "0x2000/0x2000"  # 1 << markMasqBit (13), as value/mask
MAX_CHAIN_LENGTH = 28
NETWORK_NAME = {CNI.BRIDGE: "cbr0", CNI.VXLAN: "cbr0", CNI.PTP: "kindnet"}
MULTIPORT_MAX = 15  # multiport takes at most 15 ports per rule (splitPortList)


class RulesetMergeError(NetsimError):
    """The ruleset text has no table to add the portmap rules to (a bug, not bad input)."""


@dataclass(frozen=True, slots=True)
class PortMapping:
    """One `portMappings` entry the kubelet hands portmap: host port to container port."""

    host_port: int
    container_port: int
    protocol: str  # lower case, as the kubelet passes it
    host_ip: str = ""


def container_id(pod: Pod) -> str:
    """The sandbox ID netsim stands in for the runtime's random one (module docstring)."""
    return hashlib.sha256(pod.uid.encode()).hexdigest()


def dnat_chain_name(network: str, cid: str) -> str:
    """`CNI-DN-<hash>`: the per-container chain (utils.MustFormatChainNameWithPrefix(net, id, "DN-"))."""
    return ("CNI-DN-" + hashlib.sha512((network + cid).encode()).hexdigest())[:MAX_CHAIN_LENGTH]


def port_mappings(pod: Pod) -> list[PortMapping]:
    """The pod's hostPort mappings in container and port order (the kubelet's order)."""
    return [PortMapping(p.host_port, p.container_port, p.protocol.lower(), p.host_ip)
            for c in pod.containers for p in c.ports if p.host_port]


def _pod_rules(pod: Pod, network: str, prefix: int) -> tuple[str, list[str], list[str]]:
    """(chain, its entry rules in CNI-HOSTPORT-DNAT, its own rules) for one pod."""
    cid = container_id(pod)
    chain = dnat_chain_name(network, cid)
    comment = f'"dnat name: \\"{network}\\" id: \\"{cid}\\""'
    mappings = port_mappings(pod)
    entries = []
    for proto in sorted({m.protocol for m in mappings}):
        ports = [str(m.host_port) for m in mappings if m.protocol == proto]
        for start in range(0, len(ports), MULTIPORT_MAX):
            spec = ",".join(ports[start:start + MULTIPORT_MAX])
            entries.append(f"-A {DNAT_CHAIN} -p {proto} -m comment --comment {comment} -m multiport "
                           f"--dports {spec} -j {chain}")
    net = ip_interface(f"{pod.pod_ip}/{prefix}").network  # containerNet.String(), normalized by iptables
    rules = []
    for m in mappings:
        if m.host_ip and m.host_ip not in ("0.0.0.0",):
            if ":" in m.host_ip:
                continue  # an IPv6 hostIP does not apply to the IPv4 address
            dst = f" -d {m.host_ip}/32"
        else:
            dst = ""
        base = f"-p {m.protocol} -m {m.protocol} --dport {m.host_port}"
        rules.append(f"-A {chain} -s {net}{dst} {base} -j {SETMARK_CHAIN}")
        rules.append(f"-A {chain} -s 127.0.0.1/32{dst} {base} -j {SETMARK_CHAIN}")
        rules.append(f"-A {chain}{dst} {base} -j DNAT --to-destination {pod.pod_ip}:{m.container_port}")
    return chain, entries, rules


def portmap_pods(pods: Sequence[Pod]) -> list[Pod]:
    """The pods portmap has rules for, in the order their sandboxes were set up."""
    chosen = [p for p in pods if p.phase == "Running" and not p.host_network and p.pod_ip and port_mappings(p)]
    return sorted(chosen, key=lambda p: (p.creation_timestamp or "", p.namespace, p.name))


def add_portmap_rules(ruleset: str, pods: Sequence[Pod], mode: CNI, prefix: int) -> str:
    """`ruleset` (iptables-save text) with portmap's nat rules for `pods` (one node's, addresses /`prefix`)."""
    chosen = portmap_pods(pods)
    if not chosen:
        return ruleset
    network = NETWORK_NAME[mode]
    chains = [DNAT_CHAIN, SETMARK_CHAIN, MASQ_CHAIN]
    own: list[str] = [
        f'-A {SETMARK_CHAIN} -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark {MARK}',
        f"-A {MASQ_CHAIN} -m mark --mark {MARK} -j MASQUERADE",
    ]
    dnat_entries: list[str] = []
    for pod in chosen:
        chain, entries, rules = _pod_rules(pod, network, prefix)
        chains.append(chain)
        dnat_entries = entries + dnat_entries  # prepended: the newest sandbox's entry comes first
        own += rules
    prepend = {"POSTROUTING": [f'-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" '
                               f"-j {MASQ_CHAIN}"]}
    append = {"PREROUTING": [f"-A PREROUTING -m addrtype --dst-type LOCAL -j {DNAT_CHAIN}"],
              "OUTPUT": [f"-A OUTPUT -m addrtype --dst-type LOCAL -j {DNAT_CHAIN}"]}
    return merge_table(ruleset, "nat", chains, own + dnat_entries, prepend, append)


def merge_table(text: str, table: str, chains: list[str], rules: list[str], prepend: dict[str, list[str]],
                append: dict[str, list[str]]) -> str:
    """Add chains and rules to one table of iptables-save text, as iptables -N / -I / -A would."""
    lines = text.splitlines()
    try:
        start = lines.index(f"*{table}")
    except ValueError:
        raise RulesetMergeError(f"the ruleset has no *{table} table to add portmap's rules to") from None
    end = next(i for i in range(start, len(lines)) if lines[i] == "COMMIT")
    body = lines[start + 1:end]
    declared = [line for line in body if line.startswith(":")]
    rule_lines = [line for line in body if line.startswith("-A ")]
    existing = {line.split()[0][1:] for line in declared}
    declared += [f":{name} - [0:0]" for name in chains if name not in existing]
    for chain, new in prepend.items():
        at = next((i for i, line in enumerate(rule_lines) if line.split()[1] == chain), len(rule_lines))
        rule_lines[at:at] = new
    for chain, new in append.items():
        at = max((i + 1 for i, line in enumerate(rule_lines) if line.split()[1] == chain), default=len(rule_lines))
        rule_lines[at:at] = new
    rule_lines += rules
    merged = lines[:start + 1] + declared + rule_lines + lines[end:]
    return "\n".join(merged) + ("\n" if text.endswith("\n") else "")
