"""The Corefile, read as CoreDNS reads it, into the configuration netsim's server answers from.

Server blocks (`ZONE[:PORT] ... { directives }`), directives with arguments
and optional `{ }` blocks, `#` comments. netsim emulates what changes the
answers: the kubernetes plugin (zones, namespaces, pods, ttl, fallthrough,
endpoint_pod_names, ignore empty_service), forward (to the topology's
upstream records) and loadbalance (answer order). Plugins that do not change
an answer's content are accepted and have no effect here (listed in
`NO_EFFECT`, each with the reason); any other plugin or option raises
UnsupportedDirective naming it. Only blocks serving port 53 are kept.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from netsim.dns.errors import CorefileError, UnsupportedDirective
from netsim.dns.message import fqdn

DNS_PORT = 53
DEFAULT_TTL = 5          # the kubernetes plugin's default ttl
MAX_TTL = 3600           # its largest accepted ttl

# Plugins accepted without an effect on what netsim answers.
NO_EFFECT = {
    "errors": "logs errors only",
    "log": "logs queries only",
    "health": "serves :8080/health, not DNS",
    "ready": "serves :8181/ready, not DNS",
    "prometheus": "serves metrics, not DNS",
    "cache": "netsim answers as a cold cache does (every answer fresh from its plugin)",
    "loop": "detects forwarding loops at start-up; netsim's upstream is the topology",
    "reload": "reloads the Corefile on change; netsim reads it when the server starts",
    "debug": "enables panics' stack traces only",
}

# kubernetes plugin options that only say how to reach the API server (netsim reads its own store).
_K8S_NO_EFFECT = ("endpoint", "tls", "kubeconfig", "startup_timeout", "apiserver_qps", "apiserver_burst",
                  "apiserver_max_inflight")
# forward options that change how, not what, it asks upstream.
_FORWARD_NO_EFFECT = ("max_concurrent", "policy", "health_check", "expire", "force_tcp", "prefer_udp", "tls",
                      "tls_servername", "max_fails", "except", "next", "failfast_all_unhealthy_upstreams")


class PodsMode(enum.Enum):
    """The kubernetes plugin's `pods` option."""

    DISABLED = "disabled"    # no pod records (the default)
    INSECURE = "insecure"    # a-b-c-d.ns.pod.zone answers a-b-c-d without checking a pod has it
    VERIFIED = "verified"    # only when a pod in that namespace has that IP


@dataclass(frozen=True, slots=True)
class KubernetesConfig:
    """The kubernetes plugin's configuration."""

    zones: tuple[str, ...]
    namespaces: tuple[str, ...] = ()              # empty: every namespace
    pods: PodsMode = PodsMode.DISABLED
    ttl: int = DEFAULT_TTL
    fallthrough: tuple[str, ...] | None = None    # None: off; (): every zone
    endpoint_pod_names: bool = False
    ignore_empty_service: bool = False

    def falls_through(self, name: str) -> bool:
        """True when a name error for `name` goes on to the next plugin (fall.Through)."""
        if self.fallthrough is None:
            return False
        return not self.fallthrough or any(is_subdomain(name, z) for z in self.fallthrough)

    @property
    def primary_zone(self) -> str:
        """The first zone that is not a reverse zone (names in PTR answers end in it)."""
        return next((z for z in self.zones if not is_reverse_zone(z)), self.zones[0])


@dataclass(frozen=True, slots=True)
class ForwardConfig:
    """The forward plugin: names under `origin` go to `to` (netsim: the topology's upstream records)."""

    origin: str
    to: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ServerBlock:
    """One server block on port 53: its zones and the plugins netsim emulates."""

    zones: tuple[str, ...]
    kubernetes: KubernetesConfig | None = None
    forward: ForwardConfig | None = None
    loadbalance: bool = False


@dataclass(frozen=True, slots=True)
class Corefile:
    """Every server block on port 53, in file order."""

    blocks: tuple[ServerBlock, ...]

    def block_for(self, name: str) -> ServerBlock | None:
        """The block whose zone matches `name` most specifically, as CoreDNS's dnsserver picks it."""
        best, best_len = None, -1
        for block in self.blocks:
            for zone in block.zones:
                if is_subdomain(name, zone) and len(zone) > best_len:
                    best, best_len = block, len(zone)
        return best


def is_subdomain(name: str, zone: str) -> bool:
    """True when `name` is `zone` or under it (case-insensitive, absolute names)."""
    name, zone = fqdn(name).lower(), fqdn(zone).lower()
    return zone == "." or name == zone or name.endswith("." + zone)


def is_reverse_zone(zone: str) -> bool:
    """True for names under in-addr.arpa. or ip6.arpa."""
    return is_subdomain(zone, "in-addr.arpa.") or is_subdomain(zone, "ip6.arpa.")


@dataclass(frozen=True, slots=True)
class _Directive:
    name: str
    args: tuple[str, ...]
    body: tuple[_Directive, ...]
    line: int


def _tokens(text: str) -> list[tuple[str, int, bool]]:
    """(token, line, starts a line) for every token; `{` and `}` are tokens of their own."""
    out = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0]
        first = True
        for word in line.replace("{", " { ").replace("}", " } ").split():
            out.append((word, number, first))
            first = False
    return out


def _parse_block(tokens, i: int, source: str) -> tuple[list[_Directive], int]:
    """Directives until the matching `}`; returns them and the index after it."""
    out: list[_Directive] = []
    while i < len(tokens):
        word, line, _ = tokens[i]
        if word == "}":
            return out, i + 1
        if word == "{":
            raise CorefileError(f"{source}: line {line}: unexpected '{{'")
        args = []
        i += 1
        while i < len(tokens) and not tokens[i][2] and tokens[i][0] not in ("{", "}"):
            args.append(tokens[i][0])
            i += 1
        body: list[_Directive] = []
        if i < len(tokens) and tokens[i][0] == "{" and tokens[i][1] == line:
            body, i = _parse_block(tokens, i + 1, source)
        out.append(_Directive(word, tuple(args), tuple(body), line))
    raise CorefileError(f"{source}: unexpected end of file: a '{{' is not closed")


def parse_corefile(text: str, source: str = "Corefile") -> Corefile:
    """Read a Corefile; CorefileError for bad syntax, UnsupportedDirective for what netsim does not emulate."""
    tokens = _tokens(text)
    blocks = []
    i = 0
    while i < len(tokens):
        keys = []
        line = tokens[i][1]
        while i < len(tokens) and tokens[i][0] != "{":
            keys.extend(k for k in tokens[i][0].split(",") if k)
            i += 1
        if i == len(tokens):
            raise CorefileError(f"{source}: line {line}: a server block needs '{{'")
        body, i = _parse_block(tokens, i + 1, source)
        zones, ports = [], set()
        for key in keys:
            key = key.removeprefix("dns://")
            zone, _, port = key.rpartition(":") if ":" in key else (key, "", "")
            ports.add(int(port) if port.isdigit() else DNS_PORT)
            zones.append(fqdn(zone.lower()))
        if DNS_PORT in ports:
            blocks.append(_server_block(tuple(zones), body, source))
    return Corefile(tuple(blocks))


def _unsupported(source: str, d: _Directive, what: str) -> UnsupportedDirective:
    return UnsupportedDirective(f"{source}: line {d.line}: {what} is not emulated by netsim")


def _server_block(zones: tuple[str, ...], body: list[_Directive], source: str) -> ServerBlock:
    kubernetes = forward = None
    loadbalance = False
    for d in body:
        if d.name == "kubernetes":
            kubernetes = _kubernetes(d, zones, source)
        elif d.name == "forward":
            if len(d.args) < 2:
                raise CorefileError(f"{source}: line {d.line}: forward needs FROM and TO")
            for o in d.body:
                if o.name not in _FORWARD_NO_EFFECT:
                    raise _unsupported(source, o, f"forward option {o.name!r}")
            forward = ForwardConfig(fqdn(d.args[0].lower()), d.args[1:])
        elif d.name == "loadbalance":
            if d.args and d.args[0] != "round_robin":
                raise _unsupported(source, d, f"loadbalance policy {d.args[0]!r}")
            loadbalance = True
        elif d.name in NO_EFFECT:
            continue
        else:
            raise _unsupported(source, d, f"plugin {d.name!r}")
    return ServerBlock(zones, kubernetes, forward, loadbalance)


def _kubernetes(d: _Directive, block_zones: tuple[str, ...], source: str) -> KubernetesConfig:
    zones = tuple(fqdn(z.lower()) for z in d.args) or block_zones
    namespaces: tuple[str, ...] = ()
    pods = PodsMode.DISABLED
    ttl = DEFAULT_TTL
    fall: tuple[str, ...] | None = None
    pod_names = ignore_empty = False
    for o in d.body:
        where = f"{source}: line {o.line}: kubernetes option {o.name!r}"
        if o.name == "namespaces":
            namespaces = o.args
        elif o.name == "pods":
            try:
                pods = PodsMode(o.args[0] if o.args else "")
            except ValueError:
                raise CorefileError(f"{where}: expected disabled, insecure or verified, got "
                                    f"{' '.join(o.args)!r}") from None
        elif o.name == "ttl":
            if len(o.args) != 1 or not o.args[0].isdigit() or not 0 <= int(o.args[0]) <= MAX_TTL:
                raise CorefileError(f"{where}: ttl must be an integer between 0 and {MAX_TTL}, got "
                                    f"{' '.join(o.args)!r}")
            ttl = int(o.args[0])
        elif o.name == "fallthrough":
            fall = tuple(fqdn(z.lower()) for z in o.args)
        elif o.name == "endpoint_pod_names":
            pod_names = True
        elif o.name == "ignore":
            if o.args != ("empty_service",):
                raise _unsupported(source, o, f"kubernetes option 'ignore {' '.join(o.args)}'")
            ignore_empty = True
        elif o.name in _K8S_NO_EFFECT:
            continue
        else:
            raise _unsupported(source, o, f"kubernetes option {o.name!r}")
    return KubernetesConfig(zones, namespaces, pods, ttl, fall, pod_names, ignore_empty)
