"""A node's ruleset, written as kube-proxy's iptables proxier writes it.

Read beside proxier.go `syncProxyRules`: `plan_service_port` is the block of
decisions at the top of its per-service loop (which chains exist, where
internal and external traffic goes, what is rejected), and each `write_*`
function is one family of rules from the same loop or from the fixed part of
the sync, each line with the words of the matching `natRules.Write(...)` /
`filterRules.Write(...)` call in the same order. `render` only orders the
calls. Services are processed sorted by (namespace, name, port name); the
text comes out in the canonical order of kube-proxy's tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from netsim.kubeproxy import constants as C
from netsim.kubeproxy.model import EndpointInfo, ProxyConfig, ServicePortInfo, SessionAffinity
from netsim.kubeproxy.names import (
    service_external_chain_name,
    service_firewall_chain_name,
    service_port_endpoint_chain_name,
    service_port_policy_cluster_chain,
    service_port_policy_local_chain_name,
)
from netsim.kubeproxy.rules import Rule, Ruleset, comment, comment_word, go_probability, proto_match, rule
from netsim.kubeproxy.topology import EndpointCategories, categorize_endpoints

Endpoints = Mapping[str, Sequence[EndpointInfo]]


@dataclass(frozen=True, slots=True)
class ServicePlan:
    """Every decision syncProxyRules makes about one service port before writing rules.

    Names follow proxier.go's local variables. `*_filter` is the (target, comment)
    of the filter-table rule for traffic that has nowhere to go ("REJECT" when the
    service has no endpoints at all, "DROP" when a Local policy has no local
    endpoint), or None when traffic is served.
    """

    svc: ServicePortInfo
    endpoints: EndpointCategories
    cluster_policy_chain: str
    uses_cluster_policy_chain: bool
    local_policy_chain: str
    uses_local_policy_chain: bool
    internal_traffic_chain: str
    has_internal_endpoints: bool
    external_policy_chain: str
    has_external_endpoints: bool
    external_traffic_chain: str
    uses_external_traffic_chain: bool
    firewall_chain: str
    uses_firewall_chain: bool
    load_balancer_traffic_chain: str
    internal_filter: tuple[str, str] | None
    external_filter: tuple[str, str] | None

    @property
    def has_endpoints(self) -> bool:
        return self.endpoints.has_any

    @property
    def name(self) -> str:
        return self.svc.name_string

    @property
    def proto(self) -> str:
        return self.svc.protocol.lower


def plan_service_port(svc: ServicePortInfo, endpoints: Sequence[EndpointInfo], config: ProxyConfig) -> ServicePlan:
    """Decide chains and fates for one service port (the top of syncProxyRules' service loop)."""
    name, proto = svc.name_string, svc.protocol.lower
    eps = categorize_endpoints(endpoints, svc, config)
    has_endpoints = eps.has_any

    cluster_chain = service_port_policy_cluster_chain(name, proto)
    local_chain = service_port_policy_local_chain_name(name, proto)
    uses_cluster = bool(eps.cluster) and svc.uses_cluster_endpoints()
    uses_local = bool(eps.local) and svc.uses_local_endpoints()

    internal_chain, has_internal = cluster_chain, has_endpoints
    if svc.internal_policy_is_local():
        internal_chain = local_chain
        has_internal = has_internal and bool(eps.local)

    external_policy_chain, has_external = cluster_chain, has_endpoints
    if svc.external_policy_is_local():
        external_policy_chain = local_chain
        has_external = has_external and bool(eps.local)

    external_chain = service_external_chain_name(name, proto)
    fw_chain = service_firewall_chain_name(name, proto)
    uses_fw = has_endpoints and bool(svc.load_balancer_ips) and bool(svc.load_balancer_source_ranges)

    internal_filter = external_filter = None
    if not has_endpoints:
        internal_filter = external_filter = ("REJECT", C.COMMENT_NO_ENDPOINTS.format(svc=name))
    else:
        if not has_internal:
            internal_filter = ("DROP", C.COMMENT_NO_LOCAL_ENDPOINTS.format(svc=name))
        if not has_external:
            external_filter = ("DROP", C.COMMENT_NO_LOCAL_ENDPOINTS.format(svc=name))

    return ServicePlan(
        svc=svc,
        endpoints=eps,
        cluster_policy_chain=cluster_chain,
        uses_cluster_policy_chain=uses_cluster,
        local_policy_chain=local_chain,
        uses_local_policy_chain=uses_local,
        internal_traffic_chain=internal_chain,
        has_internal_endpoints=has_internal,
        external_policy_chain=external_policy_chain,
        has_external_endpoints=has_external,
        external_traffic_chain=external_chain,
        uses_external_traffic_chain=has_endpoints and svc.externally_accessible(),
        firewall_chain=fw_chain,
        uses_firewall_chain=uses_fw,
        load_balancer_traffic_chain=fw_chain if uses_fw else external_chain,
        internal_filter=internal_filter,
        external_filter=external_filter,
    )


def is_large_cluster(services: Sequence[ServicePortInfo], endpoints: Endpoints) -> bool:
    """More than 1000 endpoints over all service ports: per-endpoint comments are dropped."""
    total = sum(len(endpoints.get(svc.name_string, ())) for svc in services)
    return total > C.LARGE_CLUSTER_ENDPOINTS_THRESHOLD


# --- Fixed chains ------------------------------------------------------------------------

JUMP = "-j"


def jump(target: str, *options: str) -> tuple[str, ...]:
    """`-j TARGET [options]`."""
    return (JUMP, target, *options)


def write_top_level_chains(rs: Ruleset) -> None:
    """The chain lines every sync writes (filter and nat top-level chains)."""
    for chain in C.FILTER_TOP_LEVEL_CHAINS:
        rs.table(C.TABLE_FILTER).declare(chain)
    for chain in C.NAT_TOP_LEVEL_CHAINS:
        rs.table(C.TABLE_NAT).declare(chain)


def write_postrouting_and_mark(rs: Ruleset, config: ProxyConfig) -> None:
    """KUBE-POSTROUTING (skip unmarked, clear the bit, masquerade) and KUBE-MARK-MASQ (set the bit)."""
    nat, mark = rs.table(C.TABLE_NAT), config.mark_text
    nat.append(rule(C.KUBE_POSTROUTING, ("-m", "mark", "!", "--mark", f"{mark}/{mark}"), jump("RETURN")))
    nat.append(rule(C.KUBE_POSTROUTING, jump("MARK", "--xor-mark", mark)))
    masq = jump("MASQUERADE", "--random-fully") if config.random_fully else jump("MASQUERADE")
    nat.append(rule(C.KUBE_POSTROUTING, comment(C.COMMENT_SNAT), masq))
    nat.append(rule(C.KUBE_MARK_MASQ, jump("MARK", "--or-mark", mark)))


def write_kubelet_firewall(rs: Ruleset, config: ProxyConfig) -> None:
    """KUBE-FIREWALL's localnet guard: kube-proxy writes it when localhost NodePorts are on;
    kubelet (pkg/kubelet/kubelet_network_linux.go) always keeps an identical copy."""
    if not (config.effective_localhost_node_ports() or config.kubelet_firewall):
        return
    filt = rs.table(C.TABLE_FILTER)
    filt.declare(C.KUBE_FIREWALL)
    filt.append(rule(C.KUBE_FIREWALL, comment(C.COMMENT_LOCALNET),
                     ("-d", C.IPV4_LOOPBACK_CIDR, "!", "-s", C.IPV4_LOOPBACK_CIDR),
                     ("-m", "conntrack", "!", "--ctstate", "RELATED,ESTABLISHED,DNAT"), jump("DROP")))


def write_nodeports_jump(rs: Ruleset, config: ProxyConfig) -> None:
    """The last rule(s) of nat KUBE-SERVICES: local destinations go on to KUBE-NODEPORTS."""
    nat = rs.table(C.TABLE_NAT)
    last = comment(C.COMMENT_NODEPORTS_LAST)
    if config.node_ports_match_all():
        destinations: tuple[str, ...] = ("-m", "addrtype", "--dst-type", "LOCAL")
        if not config.effective_localhost_node_ports():
            destinations += ("!", "-d", C.IPV4_LOOPBACK_CIDR)
        nat.append(rule(C.KUBE_SERVICES, last, destinations, jump(C.KUBE_NODEPORTS)))
        return
    for ip in config.node_port_ips():
        if ip.is_loopback and not config.effective_localhost_node_ports():
            continue
        nat.append(rule(C.KUBE_SERVICES, last, ("-d", str(ip)), jump(C.KUBE_NODEPORTS)))


def write_forward(rs: Ruleset, config: ProxyConfig) -> None:
    """KUBE-FORWARD: drop conntrack-INVALID, accept masquerade-marked and established traffic."""
    filt, mark = rs.table(C.TABLE_FILTER), config.mark_text
    if not config.conntrack_tcp_be_liberal:
        nfacct = ("-m", "nfacct", "--nfacct-name", C.NFACCT_CT_INVALID_DROPPED) if config.nfacct else ()
        filt.append(rule(C.KUBE_FORWARD, ("-m", "conntrack", "--ctstate", "INVALID"), nfacct, jump("DROP")))
    filt.append(rule(C.KUBE_FORWARD, comment(C.COMMENT_FORWARD_RULES), ("-m", "mark", "--mark", f"{mark}/{mark}"),
                     jump("ACCEPT")))
    filt.append(rule(C.KUBE_FORWARD, comment(C.COMMENT_FORWARD_CONNTRACK),
                     ("-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED"), jump("ACCEPT")))


def _jump_rule(row: C.JumpRule) -> Rule:
    """One EnsureRule of the jump tables: `extraArgs`, then the comment if any, then `-j`."""
    extra = ("-m", *row.match) if row.match else ()
    note = ("-m", "comment", "--comment", comment_word(row.comment)) if row.comment else ()
    return rule(row.src_chain, extra, note, jump(row.dst_chain))


def write_builtin_jumps(rs: Ruleset, config: ProxyConfig) -> None:
    """The jumps from built-in chains, as `EnsureRule(Prepend, …)` leaves them.

    These are not part of kube-proxy's iptables-restore input: kube-proxy (and kubelet, for
    KUBE-FIREWALL) install them with separate `iptables -I` commands. They are written here in
    the same argument form so that the text alone rebuilds the node's tables. Each row of
    iptablesJumpChains (then iptablesKubeletJumpChains) is inserted at the head of its chain
    unless already present, so later rows end up first. With `kubelet_firewall`, kubelet's
    KUBE-FIREWALL jumps were there before.
    """
    rows: list[C.JumpRule] = list(C.IPTABLES_JUMP_CHAINS) + list(C.IPTABLES_KUBELET_JUMP_CHAINS)
    if config.kubelet_firewall:
        for row in C.IPTABLES_KUBELET_JUMP_CHAINS:
            rs.table(row.table).append(_jump_rule(row))
    for row in rows:
        table = rs.table(row.table)
        table.declare(row.dst_chain)
        new = _jump_rule(row)
        if new not in table.chain_rules(row.src_chain):
            table.insert_first(new)


def write_canaries(rs: Ruleset, config: ProxyConfig) -> None:
    """The empty KUBE-PROXY-CANARY chains utiliptables.Monitor keeps in mangle, nat and filter."""
    if config.canary_chains:
        for table in C.CANARY_TABLES:
            rs.table(table).declare(C.KUBE_PROXY_CANARY)


# --- Per-service rules ------------------------------------------------------------------


def _dport(proto: str, ip: str | None, port: int) -> tuple[str, ...]:
    """`-m PROTO -p PROTO [-d IP] --dport PORT`, kube-proxy's order for a service destination."""
    dest = ("-d", ip) if ip is not None else ()
    return (*proto_match(proto), *dest, "--dport", str(port))


def write_service_dispatch(rs: Ruleset, plan: ServicePlan, config: ProxyConfig) -> None:
    """KUBE-SERVICES / KUBE-NODEPORTS entries for the service's cluster IP, external IPs,
    LB IPs and NodePort, and the filter rules for traffic that has nowhere to go."""
    svc, name, proto = plan.svc, plan.name, plan.proto
    nat, filt = rs.table(C.TABLE_NAT), rs.table(C.TABLE_FILTER)

    # Capture the cluster IP.
    if plan.has_internal_endpoints:
        nat.append(rule(C.KUBE_SERVICES, comment(C.COMMENT_CLUSTER_IP.format(svc=name)),
                        _dport(proto, str(svc.cluster_ip), svc.port), jump(plan.internal_traffic_chain)))
    else:
        target, text = plan.internal_filter  # type: ignore[misc]
        filt.append(rule(C.KUBE_SERVICES, comment(text), _dport(proto, str(svc.cluster_ip), svc.port),
                         jump(target)))

    # Capture external IPs.
    for ip in svc.external_ips:
        if plan.has_endpoints:
            nat.append(rule(C.KUBE_SERVICES, comment(C.COMMENT_EXTERNAL_IP.format(svc=name)),
                            _dport(proto, str(ip), svc.port), jump(plan.external_traffic_chain)))
        if not plan.has_external_endpoints:
            _write_external_filter(filt, plan, _dport(proto, str(ip), svc.port))

    # Capture load-balancer ingress IPs.
    for ip in svc.load_balancer_ips:
        if plan.has_endpoints:
            nat.append(rule(C.KUBE_SERVICES, comment(C.COMMENT_LOADBALANCER_IP.format(svc=name)),
                            _dport(proto, str(ip), svc.port), jump(plan.load_balancer_traffic_chain)))
        if plan.uses_firewall_chain:
            text = C.COMMENT_FW_NOT_ACCEPTED.format(svc=name, chain=plan.firewall_chain)
            filt.append(rule(C.KUBE_PROXY_FIREWALL, comment(text), _dport(proto, str(ip), svc.port), jump("DROP")))
    if not plan.has_external_endpoints:
        for ip in svc.load_balancer_ips:
            _write_external_filter(filt, plan, _dport(proto, str(ip), svc.port))

    # Capture the NodePort.
    if svc.node_port:
        if plan.has_endpoints:
            if config.effective_localhost_node_ports() and config.nfacct:
                nat.append(rule(C.KUBE_NODEPORTS, comment(name), _dport(proto, C.IPV4_LOOPBACK_CIDR, svc.node_port),
                                ("-m", "nfacct", "--nfacct-name", C.NFACCT_LOCALHOST_NODEPORT_ACCEPTED),
                                jump(plan.external_traffic_chain)))
            nat.append(rule(C.KUBE_NODEPORTS, comment(name), _dport(proto, None, svc.node_port),
                            jump(plan.external_traffic_chain)))
        if not plan.has_external_endpoints:
            _write_external_filter(filt, plan, ("-m", "addrtype", "--dst-type", "LOCAL"),
                                   _dport(proto, None, svc.node_port))

    # Accept the health-check NodePort whether or not there are local endpoints.
    if svc.health_check_node_port:
        filt.append(rule(C.KUBE_NODEPORTS, comment(C.COMMENT_HEALTH_CHECK.format(svc=name)),
                         _dport("tcp", None, svc.health_check_node_port), jump("ACCEPT")))


def _write_external_filter(filt, plan: ServicePlan, *matches: tuple[str, ...]) -> None:
    target, text = plan.external_filter  # type: ignore[misc]
    filt.append(rule(C.KUBE_EXTERNAL_SERVICES, comment(text), *matches, jump(target)))


def write_internal_masquerade(rs: Ruleset, plan: ServicePlan, config: ProxyConfig) -> None:
    """First rule of the internal traffic chain: mark cluster-IP traffic for SNAT when it does
    not come from a pod (or always, with --masquerade-all)."""
    if not plan.has_internal_endpoints:
        return
    svc = plan.svc
    args = (*comment(C.COMMENT_CLUSTER_IP.format(svc=plan.name)), *_dport(plan.proto, str(svc.cluster_ip), svc.port))
    nat = rs.table(C.TABLE_NAT)
    if config.masquerade_all:
        nat.append(rule(plan.internal_traffic_chain, args, jump(C.KUBE_MARK_MASQ)))
    elif config.local_detector.is_implemented():
        nat.append(rule(plan.internal_traffic_chain, args, config.local_detector.if_not_local(),
                        jump(C.KUBE_MARK_MASQ)))


def write_external_chain(rs: Ruleset, plan: ServicePlan, config: ProxyConfig) -> None:
    """KUBE-EXT-: masquerade (Cluster policy) or short-circuit pod and host traffic (Local
    policy), then on to the external policy chain."""
    if not plan.uses_external_traffic_chain:
        return
    nat, chain, name = rs.table(C.TABLE_NAT), plan.external_traffic_chain, plan.name
    nat.declare(chain)
    if not plan.svc.external_policy_is_local():
        nat.append(rule(chain, comment(C.COMMENT_EXT_MASQ.format(svc=name)), jump(C.KUBE_MARK_MASQ)))
    else:
        if config.local_detector.is_implemented():
            nat.append(rule(chain, comment(C.COMMENT_EXT_POD.format(svc=name)), config.local_detector.if_local(),
                            jump(plan.cluster_policy_chain)))
        src_local = ("-m", "addrtype", "--src-type", "LOCAL")
        nat.append(rule(chain, comment(C.COMMENT_EXT_LOCAL_MASQ.format(svc=name)), src_local, jump(C.KUBE_MARK_MASQ)))
        nat.append(rule(chain, comment(C.COMMENT_EXT_LOCAL_ROUTE.format(svc=name)), src_local,
                        jump(plan.cluster_policy_chain)))
    if plan.has_external_endpoints:
        nat.append(rule(chain, jump(plan.external_policy_chain)))


def write_firewall_chain(rs: Ruleset, plan: ServicePlan, config: ProxyConfig) -> None:
    """KUBE-FW-: let loadBalancerSourceRanges (and the node itself, if in range) through to
    KUBE-EXT-; anything else falls off the end and KUBE-PROXY-FIREWALL drops it."""
    if not plan.uses_firewall_chain:
        return
    nat, chain, svc = rs.table(C.TABLE_NAT), plan.firewall_chain, plan.svc
    nat.declare(chain)
    lb_comment = comment(C.COMMENT_LOADBALANCER_IP.format(svc=plan.name))
    allow_from_node = False
    for cidr in svc.load_balancer_source_ranges:
        nat.append(rule(chain, lb_comment, ("-s", cidr.with_prefixlen), jump(plan.external_traffic_chain)))
        if config.node_ip is not None and config.node_ip in cidr:
            allow_from_node = True
    if allow_from_node:
        for ip in svc.load_balancer_ips:
            nat.append(rule(chain, lb_comment, ("-s", str(ip)), jump(plan.external_traffic_chain)))
    nat.append(rule(chain, comment(C.COMMENT_FW_OTHER.format(svc=plan.name))))


def write_policy_chains(rs: Ruleset, plan: ServicePlan, large_cluster: bool) -> None:
    """KUBE-SVC- (Cluster policy) and KUBE-SVL- (Local policy): affinity, then the
    statistic cascade that picks one endpoint (writeServiceToEndpointRules)."""
    nat = rs.table(C.TABLE_NAT)
    for uses, chain, endpoints in (
        (plan.uses_cluster_policy_chain, plan.cluster_policy_chain, plan.endpoints.cluster),
        (plan.uses_local_policy_chain, plan.local_policy_chain, plan.endpoints.local),
    ):
        if not uses:
            continue
        nat.declare(chain)
        for r in service_to_endpoint_rules(plan, chain, endpoints, large_cluster):
            nat.append(r)


def service_to_endpoint_rules(plan: ServicePlan, chain: str, endpoints: Sequence[EndpointInfo],
                              large_cluster: bool) -> list[Rule]:
    """The rules of one policy chain (proxier.go writeServiceToEndpointRules); in large-cluster
    mode `appendServiceCommentLocked` leaves the comments out."""
    svc, out = plan.svc, []

    def note(ep: EndpointInfo) -> tuple[str, ...]:
        return () if large_cluster else comment(C.COMMENT_SVC_TO_SEP.format(svc=plan.name, ep=ep.endpoint))

    chains = {ep: service_port_endpoint_chain_name(plan.name, plan.proto, ep.endpoint) for ep in endpoints}
    sep = chains.__getitem__

    if svc.session_affinity is SessionAffinity.CLIENT_IP:
        for ep in endpoints:
            out.append(rule(chain, note(ep), ("-m", "recent", "--name", sep(ep), "--rcheck", "--seconds",
                                              str(svc.sticky_max_age_seconds), "--reap"), jump(sep(ep))))
    n = len(endpoints)
    for i, ep in enumerate(endpoints):
        stat = ("-m", "statistic", "--mode", "random", "--probability", go_probability(n - i)) if i < n - 1 else ()
        out.append(rule(chain, note(ep), stat, jump(sep(ep))))
    return out


def write_endpoint_chains(rs: Ruleset, plan: ServicePlan, large_cluster: bool) -> None:
    """KUBE-SEP-: masquerade hairpin traffic from the endpoint itself, then DNAT to it."""
    nat, svc = rs.table(C.TABLE_NAT), plan.svc
    note = () if large_cluster else comment(plan.name)
    for ep in plan.endpoints.all_reachable:
        chain = service_port_endpoint_chain_name(plan.name, plan.proto, ep.endpoint)
        nat.declare(chain)
        nat.append(rule(chain, note, ("-s", str(ep.ip)), jump(C.KUBE_MARK_MASQ), comment_text=plan.name))
        affinity = ("-m", "recent", "--name", chain, "--set") if svc.session_affinity is SessionAffinity.CLIENT_IP else ()
        nat.append(rule(chain, note, affinity, proto_match(plan.proto), jump("DNAT", "--to-destination", ep.endpoint),
                        comment_text=plan.name))


def write_service_port(rs: Ruleset, svc: ServicePortInfo, endpoints: Sequence[EndpointInfo],
                       config: ProxyConfig, large_cluster: bool) -> None:
    """All rules of one service port, in syncProxyRules' order."""
    plan = plan_service_port(svc, endpoints, config)
    write_service_dispatch(rs, plan, config)
    write_internal_masquerade(rs, plan, config)
    write_external_chain(rs, plan, config)
    write_firewall_chain(rs, plan, config)
    write_policy_chains(rs, plan, large_cluster)
    write_endpoint_chains(rs, plan, large_cluster)


def sorted_service_ports(services: Iterable[ServicePortInfo]) -> list[ServicePortInfo]:
    """Service ports in netsim's processing order (kube-proxy uses Go map order)."""
    return sorted(services, key=lambda s: (s.namespace, s.name, s.port_name, s.protocol.value))


def render(config: ProxyConfig, services: Iterable[ServicePortInfo], endpoints: Endpoints) -> str:
    """The node's ruleset (filter, nat and, with canary chains, mangle) as iptables-restore input,
    in kube-proxy's own words and the canonical order of its tests.

    `endpoints` maps a service port's `name_string` ("ns/name:port") to its endpoints;
    a missing key means no endpoints. Beside what syncProxyRules writes, the text holds what
    kube-proxy and kubelet set up with single iptables commands (the canary chains, the jumps
    from built-in chains, kubelet's KUBE-FIREWALL), so that it alone rebuilds the node's
    tables. What iptables-save prints back is netsim.netfilter's normalization of this text.
    """
    ports = sorted_service_ports(services)
    large = is_large_cluster(ports, endpoints)
    rs = Ruleset()
    write_top_level_chains(rs)
    write_postrouting_and_mark(rs, config)
    write_kubelet_firewall(rs, config)
    for svc in ports:
        write_service_port(rs, svc, endpoints.get(svc.name_string, ()), config, large)
    write_nodeports_jump(rs, config)
    write_forward(rs, config)
    write_builtin_jumps(rs, config)
    write_canaries(rs, config)
    return rs.to_text()
