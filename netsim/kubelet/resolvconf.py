"""Each pod's /etc/resolv.conf, as kubelet forms it (pkg/kubelet/network/dns/dns.go) and containerd writes it.

GetPodDNS: the base is the node's resolv.conf (parseResolvConf: nameservers
accumulate, the last `search` line wins without `.` and trailing dots,
`options` lines merge by name), then per dnsPolicy —
- `ClusterFirst` (a hostNetwork pod falls back to `Default`) and
  `ClusterFirstWithHostNet`: nameservers = the cluster DNS addresses; search =
  `<ns>.svc.<domain> svc.<domain> <domain>` then the node's, duplicates
  omitted; options = `ndots:5` (the node's options are dropped);
- `Default`: the node's resolv.conf as parsed;
- `None`: empty, only what dnsConfig gives.
Then dnsConfig merges in (appendDNSConfig: nameservers and searches appended
without duplicates, options merged by name, the pod's value winning), and
the limits apply (formDNSConfigFitsLimits): at most 3 nameservers; at most
32 search domains, none longer than 253 characters, the line at most 2048
characters (cut from the end) — each cut recorded as a Warning event
`DNSConfigForming` on the pod, with kubelet's message. Real kubelet merges
options through a Go map, so their order varies run to run; netsim keeps
first-seen order. containerd writes `search`, then one `nameserver` line
each, then `options` — the same file in every container of the pod.
The node's resolv.conf is the topology's `netsim.nodeResolvConf`, else the
one a kind node has: docker's embedded-DNS file with kind's gateway fix
(`nameserver <node network gateway>`, `options ndots:0`), searching
`networking.dnsSearch` when given.
"""

from __future__ import annotations

from dataclasses import dataclass

from netsim.api.objects import Pod
from netsim.api.store import Store
from netsim.api.topology import Topology

COMPONENT = "kubelet"
MAX_NAMESERVERS = 3             # validation.MaxDNSNameservers
MAX_SEARCH_PATHS = 32           # validation.MaxDNSSearchPaths
MAX_SEARCH_LIST_CHARS = 2048    # validation.MaxDNSSearchListChars
MAX_SEARCH_PATH_LENGTH = 253    # utilvalidation.DNS1123SubdomainMaxLength
DEFAULT_OPTIONS = ("ndots:5",)  # defaultDNSOptions
EVENT_REASON = "DNSConfigForming"


@dataclass(frozen=True, slots=True)
class DnsConfig:
    """runtimeapi.DNSConfig: nameservers, search domains and options, in order."""

    nameservers: tuple[str, ...] = ()
    searches: tuple[str, ...] = ()
    options: tuple[str, ...] = ()

    def render(self) -> str:
        """The resolv.conf text, as containerd's parseDNSOptions writes it."""
        out = ""
        if self.searches:
            out += f"search {' '.join(self.searches)}\n"
        out += "".join(f"nameserver {s}\n" for s in self.nameservers)
        if self.options:
            out += f"options {' '.join(self.options)}\n"
        return out


@dataclass(frozen=True, slots=True)
class DnsWarning:
    """An event kubelet records while forming the file: reason and message."""

    reason: str
    message: str


def _merge_options(existing: tuple[str, ...], new: list[tuple[str, str | None]]) -> tuple[str, ...]:
    """Options by name, later ones replacing earlier (appendOptions / mergeDNSOptions), first-seen order."""
    merged: dict[str, str | None] = {}
    for op in existing:
        name, sep, value = op.partition(":")
        merged[name] = value if sep else None
    for name, value in new:
        merged[name] = value
    return tuple(n if not v else f"{n}:{v}" for n, v in merged.items())


def parse_resolv_conf(text: str) -> DnsConfig:
    """kubelet's parseResolvConf of a node's resolv.conf."""
    servers: list[str] = []
    searches: list[str] = []
    options: tuple[str, ...] = ()
    for line in text.split("\n"):
        trimmed = line.strip()
        if trimmed.startswith("#"):
            continue
        fields = trimmed.split()
        if not fields:
            continue
        if fields[0] == "nameserver" and len(fields) >= 2:
            servers.append(fields[1])
        elif fields[0] == "search":
            searches = [s.removesuffix(".") for s in fields[1:] if s != "."]
        elif fields[0] == "options":
            options = _merge_options(options, [(o.split(":")[0], o.partition(":")[2] or None) for o in fields[1:]])
    return DnsConfig(tuple(servers), tuple(searches), options)


def node_resolv_conf(topology: Topology) -> str:
    """The nodes' /etc/resolv.conf: netsim.nodeResolvConf, else a kind node's (module docstring)."""
    if topology.node_resolv_conf is not None:
        return topology.node_resolv_conf
    search = f"search {' '.join(topology.dns_search)}\n" if topology.dns_search else ""
    return f"{search}nameserver {topology.node_gateway}\noptions ndots:0\n"


def _omit_duplicates(items) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _fit_search(searches: tuple[str, ...]) -> tuple[tuple[str, ...], bool]:
    """formDNSSearchFitsLimits without the event: the kept domains and whether any were cut."""
    exceeded = False
    kept = list(searches)
    if len(kept) > MAX_SEARCH_PATHS:
        kept, exceeded = kept[:MAX_SEARCH_PATHS], True
    short = [s for s in kept if len(s) <= MAX_SEARCH_PATH_LENGTH]
    exceeded |= len(short) != len(kept)
    kept = short
    length = len(" ".join(kept))
    if length > MAX_SEARCH_LIST_CHARS:
        cut_len = cut = 0
        for domain in reversed(kept):
            cut_len += len(domain) + 1
            cut += 1
            if length - cut_len <= MAX_SEARCH_LIST_CHARS:
                break
        kept, exceeded = kept[:len(kept) - cut], True
    return tuple(kept), exceeded


def pod_dns_config(pod: Pod, cluster_dns: tuple[str, ...], cluster_domain: str,
                   host: DnsConfig) -> tuple[DnsConfig, tuple[DnsWarning, ...]]:
    """GetPodDNS: the pod's DNS configuration and the warnings kubelet records for it."""
    policy = pod.spec.get("dnsPolicy") or "ClusterFirst"
    warnings: list[DnsWarning] = []
    if policy == "None":
        config = DnsConfig()
    elif policy == "ClusterFirstWithHostNet" or (policy == "ClusterFirst" and not pod.host_network):
        searches = (f"{pod.namespace}.svc.{cluster_domain}", f"svc.{cluster_domain}", cluster_domain)
        config = DnsConfig(tuple(cluster_dns), _omit_duplicates(searches + host.searches), DEFAULT_OPTIONS) \
            if cluster_domain else DnsConfig(tuple(cluster_dns), host.searches, DEFAULT_OPTIONS)
    else:
        config = host
    given = pod.spec.get("dnsConfig")
    if given:
        config = DnsConfig(
            _omit_duplicates(config.nameservers + tuple(given.get("nameservers") or ())),
            _omit_duplicates(config.searches + tuple(given.get("searches") or ())),
            _merge_options(config.options, [(o.get("name", ""), o.get("value")) for o in given.get("options") or ()]),
        )
    servers = config.nameservers
    if len(servers) > MAX_NAMESERVERS:
        servers = servers[:MAX_NAMESERVERS]
        warnings.append(DnsWarning(EVENT_REASON, "Nameserver limits were exceeded, some nameservers have been "
                                               f"omitted, the applied nameserver line is: {' '.join(servers)}"))
    searches, exceeded = _fit_search(config.searches)
    if exceeded:
        warnings.append(DnsWarning(EVENT_REASON, "Search Line limits were exceeded, some search paths have been "
                                               f"omitted, the applied search line is: {' '.join(searches)}"))
    return DnsConfig(servers, searches, config.options), tuple(warnings)


def pod_resolv_conf(pod: Pod, topology: Topology) -> tuple[str, tuple[DnsWarning, ...]]:
    """The pod's /etc/resolv.conf text (every container's) and kubelet's warnings."""
    config, warnings = pod_dns_config(pod, (str(topology.cluster_dns_ip),), topology.cluster_domain,
                                      parse_resolv_conf(node_resolv_conf(topology)))
    return config.render(), warnings


def record_dns_warnings(store: Store, pod: Pod, topology: Topology, node_name: str) -> None:
    """Record kubelet's DNSConfigForming events for a pod it starts."""
    for w in pod_resolv_conf(pod, topology)[1]:
        store.record_event(pod, "Warning", w.reason, w.message, COMPONENT, node_name)
