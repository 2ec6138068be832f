"""Every fixed name, comment and mark kube-proxy's iptables mode writes, in one place.

Values mirror the constants and string literals of kube-proxy's
`pkg/proxy/iptables/proxier.go` (see the package docstring for the revision).
Comments are stored as the plain text kube-proxy puts in `--comment`; quoting
is the printer's job (`rules.quote`). Per-service comments are format strings
over the service port name string (`ns/name:port`).
"""

from __future__ import annotations

from dataclasses import dataclass

# --- Tables and built-in chains -------------------------------------------------------

TABLE_FILTER = "filter"
TABLE_NAT = "nat"
TABLE_MANGLE = "mangle"

#: Built-in chains of each table, in the order iptables-save lists them (the
#: kernel's hook order for that table). Their policy is ACCEPT on a node.
BUILTIN_CHAINS: dict[str, tuple[str, ...]] = {
    TABLE_FILTER: ("INPUT", "FORWARD", "OUTPUT"),
    TABLE_MANGLE: ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"),
    TABLE_NAT: ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
}
BUILTIN_POLICY = "ACCEPT"

# --- kube-proxy's fixed chains (proxier.go const block) -------------------------------

KUBE_SERVICES = "KUBE-SERVICES"                    # kubeServicesChain: ClusterIP/external IP/LB dispatch
KUBE_EXTERNAL_SERVICES = "KUBE-EXTERNAL-SERVICES"  # kubeExternalServicesChain: filter, REJECT/DROP for external IPs
KUBE_NODEPORTS = "KUBE-NODEPORTS"                  # kubeNodePortsChain: nat NodePort dispatch, filter health checks
KUBE_POSTROUTING = "KUBE-POSTROUTING"              # kubePostroutingChain: masquerade marked packets
KUBE_MARK_MASQ = "KUBE-MARK-MASQ"                  # kubeMarkMasqChain: set the masquerade bit
KUBE_FORWARD = "KUBE-FORWARD"                      # kubeForwardChain: accept marked / established forwards
KUBE_PROXY_FIREWALL = "KUBE-PROXY-FIREWALL"        # kubeProxyFirewallChain: loadBalancerSourceRanges drops
KUBE_PROXY_CANARY = "KUBE-PROXY-CANARY"            # kubeProxyCanaryChain: empty; utiliptables.Monitor watches it
KUBE_FIREWALL = "KUBE-FIREWALL"                    # kubeletFirewallChain: duplicate of kubelet's localnet guard

#: The chains kube-proxy always writes a chain line for, per table, in the
#: order syncProxyRules writes them (KUBE-FIREWALL is added only when
#: localhost NodePorts are on; see render.write_kubelet_firewall).
FILTER_TOP_LEVEL_CHAINS = (KUBE_SERVICES, KUBE_EXTERNAL_SERVICES, KUBE_FORWARD, KUBE_NODEPORTS, KUBE_PROXY_FIREWALL)
NAT_TOP_LEVEL_CHAINS = (KUBE_SERVICES, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_MARK_MASQ)

# --- Per-service chain prefixes (names.py derives the full names) ---------------------

SVC_PREFIX = "KUBE-SVC-"  # servicePortPolicyClusterChainNamePrefix
SVL_PREFIX = "KUBE-SVL-"  # servicePortPolicyLocalChainNamePrefix
FW_PREFIX = "KUBE-FW-"    # serviceFirewallChainNamePrefix
EXT_PREFIX = "KUBE-EXT-"  # serviceExternalChainNamePrefix
SEP_PREFIX = "KUBE-SEP-"  # servicePortEndpointChainNamePrefix
SERVICE_CHAIN_PREFIXES = (SVC_PREFIX, SVL_PREFIX, EXT_PREFIX, FW_PREFIX, SEP_PREFIX)

# --- Marks -----------------------------------------------------------------------------

DEFAULT_MASQUERADE_BIT = 14  # KubeProxyIPTablesConfiguration.masqueradeBit default → mark 0x4000

# --- Built-in targets (not chains) -------------------------------------------------------

BUILTIN_TARGETS = frozenset({"ACCEPT", "DROP", "RETURN", "REJECT", "MARK", "MASQUERADE", "DNAT", "SNAT"})

# --- Fixed comments ------------------------------------------------------------------------

COMMENT_SNAT = "kubernetes service traffic requiring SNAT"
COMMENT_FORWARD_RULES = "kubernetes forwarding rules"
COMMENT_FORWARD_CONNTRACK = "kubernetes forwarding conntrack rule"
COMMENT_LOCALNET = "block incoming localnet connections"
COMMENT_NODEPORTS_LAST = "kubernetes service nodeports; NOTE: this must be the last rule in this chain"
COMMENT_SERVICE_PORTALS = "kubernetes service portals"
COMMENT_EXTERNAL_PORTALS = "kubernetes externally-visible service portals"
COMMENT_HEALTH_CHECK_PORTS = "kubernetes health check service ports"
COMMENT_LB_FIREWALL = "kubernetes load balancer firewall"
COMMENT_POSTROUTING = "kubernetes postrouting rules"

# Per-service comments: `{svc}` is the service port name string, `{ep}` an endpoint "ip:port".
COMMENT_CLUSTER_IP = "{svc} cluster IP"
COMMENT_EXTERNAL_IP = "{svc} external IP"
COMMENT_LOADBALANCER_IP = "{svc} loadbalancer IP"
COMMENT_NO_ENDPOINTS = "{svc} has no endpoints"
COMMENT_NO_LOCAL_ENDPOINTS = "{svc} has no local endpoints"
COMMENT_HEALTH_CHECK = "{svc} health check node port"
COMMENT_FW_NOT_ACCEPTED = "{svc} traffic not accepted by {chain}"
COMMENT_FW_OTHER = "other traffic to {svc} will be dropped by KUBE-PROXY-FIREWALL"
COMMENT_EXT_MASQ = "masquerade traffic for {svc} external destinations"
COMMENT_EXT_POD = "pod traffic for {svc} external destinations"
COMMENT_EXT_LOCAL_MASQ = "masquerade LOCAL traffic for {svc} external destinations"
COMMENT_EXT_LOCAL_ROUTE = "route LOCAL traffic for {svc} external destinations"
COMMENT_SVC_TO_SEP = "{svc} -> {ep}"

# --- nfacct counters (pkg/proxy/metrics) ------------------------------------------------------

NFACCT_CT_INVALID_DROPPED = "ct_state_invalid_dropped_pkts"
NFACCT_LOCALHOST_NODEPORT_ACCEPTED = "localhost_nps_accepted_pkts"

# --- Misc -------------------------------------------------------------------------------------

#: More endpoints than this (summed over all service ports) switches kube-proxy into
#: "large cluster mode": per-endpoint rules lose their comments (largeClusterEndpointsThreshold).
LARGE_CLUSTER_ENDPOINTS_THRESHOLD = 1000
#: Session affinity timeout when ClientIP affinity has no explicit timeout (v1 default, 3 hours).
DEFAULT_STICKY_MAX_AGE_SECONDS = 10800
IPV4_LOOPBACK_CIDR = "127.0.0.0/8"


@dataclass(frozen=True, slots=True)
class JumpRule:
    """One rule kube-proxy (or kubelet) inserts into a built-in chain, jumping to its own chain.

    `match` is proxier.go's `extraArgs` (a match placed before the comment) as a
    module name and its options in iptables-save form, or empty.
    """

    table: str
    src_chain: str
    dst_chain: str
    comment: str
    match: tuple[str, ...] = ()


_NEW = ("conntrack", "--ctstate", "NEW")

#: proxier.go `iptablesJumpChains`, in its order. kube-proxy installs each with
#: `EnsureRule(Prepend, ...)` on every full sync, so in a built-in chain they end
#: up in reverse order of this table (see render.builtin_chain_rules).
IPTABLES_JUMP_CHAINS: tuple[JumpRule, ...] = (
    # New connections to external IPs / LB IPs / NodePorts without endpoints are rejected here.
    JumpRule(TABLE_FILTER, "INPUT", KUBE_EXTERNAL_SERVICES, COMMENT_EXTERNAL_PORTALS, _NEW),
    JumpRule(TABLE_FILTER, "FORWARD", KUBE_EXTERNAL_SERVICES, COMMENT_EXTERNAL_PORTALS, _NEW),
    # Health-check NodePorts must be accepted even by hosts whose INPUT policy drops.
    JumpRule(TABLE_FILTER, "INPUT", KUBE_NODEPORTS, COMMENT_HEALTH_CHECK_PORTS),
    # ClusterIPs without endpoints are rejected for forwarded and local traffic.
    JumpRule(TABLE_FILTER, "FORWARD", KUBE_SERVICES, COMMENT_SERVICE_PORTALS, _NEW),
    JumpRule(TABLE_FILTER, "OUTPUT", KUBE_SERVICES, COMMENT_SERVICE_PORTALS, _NEW),
    # Accept masquerade-marked and established forwarded traffic (FORWARD policy may be DROP).
    JumpRule(TABLE_FILTER, "FORWARD", KUBE_FORWARD, COMMENT_FORWARD_RULES),
    # loadBalancerSourceRanges: traffic to an LB IP that the KUBE-FW- chain did not DNAT.
    JumpRule(TABLE_FILTER, "INPUT", KUBE_PROXY_FIREWALL, COMMENT_LB_FIREWALL, _NEW),
    JumpRule(TABLE_FILTER, "OUTPUT", KUBE_PROXY_FIREWALL, COMMENT_LB_FIREWALL, _NEW),
    JumpRule(TABLE_FILTER, "FORWARD", KUBE_PROXY_FIREWALL, COMMENT_LB_FIREWALL, _NEW),
    # DNAT happens in nat PREROUTING (arriving) and OUTPUT (locally generated).
    JumpRule(TABLE_NAT, "OUTPUT", KUBE_SERVICES, COMMENT_SERVICE_PORTALS),
    JumpRule(TABLE_NAT, "PREROUTING", KUBE_SERVICES, COMMENT_SERVICE_PORTALS),
    # Masquerade marked packets on the way out.
    JumpRule(TABLE_NAT, "POSTROUTING", KUBE_POSTROUTING, COMMENT_POSTROUTING),
)

#: proxier.go `iptablesKubeletJumpChains`: kube-proxy ensures kubelet's KUBE-FIREWALL
#: jumps too (no comment, no extra match). Kubelet normally installed them first.
IPTABLES_KUBELET_JUMP_CHAINS: tuple[JumpRule, ...] = (
    JumpRule(TABLE_FILTER, "INPUT", KUBE_FIREWALL, ""),
    JumpRule(TABLE_FILTER, "OUTPUT", KUBE_FIREWALL, ""),
)

#: Tables utiliptables.Monitor creates KUBE-PROXY-CANARY in (proxier.go NewProxier).
CANARY_TABLES = (TABLE_MANGLE, TABLE_NAT, TABLE_FILTER)
