"""CoreDNS's kubernetes plugin: the answers for names in the cluster zones (the Kubernetes DNS specification).

Follows coredns/coredns plugin/kubernetes (parse.go parseRequest, kubernetes.go
Records/findServices/findPods/Reverse/nsAddrs, handler.go ServeDNS) and
plugin/backend_lookup.go (A, AAAA, SRV, PTR, TXT, NS, SOA, BackendError):

- `svc.ns.svc.zone`: A/AAAA of the ClusterIPs; a headless Service gives one
  record per ready endpoint address; ExternalName gives a CNAME (followed
  through the whole server when the target is outside the zone);
- `host.svc.ns.svc.zone`: the endpoint whose hostname (or dashed IP, or pod
  name with endpoint_pod_names) is `host`;
- `_port._proto.svc.ns.svc.zone` SRV: priority 0, weight 100/n, the port, the
  target `svc.ns.svc.zone.` (or `host.svc.ns.svc.zone.` per endpoint) with its
  address in the additional section;
- `a-b-c-d.ns.pod.zone` with `pods insecure|verified`;
- PTR of ClusterIPs and endpoint addresses;
- a name error is NXDOMAIN unless `fallthrough` covers it (then the next
  plugin answers); NXDOMAIN and NODATA carry the zone's SOA in the authority
  section: `ns.dns.ZONE. hostmaster.ZONE. SERIAL 7200 1800 86400 TTL`, TTL
  min(ttl, 300).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import ip_address

from netsim.dns.corefile import KubernetesConfig, PodsMode, is_reverse_zone, is_subdomain
from netsim.dns.message import SOA, SRV, Message, Question, Rcode, Record, RRType, fqdn
from netsim.dns.view import NO_PORT, AddressView, ClusterView, is_ip

SVC = "svc"
POD = "pod"
DNS_SCHEMA_VERSION = "1.1.0"     # the TXT answer of dns-version.<zone>
DNS_SCHEMA_TTL = 28800
SOA_REFRESH, SOA_RETRY, SOA_EXPIRE = 7200, 1800, 86400
SOA_MAX_TTL = 300
CNAME_CHAIN_LIMIT = 7            # plugin.A stops adding CNAMEs after this many

Lookup = Callable[[str, RRType], Message]


class _NameError(Exception):
    """errNoItems / errNsNotExposed / errInvalidRequest: the name does not exist (internal signal)."""


@dataclass(frozen=True, slots=True)
class Item:
    """msg.Service: a host (an IP, or a name for a CNAME), a port, a TTL and the domain its key stands for."""

    host: str
    port: int
    ttl: int
    domain: str

    @property
    def host_type(self) -> RRType:
        """msg.Service.HostType: A or AAAA for an address, CNAME for a name."""
        if is_ip(self.host):
            return RRType.A if ip_address(self.host).version == 4 else RRType.AAAA
        return RRType.CNAME


@dataclass(frozen=True, slots=True)
class Request:
    """parseRequest's result: the parts of a name under the zone ("" when absent)."""

    pod_or_svc: str = ""
    namespace: str = ""
    service: str = ""
    endpoint: str = ""
    port: str = ""
    protocol: str = ""


def parse_request(name: str, zone: str) -> Request:
    """Split a name under `zone` into its parts; _NameError for a name that cannot exist."""
    base = fqdn(name)[: -len(fqdn(zone))].rstrip(".") if fqdn(zone) != "." else fqdn(name).rstrip(".")
    if base in ("", SVC, POD):
        return Request()
    segs = base.split(".")
    last = len(segs) - 1
    kind = segs[last]
    if kind not in (POD, SVC):
        raise _NameError()
    parts = {"pod_or_svc": kind}
    for key in ("namespace", "service"):
        last -= 1
        if last < 0:
            return Request(**parts)
        parts[key] = segs[last]
    last -= 1
    if last == 0:
        parts["endpoint"] = segs[0]
    elif last == 1:
        parts["protocol"] = segs[1].removeprefix("_")
        parts["port"] = segs[0].removeprefix("_")
    elif last > 1:
        raise _NameError()
    return Request(**parts)


def _match(a: str, b: str) -> bool:
    return a.lower() == b.lower()


def _port_matches(req: Request, name: str, protocol: str) -> bool:
    return (not req.port or _match(req.port, name)) and (not req.protocol or _match(req.protocol, protocol))


def reverse_to_ip(name: str) -> str:
    """The address a reverse name (`4.3.2.1.in-addr.arpa.`) stands for, or "" when it is not a whole one."""
    name = fqdn(name).lower()
    if name.endswith(".in-addr.arpa."):
        labels = name[: -len(".in-addr.arpa.")].split(".")
        if len(labels) == 4 and all(x.isdigit() and int(x) < 256 for x in labels):
            return ".".join(reversed(labels))
    if name.endswith(".ip6.arpa."):
        nibbles = name[: -len(".ip6.arpa.")].split(".")
        if len(nibbles) == 32 and all(len(x) == 1 and x in "0123456789abcdef" for x in nibbles):
            text = "".join(reversed(nibbles))
            return str(ip_address(":".join(text[i:i + 4] for i in range(0, 32, 4))))
    return ""


class KubernetesPlugin:
    """The kubernetes plugin of one CoreDNS instance: its config, the cluster view, its own pod IPs."""

    def __init__(self, config: KubernetesConfig, view: ClusterView, local_ips: tuple[str, ...]) -> None:
        self.config = config
        self.view = view
        self.local_ips = local_ips

    # --- zone and records (kubernetes.go) -------------------------------------------------

    def zone_of(self, name: str) -> str | None:
        """The plugin zone `name` falls in (the longest match), or None."""
        found = [z for z in self.config.zones if is_subdomain(name, z)]
        return max(found, key=len) if found else None

    def _namespace_exposed(self, namespace: str) -> bool:
        if self.config.namespaces and namespace not in self.config.namespaces:
            return False
        return namespace in self.view.namespaces

    def _endpoint_hostname(self, addr: AddressView) -> str:
        if addr.hostname:
            return addr.hostname
        if self.config.endpoint_pod_names and addr.target_name:
            return addr.target_name
        return addr.ip.replace(".", "-") if "." in addr.ip else addr.ip.replace(":", "-")

    def records(self, name: str, zone: str) -> list[Item]:
        """Records(): the items for a name under `zone`; _NameError when it does not exist (state.Name(): lower case)."""
        req = parse_request(name.lower(), zone.lower())
        if not req.pod_or_svc:
            return []
        if is_reverse_zone(fqdn(name)):
            raise _NameError()
        if not self._namespace_exposed(req.namespace):
            raise _NameError()
        if req.pod_or_svc == POD:
            return self._find_pods(req, zone)
        return self._find_services(req, zone)

    def _find_pods(self, req: Request, zone: str) -> list[Item]:
        if self.config.pods is PodsMode.DISABLED:
            raise _NameError()
        if not req.service:
            return []
        name = req.service
        ip = name.replace("-", ".") if name.count("-") == 3 and "--" not in name else name.replace("-", ":")
        domain = f"{name}.{req.namespace}.{POD}.{fqdn(zone)}"
        if self.config.pods is PodsMode.INSECURE:
            if not is_ip(ip):
                raise _NameError()
            return [Item(ip, 0, self.config.ttl, domain)]
        items = [Item(ip, 0, self.config.ttl, domain) for ns, pod_ip in self.view.pods
                 if pod_ip == ip and _match(req.namespace, ns)]
        if not items:
            raise _NameError()
        return items

    def _find_services(self, req: Request, zone: str) -> list[Item]:
        if not req.service:
            return []
        svc = self.view.service(req.namespace, req.service)
        items: list[Item] = []
        found = False
        ttl = self.config.ttl
        if svc is not None:
            base = f"{svc.name}.{svc.namespace}.{SVC}.{fqdn(zone)}"
            eps = self.view.endpoints_of(svc)
            empty = not any(e.addresses for e in eps)
            if self.config.ignore_empty_service and svc.type != "ExternalName" and not svc.headless and empty:
                raise _NameError()
            if svc.type == "ExternalName":
                if not (req.endpoint or req.port or req.protocol) and not is_ip(svc.external_name):
                    items.append(Item(svc.external_name, 0, ttl, base))
                    found = True
            elif svc.headless or req.endpoint:
                for ep in eps:
                    for addr in ep.addresses:
                        host = self._endpoint_hostname(addr)
                        if req.endpoint and not _match(req.endpoint, host):
                            continue
                        for p in ep.ports:
                            if _port_matches(req, p.name, p.protocol):
                                items.append(Item(addr.ip, p.port, ttl, f"{host}.{base}"))
                                found = True
            else:
                for p in svc.ports:
                    if _port_matches(req, p.name, p.protocol):
                        found = True
                        items.extend(Item(ip, p.port, ttl, base) for ip in svc.cluster_ips)
        if not found:
            raise _NameError()
        return items

    def _ns_addrs(self, zone: str) -> list[tuple[str, str]]:
        """(owner name, address) of the name servers: the ClusterIPs of the Services fronting this instance."""
        out = []
        for local in self.local_ips:
            for ep in self.view.endpoints:
                if not any(a.ip == local for a in ep.addresses):
                    continue
                svc = self.view.service(ep.namespace, ep.service)
                if svc is None or svc.headless:
                    continue
                out.extend((f"{svc.name}.{svc.namespace}.{SVC}.{fqdn(zone)}", ip) for ip in svc.cluster_ips)
        return out or [(f"ns.dns.{fqdn(zone)}", ip) for ip in self.local_ips]

    def services(self, name: str, qtype: RRType, zone: str) -> list[Item]:
        """Services(): Records() with the TXT, NS and ns.dns special cases."""
        name, zone = name.lower(), zone.lower()
        if qtype is RRType.TXT:
            base = fqdn(name)[: -len(fqdn(zone))].rstrip(".")
            if base == "dns-version":
                return [Item(DNS_SCHEMA_VERSION, 0, DNS_SCHEMA_TTL, fqdn(name))]
            try:
                found = self.records(name, zone)
            except _NameError:
                found = []
            if found:
                return []
            raise _NameError()
        if qtype is RRType.NS:
            return [Item(ip, 0, self.config.ttl, owner) for owner, ip in self._ns_addrs(zone)]
        if fqdn(name).lower() == f"ns.dns.{fqdn(zone)}":
            return [Item(ip, 0, self.config.ttl, owner) for owner, ip in self._ns_addrs(zone)
                    if (ip_address(ip).version == 4) == (qtype is RRType.A)]
        items = self.records(name, zone)
        if qtype is RRType.SRV:
            items = [i for i in items if i.host_type is not RRType.CNAME]
        return items

    def reverse(self, name: str, zone: str) -> list[Item]:
        """Reverse(): the Service or endpoint names of an address; _NameError when there is none."""
        name = name.lower()
        ip = reverse_to_ip(name)
        if not ip:
            self.records(name, zone)
            return []
        primary = self.config.primary_zone
        for svc in self.view.services:
            if ip in svc.cluster_ips or ip in svc.external_ips:
                if self.config.namespaces and not self._namespace_exposed(svc.namespace):
                    continue
                return [Item(f"{svc.name}.{svc.namespace}.{SVC}.{primary}", 0, self.config.ttl, "")]
        items = []
        for ep in self.view.endpoints:
            if self.config.namespaces and not self._namespace_exposed(ep.namespace):
                continue
            for addr in ep.addresses:
                if addr.ip == ip:
                    host = self._endpoint_hostname(addr)
                    items.append(Item(f"{host}.{ep.service}.{ep.namespace}.{SVC}.{primary}", 0,
                                      self.config.ttl, ""))
        if not items:
            raise _NameError()
        return items

    # --- backend_lookup.go --------------------------------------------------------------

    def soa(self, zone: str) -> Record:
        """The zone's SOA, as plugin.SOA writes it."""
        ttl = min(self.config.ttl, SOA_MAX_TTL)
        return Record(fqdn(zone), RRType.SOA, ttl,
                      SOA(f"ns.dns.{fqdn(zone)}", f"hostmaster.{fqdn(zone)}", self.view.serial,
                          SOA_REFRESH, SOA_RETRY, SOA_EXPIRE, self.config.ttl))

    def address(self, qname: str, qtype: RRType, zone: str, lookup: Lookup,
                previous: tuple[Record, ...] = ()) -> list[Record]:
        """plugin.A / plugin.AAAA: address records, following CNAMEs inside the zone and via `lookup` outside."""
        records: list[Record] = []
        seen: set[str] = set()
        for item in self.services(qname, qtype, zone):
            kind = item.host_type
            if kind is RRType.CNAME:
                target = fqdn(item.host)
                if target.lower() == fqdn(qname).lower() or len(previous) > CNAME_CHAIN_LIMIT:
                    continue
                cname = Record(qname, RRType.CNAME, item.ttl, target)
                if cname in previous:
                    continue
                if is_subdomain(target, zone):
                    try:
                        nxt = self.address(target, qtype, zone, lookup, previous + (cname,))
                    except _NameError:
                        continue
                    if nxt:
                        records += [cname, *nxt]
                    continue
                records += [cname, *lookup(target, qtype).answer]
            elif kind is qtype and item.host not in seen:
                seen.add(item.host)
                records.append(Record(qname, qtype, item.ttl, ip_address(item.host)))
        return records

    def srv(self, qname: str, zone: str, lookup: Lookup) -> tuple[list[Record], list[Record]]:
        """plugin.SRV: the SRV records and the addresses of their targets."""
        items = self.services(qname, RRType.SRV, zone)
        total = 100 * len(items)
        records: list[Record] = []
        extra: list[Record] = []
        dup: set[tuple] = set()
        for item in items:
            if item.port == NO_PORT:
                continue
            weight = max(1, math.floor(100.0 / total * 100)) if total else 100
            target = fqdn(item.domain)
            srv = Record(qname, RRType.SRV, item.ttl, SRV(0, weight, item.port, target))
            if (target, "", item.port) not in dup:
                dup.add((target, "", item.port))
                records.append(srv)
            if (target, item.host, 0) not in dup:
                dup.add((target, item.host, 0))
                extra.append(Record(target, item.host_type, item.ttl, ip_address(item.host)))
        return records, extra

    def answer(self, query: Message, lookup: Lookup) -> Message | None:
        """ServeDNS: the plugin's reply to `query`, or None when the next plugin answers (other zone, fallthrough)."""
        q: Question = query.question[0]
        qname, qtype = q.name, q.type
        zone = self.zone_of(qname)
        if zone is None:
            return None
        zone = qname[len(qname) - len(zone):] if zone != "." else "."
        records: list[Record] = []
        extra: list[Record] = []
        try:
            if qtype in (RRType.A, RRType.AAAA):
                records = self.address(qname, qtype, zone, lookup)
            elif qtype is RRType.TXT:
                records = [Record(qname, RRType.TXT, i.ttl, (i.host,)) for i in self.services(qname, qtype, zone)]
            elif qtype is RRType.CNAME:
                records = [Record(qname, RRType.CNAME, i.ttl, fqdn(i.host))
                           for i in self.services(qname, qtype, zone) if i.host_type is RRType.CNAME]
            elif qtype is RRType.PTR:
                records = [Record(qname, RRType.PTR, i.ttl, fqdn(i.host)) for i in self.reverse(qname, zone)]
            elif qtype is RRType.SRV:
                records, extra = self.srv(qname, zone, lookup)
            elif qtype is RRType.SOA:
                if fqdn(qname).lower() == fqdn(zone).lower():
                    records = [self.soa(zone)]
            elif qtype in (RRType.AXFR,):
                return query.reply(Rcode.REFUSED)
            elif qtype is RRType.NS and fqdn(qname).lower() == fqdn(zone).lower():
                for item in self.services(qname, qtype, zone):
                    target = fqdn(item.domain)
                    records.append(Record(qname, RRType.NS, item.ttl, target))
                    extra.append(Record(target, item.host_type, item.ttl, ip_address(item.host)))
            else:
                self.address(qname, RRType.A, zone, lookup)   # a fake A lookup: NODATA or NXDOMAIN
        except _NameError:
            if self.config.falls_through(qname):
                return None
            return query.reply(Rcode.NXDOMAIN, aa=True, authority=(self.soa(zone),))
        if not records:
            return query.reply(Rcode.NOERROR, aa=True, authority=(self.soa(zone),))
        return query.reply(Rcode.NOERROR, aa=True, answer=tuple(records), additional=tuple(extra))
