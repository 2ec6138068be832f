"""L7 in packets: a small TCP client, the ingress-nginx and Envoy Gateway proxy pods' applications, and `curl`.

Both proxies terminate the client's TCP connection in their own pod (a
three-way handshake answered by the app, the request buffered until its
header block and body are in), decide with netsim/l7/ (ingress-nginx's
servers and locations; Gateway API route matching), and open a new
connection from their own pod to the chosen endpoint — a pod IP and target
port, as ingress-nginx's balancer and Envoy's EDS clusters do — walked
through the node's netfilter like any pod's traffic. The upstream's answer
is relayed to the client in the same walk that carried the request's last
segment, so the client's socket receives it. Every proxied request is kept
in the app's `log` (the decision, both requests, the upstream walks).

ingress-nginx (controller v1.11 defaults): upstream headers as nginx.tmpl's
proxy_set_header lines (X-Request-ID, X-Real-IP, X-Forwarded-For = the
peer address, X-Forwarded-Host, X-Forwarded-Port, X-Forwarded-Proto,
X-Forwarded-Scheme, X-Scheme), then the client's other headers; 404 from
the default backend when nothing matches; 503 when the backend has no
ready endpoint; 502 when the upstream connection fails; 308 to https for a
TLS host reached over HTTP. Endpoints are taken round robin (the Lua
balancer's default), starting from a seeded draw.

Envoy Gateway (v1.x, Envoy's HTTP connection manager): header names sent
lower-case, x-forwarded-for = the peer address, x-forwarded-proto,
x-envoy-external-address, x-request-id; 404 with an empty body when no
route matches; 500 for a backendRef that is not resolved (missing Service,
RefNotPermitted) or when every weight is 0; 503 `no healthy upstream` when
the Service has no ready endpoint; weights drawn from the pod's seeded
generator. TCPRoute listeners relay bytes over one upstream connection per
client connection (opened when the handshake completes, as tcp_proxy does
on accept); UDPRoute listeners relay each datagram and its answer.

TLS is not emulated: an HTTPS request raises NotImplementedFeature naming it.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from ipaddress import IPv4Address, ip_address
from typing import Callable
from urllib.parse import urlsplit

from netsim.api.objects import Pod, Resource
from netsim.dataplane.apps import initial_sequence, tcp_data_segments
from netsim.dataplane.network import Network
from netsim.dataplane.trace import WalkResult
from netsim.emulator.cluster import Cluster, child_rng
from netsim.errors import InputError, NotImplementedFeature
from netsim.l7 import gateway as gw
from netsim.l7.backends import Endpoint, ServiceBackend, resolve_service
from netsim.l7.errors import HttpParseError
from netsim.l7.http import (REASONS, HttpRequest, HttpResponse, http_date, nginx_error_page, parse_request,
                            parse_response)
from netsim.l7.ingress import Match, build_servers, match, served_ingresses
from netsim.packet import Packet, Proto, TcpFlag

EPHEMERAL = (32768, 60999)
CLIENT_WINDOW = 64240
CURL_USER_AGENT = "curl/8.5.0"   # the curl of the agnhost/ubuntu images netsim's examples name


# --- the TCP client --------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class TcpExchange:
    """One client connection: its source port, whether it opened, the bytes received, why it failed, the walks."""

    sport: int
    connected: bool
    received: bytes
    error: str
    walks: tuple[WalkResult, ...]


class TcpConnection:
    """A client socket on a host: connect (SYN, SYN-ACK, ACK), send data and gather the answer, close (FIN)."""

    def __init__(self, network: Network, host: str, src: IPv4Address, sport: int, dst: IPv4Address,
                 dport: int) -> None:
        self.network, self.host, self.src, self.sport, self.dst, self.dport = network, host, src, sport, dst, dport
        self.seq = zlib.crc32(f"{src} {sport} {dst} {dport}".encode())
        self.ack = 0
        self.server_isn = 0
        self.walks: list[WalkResult] = []
        self.data = bytearray()
        self.error = ""
        self.open = False
        self.connected = False
        self.peer_closed = False

    def _segment(self, flags: TcpFlag, payload: bytes = b"") -> list[Packet]:
        packet = Packet(self.src, self.dst, Proto.TCP, self.sport, self.dport, tcp_flags=int(flags), seq=self.seq,
                        ack=self.ack, window=CLIENT_WINDOW, payload=payload)
        result = self.network.send(self.host, packet)
        self.walks.append(result)
        return [p for p in result.received
                if p.proto == Proto.TCP and p.dport == self.sport and p.src == self.dst and p.sport == self.dport]

    def connect(self) -> bool:
        """The three-way handshake; False (with `error`) on a reset or no answer."""
        got = self._segment(TcpFlag.SYN)
        synack = [p for p in got if p.tcp_flags & TcpFlag.SYN and p.tcp_flags & TcpFlag.ACK]
        if not synack:
            self.error = "connection refused" if any(p.tcp_flags & TcpFlag.RST for p in got) else \
                "connection timed out (no SYN-ACK)"
            return False
        self.server_isn = synack[0].seq
        self.seq = (self.seq + 1) & 0xFFFFFFFF
        self.ack = (self.server_isn + 1) & 0xFFFFFFFF
        self._segment(TcpFlag.ACK)
        self.open = self.connected = True
        return True

    def _take(self, packets: list[Packet]) -> bool:
        """Add the data segments in sequence order; True when any arrived."""
        got = False
        for p in sorted(packets, key=lambda p: (p.seq - self.ack) & 0xFFFFFFFF):
            if p.tcp_flags & TcpFlag.RST:
                self.error, self.open = "connection reset by peer", False
                return got
            if p.payload and p.seq == self.ack:
                self.data += p.payload
                self.ack = (self.ack + len(p.payload)) & 0xFFFFFFFF
                got = True
            if p.tcp_flags & TcpFlag.FIN and p.seq == self.ack:
                self.ack = (self.ack + 1) & 0xFFFFFFFF
                self.peer_closed = True
                got = True
        return got

    def send(self, payload: bytes, segment: int = 1400) -> bytes:
        """Send `payload` (PSH-ACK segments), ACK what comes back; returns the bytes received meanwhile."""
        start = len(self.data)
        for offset in range(0, len(payload), segment):
            chunk = payload[offset:offset + segment]
            got = self._segment(TcpFlag.PSH | TcpFlag.ACK, chunk)
            self.seq = (self.seq + len(chunk)) & 0xFFFFFFFF
            if not self.open:
                break
            if self._take(got):
                self._segment(TcpFlag.ACK)
        return bytes(self.data[start:])

    def close(self) -> None:
        """FIN, the peer's FIN-ACK, the last ACK."""
        if not self.open:
            return
        got = self._segment(TcpFlag.FIN | TcpFlag.ACK)
        self.seq = (self.seq + 1) & 0xFFFFFFFF
        if any(p.tcp_flags & TcpFlag.FIN for p in got):
            self.ack = (max((p.seq for p in got if p.tcp_flags & TcpFlag.FIN), default=self.ack) + 1) & 0xFFFFFFFF
            self._segment(TcpFlag.ACK)
        self.open = False

    def result(self) -> TcpExchange:
        """What this connection did, as a value."""
        return TcpExchange(self.sport, self.connected, bytes(self.data), self.error, tuple(self.walks))


def tcp_exchange(network: Network, host: str, src: IPv4Address, sport: int, dst: IPv4Address, dport: int,
                 payload: bytes) -> TcpExchange:
    """Connect, send `payload`, gather the answer, close: one whole client connection."""
    conn = TcpConnection(network, host, src, sport, dst, dport)
    if conn.connect():
        conn.send(payload)
        conn.close()
    return conn.result()


# --- the proxies ------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ProxyLeg:
    """One request a proxy handled: where, what it decided, what it sent upstream, and the upstream walks."""

    proxy: str
    client: str
    request: HttpRequest
    decision: str
    endpoint: Endpoint | None
    upstream_request: HttpRequest | None
    response: HttpResponse
    upstream: TcpExchange | None = None


@dataclass(slots=True)
class _Conn:
    """Server-side state of one accepted connection."""

    isn: int
    buffer: bytearray = field(default_factory=bytearray)
    upstream: TcpConnection | None = None


class _ProxyApp:
    """The TCP side shared by the HTTP proxies: accept, buffer until a whole request, answer, close."""

    def __init__(self, name: str, network: Network, cluster: Cluster, pod: Pod | None, host: str,
                 address: str | None = None) -> None:
        self.name = name
        self.network = network
        self.cluster = cluster
        self.pod = pod
        self.host = host
        self.address: IPv4Address = ip_address(address or pod.pod_ip)  # type: ignore[assignment,union-attr]
        self.rng = child_rng(cluster.seed, f"l7/{host}/{name}")
        self.log: list[ProxyLeg] = []
        self._conns: dict[tuple, _Conn] = {}
        self._used: set[int] = set()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    def ephemeral_port(self) -> int:
        """A source port this proxy pod has not used in this run."""
        while True:
            port = int(self.rng.integers(EPHEMERAL[0], EPHEMERAL[1] + 1))
            if port not in self._used:
                self._used.add(port)
                return port

    def upstream(self, endpoint: Endpoint, payload: bytes) -> TcpExchange:
        """One connection from this pod to `endpoint` carrying `payload`."""
        return tcp_exchange(self.network, self.host, self.address, self.ephemeral_port(), endpoint.address,
                            endpoint.port, payload)

    def request_id(self) -> str:
        """A 32-hex-digit request id (nginx's $request_id) from the pod's seeded generator."""
        return "".join(f"{int(x):02x}" for x in self.rng.integers(0, 256, 16))

    def receive(self, packet: Packet, host: str) -> list[Packet]:
        """TCP server: SYN-ACK a SYN, buffer data until a whole request, answer it, FIN-ACK a FIN."""
        if packet.proto != Proto.TCP:
            return []
        key = (packet.src, packet.sport, packet.dst, packet.dport)
        flags = packet.tcp_flags
        if flags & TcpFlag.RST:
            self._conns.pop(key, None)
            return []
        reply = Packet(src=packet.dst, dst=packet.src, proto=Proto.TCP, sport=packet.dport, dport=packet.sport,
                       tos=packet.tos, df=True)
        if flags & TcpFlag.SYN:
            self._conns[key] = _Conn(initial_sequence(packet))
            reply.tcp_flags, reply.seq = int(TcpFlag.SYN | TcpFlag.ACK), self._conns[key].isn
            reply.ack = (packet.seq + 1) & 0xFFFFFFFF
            return [reply]
        conn = self._conns.get(key)
        if conn is None:   # no such connection: the kernel answers with a reset
            reply.tcp_flags, reply.seq = int(TcpFlag.RST), packet.ack
            return [reply]
        reply.seq = packet.ack
        if flags & TcpFlag.FIN:
            self._conns.pop(key, None)
            if conn.upstream is not None:
                conn.upstream.close()
            reply.tcp_flags = int(TcpFlag.FIN | TcpFlag.ACK)
            reply.ack = (packet.seq + len(packet.payload) + 1) & 0xFFFFFFFF
            return [reply]
        if not packet.payload:
            return self.on_established(key, conn, packet)
        conn.buffer += packet.payload
        ack = (packet.seq + len(packet.payload)) & 0xFFFFFFFF
        answer = self.on_data(key, conn, packet)
        if answer is None:
            reply.tcp_flags, reply.ack = int(TcpFlag.ACK), ack
            return [reply]
        return tcp_data_segments(packet, answer, packet.ack, ack)

    def on_established(self, key: tuple, conn: _Conn, packet: Packet) -> list[Packet]:
        """A bare ACK (the handshake's last, or an ACK of our data): nothing to send."""
        return []

    def on_data(self, key: tuple, conn: _Conn, packet: Packet) -> bytes | None:
        """Bytes to answer with once the buffer holds a whole request; None to just ACK."""
        try:
            parsed = parse_request(bytes(conn.buffer))
        except HttpParseError:
            conn.buffer.clear()
            return self.respond(400, b"").encode()
        if parsed is None:
            return None
        request, used = parsed
        del conn.buffer[:used]
        return self.handle(request, packet).encode()

    def respond(self, status: int, body: bytes, headers: tuple[tuple[str, str], ...] = ()) -> HttpResponse:
        """A response this proxy writes itself (the HTTP proxies write their own headers)."""
        return HttpResponse(status, "", (("Content-Length", str(len(body))),) + headers, body)

    def handle(self, request: HttpRequest, packet: Packet) -> HttpResponse:
        """Route and proxy one request (the HTTP proxies do; a raw listener does not speak HTTP)."""
        raise NotImplementedFeature(f"{self.name}: HTTP is not served on this listener")

    def relay(self, request: HttpRequest, upstream_request: HttpRequest, endpoint: Endpoint, packet: Packet,
              decision: str, wrap: Callable[[HttpResponse], HttpResponse]) -> HttpResponse:
        """Send `upstream_request` to `endpoint`, log the leg, return the client's response (502 on failure)."""
        exchange = self.upstream(endpoint, upstream_request.encode())
        parsed = None
        if exchange.received:
            try:
                parsed = parse_response(exchange.received, head_request=request.method == "HEAD")
            except HttpParseError:
                parsed = None
        response = wrap(parsed[0]) if parsed is not None else self.respond(502, b"")
        self.log.append(ProxyLeg(self.name, f"{packet.src}:{packet.sport}", request, decision, endpoint,
                                 upstream_request, response, exchange))
        return response

    def answer(self, request: HttpRequest, packet: Packet, decision: str, response: HttpResponse) -> HttpResponse:
        """Log a response the proxy writes itself and return it."""
        self.log.append(ProxyLeg(self.name, f"{packet.src}:{packet.sport}", request, decision, None, None, response))
        return response


class NginxIngressApp(_ProxyApp):
    """ingress-nginx's controller on one port of its pod (see the module docstring)."""

    def __init__(self, network: Network, cluster: Cluster, pod: Pod, host: str, port: int,
                 https: bool = False) -> None:
        super().__init__(f"ingress-nginx controller :{port}", network, cluster, pod, host)
        self.https = https
        self._next: dict[tuple, int] = {}

    def respond(self, status: int, body: bytes, headers: tuple[tuple[str, str], ...] = ()) -> HttpResponse:
        """nginx's own response: Date, Content-Type text/html, Content-Length, Connection, then `headers`."""
        page = nginx_error_page(status) if status >= 300 else body
        return HttpResponse(status, "", (("Date", http_date(self.cluster.clock.now())),
                                         ("Content-Type", "text/html"), ("Content-Length", str(len(page))),
                                         ("Connection", "keep-alive")) + headers, page)

    def on_data(self, key: tuple, conn: _Conn, packet: Packet) -> bytes | None:
        """Plain HTTP on 80; the TLS port refuses with the missing feature named."""
        if self.https:
            raise NotImplementedFeature("ingress-nginx: TLS termination on 443 is not emulated yet (use port 80)")
        return super().on_data(key, conn, packet)

    def pick(self, backend: ServiceBackend) -> Endpoint:
        """Round robin over the backend's endpoints, from a seeded starting point."""
        key = (backend.namespace, backend.name, backend.port)
        n = len(backend.endpoints)
        index = self._next.get(key, int(self.rng.integers(0, n)))
        self._next[key] = (index + 1) % n
        return backend.endpoints[index % n]

    def handle(self, request: HttpRequest, packet: Packet) -> HttpResponse:
        """Pick the location, then proxy, redirect or answer 404/503."""
        m: Match = match(build_servers(served_ingresses(self.cluster.store)), request.host, request.path)
        where = f"server {m.server.hostname}"
        if m.redirect_https:
            location = f"https://{request.header('Host') or request.host}{request.target}"
            return self.answer(request, packet, f"{where}: TLS host, ssl-redirect",
                               self.respond(308, b"", (("Location", location),)))
        if m.backend is None:
            return self.answer(request, packet, f"{where}: no location matched, default backend",
                               self.respond(404, b""))
        loc = f"{where} location {m.location.path_type.value} {m.location.path}" if m.location else \
            f"{where} root location / (defaultBackend)"
        decision = f"{loc} (ingress {m.ingress}) -> service {m.backend}"
        backend = resolve_service(self.cluster.store, m.backend.namespace, m.backend.service, m.backend.port)
        if not backend.endpoints:
            return self.answer(request, packet, f"{decision}: {backend.reason}", self.respond(503, b""))
        endpoint = self.pick(backend)
        peer = str(packet.src)
        host_header = request.header("Host") or request.host
        added = (("Host", host_header), ("X-Request-ID", self.request_id()), ("X-Real-IP", peer),
                 ("X-Forwarded-For", peer), ("X-Forwarded-Host", host_header),
                 ("X-Forwarded-Port", str(packet.dport)), ("X-Forwarded-Proto", "http"),
                 ("X-Forwarded-Scheme", "http"), ("X-Scheme", "http"))
        replaced = {k.lower() for k, _ in added} | {"connection", "x-original-forwarded-for"}
        forwarded = request.header("X-Forwarded-For")
        extra = (("X-Original-Forwarded-For", forwarded),) if forwarded else ()
        upstream = HttpRequest(request.method, request.target, "HTTP/1.1",
                               added + extra + tuple(h for h in request.headers if h[0].lower() not in replaced),
                               request.body)

        def wrap(resp: HttpResponse) -> HttpResponse:
            kept = tuple(h for h in resp.headers if h[0].lower() not in
                         ("date", "server", "content-type", "content-length", "connection"))
            ctype = resp.header("Content-Type")
            return HttpResponse(resp.status, resp.reason, (("Date", http_date(self.cluster.clock.now())),)
                                + ((("Content-Type", ctype),) if ctype else ())
                                + (("Content-Length", str(len(resp.body))), ("Connection", "keep-alive")) + kept,
                                resp.body)

        return self.relay(request, upstream, endpoint, packet, f"{decision} -> {endpoint.address}:{endpoint.port}",
                          wrap)


class EnvoyGatewayApp(_ProxyApp):
    """Envoy Gateway's proxy on one HTTP listener of a Gateway (see the module docstring)."""

    def __init__(self, network: Network, cluster: Cluster, pod: Pod, host: str, gateway: Resource,
                 listener: gw.Listener) -> None:
        super().__init__(f"envoy {gateway.namespace}/{gateway.name} listener {listener.name}", network, cluster, pod,
                         host)
        self.gateway = gateway
        self.listener = listener

    def respond(self, status: int, body: bytes, headers: tuple[tuple[str, str], ...] = ()) -> HttpResponse:
        """Envoy's local reply: content-length, content-type when there is a body, date, server."""
        typed = (("content-type", "text/plain"),) if body else ()
        return HttpResponse(status, "", (("content-length", str(len(body))),) + typed + headers +
                            (("date", http_date(self.cluster.clock.now())), ("server", "envoy")), body)

    def handle(self, request: HttpRequest, packet: Packet) -> HttpResponse:
        """Match the routes attached to this listener, run the rule's filters, proxy to a weighted backendRef."""
        store = self.cluster.store
        gateway = store.try_get("Gateway", self.gateway.name, self.gateway.namespace) or self.gateway
        routes = [r for r, _ in gw.attachments(store, gateway, "HTTPRoute")]
        decision = gw.match_request(routes, self.listener, request)
        if decision.route is None:
            return self.answer(request, packet, "no HTTPRoute rule matched", self.respond(404, b""))
        rule = decision.route.rules[decision.rule]
        what = f"httproute {decision.route.ref} rule {decision.rule}"
        headers, target, host = request.headers, request.target, request.header("Host") or request.host
        for f in rule.filters:
            kind = f.get("type")
            if kind == "RequestHeaderModifier":
                headers = gw.modify_headers(headers, f.get("requestHeaderModifier") or {})
            elif kind == "RequestRedirect":
                return self.answer(request, packet, f"{what}: RequestRedirect",
                                   self.redirect(request, f.get("requestRedirect") or {}, decision.match, packet))
            elif kind == "URLRewrite":
                spec = f.get("urlRewrite") or {}
                if spec.get("hostname"):
                    host = spec["hostname"]
                if spec.get("path"):
                    path, _, query = target.partition("?")
                    target = gw.rewrite_path(path, spec["path"], decision.match) + (f"?{query}" if query else "")
            else:
                raise NotImplementedFeature(f"Envoy Gateway: HTTPRoute filter {kind!r} is not emulated yet "
                                            f"({what})")
        ref = gw.choose_backend(rule.backends, float(self.rng.random()))
        if ref is None or ref.invalid:
            why = ref.invalid if ref is not None else "no backendRef with a weight"
            return self.answer(request, packet, f"{what}: {why}", self.respond(500, b""))
        backend = resolve_service(store, ref.namespace, ref.name, ref.port or 0)
        what += f" -> service {ref.namespace}/{ref.name}:{ref.port}"
        if not backend.endpoints:
            return self.answer(request, packet, f"{what}: {backend.reason}", self.respond(503, b"no healthy upstream"))
        endpoint = backend.endpoints[int(self.rng.integers(0, len(backend.endpoints)))]
        peer = str(packet.src)
        others = tuple((k.lower(), v) for k, v in headers if k.lower() not in ("host", "x-forwarded-for",
                                                                                 "x-forwarded-proto", "x-request-id",
                                                                                 "x-envoy-external-address"))
        upstream = HttpRequest(request.method, target, "HTTP/1.1",
                               (("host", host),) + others + (("x-forwarded-for", peer), ("x-forwarded-proto", "http"),
                                                             ("x-envoy-external-address", peer),
                                                             ("x-request-id", self.request_uuid())), request.body)

        def wrap(resp: HttpResponse) -> HttpResponse:
            kept = tuple((k.lower(), v) for k, v in resp.headers if k.lower() not in ("date", "server"))
            return HttpResponse(resp.status, resp.reason, kept + (("date", http_date(self.cluster.clock.now())),
                                                                 ("server", "envoy")), resp.body)

        return self.relay(request, upstream, endpoint, packet, f"{what} -> {endpoint.address}:{endpoint.port}", wrap)

    def request_uuid(self) -> str:
        """A version-4-shaped UUID from the seeded generator (Envoy's x-request-id)."""
        h = self.request_id()
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"

    def redirect(self, request: HttpRequest, spec: dict, m: gw.RouteMatch | None, packet: Packet) -> HttpResponse:
        """HTTPRequestRedirectFilter: scheme, hostname, port, path; statusCode 302 by default."""
        scheme = spec.get("scheme") or "http"
        host = spec.get("hostname") or request.host
        port = spec.get("port")
        if port is None and not spec.get("scheme"):
            port = self.listener.port
        default = {"http": 80, "https": 443}.get(scheme)
        authority = host if port in (None, default) else f"{host}:{port}"
        path, _, query = request.target.partition("?")
        if spec.get("path"):
            path = gw.rewrite_path(path, spec["path"], m)
        location = f"{scheme}://{authority}{path}" + (f"?{query}" if query else "")
        return self.respond(int(spec.get("statusCode", 302)), b"", (("location", location),))


class EnvoyTcpProxyApp(_ProxyApp):
    """Envoy's tcp_proxy on a TCP listener: one upstream connection per client connection, bytes relayed."""

    def __init__(self, network: Network, cluster: Cluster, pod: Pod, host: str, gateway: Resource,
                 listener: gw.Listener) -> None:
        super().__init__(f"envoy {gateway.namespace}/{gateway.name} listener {listener.name}", network, cluster, pod,
                         host)
        self.gateway = gateway
        self.listener = listener

    def on_established(self, key: tuple, conn: _Conn, packet: Packet) -> list[Packet]:
        """The handshake completed: connect upstream to a weighted TCPRoute backend."""
        if conn.upstream is not None:
            return []
        store = self.cluster.store
        gateway = store.try_get("Gateway", self.gateway.name, self.gateway.namespace) or self.gateway
        routes = [r for r, names in gw.attachments(store, gateway, "TCPRoute") if self.listener.name in names]
        reset = [Packet(src=packet.dst, dst=packet.src, proto=Proto.TCP, sport=packet.dport, dport=packet.sport,
                        tcp_flags=int(TcpFlag.RST | TcpFlag.ACK), seq=packet.ack, ack=packet.seq)]
        decision = "no TCPRoute attached"
        endpoint = None
        if routes:
            route = routes[0]   # the oldest route attached to the listener
            ref = gw.choose_backend(route.rules[0].backends if route.rules else (), float(self.rng.random()))
            decision = f"tcproute {route.ref}"
            if ref is not None and not ref.invalid:
                backend = resolve_service(store, ref.namespace, ref.name, ref.port or 0)
                decision += f" -> service {ref.namespace}/{ref.name}:{ref.port}"
                if backend.endpoints:
                    endpoint = backend.endpoints[int(self.rng.integers(0, len(backend.endpoints)))]
            else:
                decision += f": {ref.invalid if ref is not None else 'no backendRef with a weight'}"
        empty = HttpRequest("CONNECT", f"{packet.dst}:{packet.dport}")
        if endpoint is None:
            self._conns.pop(key, None)
            self.log.append(ProxyLeg(self.name, f"{packet.src}:{packet.sport}", empty, decision, None, None,
                                     HttpResponse(0)))
            return reset
        upstream = TcpConnection(self.network, self.host, self.address, self.ephemeral_port(), endpoint.address,
                                 endpoint.port)
        upstream.connect()
        conn.upstream = upstream
        self.log.append(ProxyLeg(self.name, f"{packet.src}:{packet.sport}", empty,
                                 f"{decision} -> {endpoint.address}:{endpoint.port}", endpoint, None, HttpResponse(0),
                                 None))
        return [] if upstream.open else reset

    def on_data(self, key: tuple, conn: _Conn, packet: Packet) -> bytes | None:
        """Relay the client's bytes upstream; answer with what the upstream sent back."""
        if conn.upstream is None or not conn.upstream.open:
            return None
        data = bytes(conn.buffer)
        conn.buffer.clear()
        return conn.upstream.send(data) or None


class EnvoyUnemulatedListenerApp(_ProxyApp):
    """A listener whose protocol netsim does not emulate yet (HTTPS, TLS): it accepts, and data names the gap."""

    def __init__(self, network: Network, cluster: Cluster, pod: Pod, host: str, gateway: Resource,
                 listener: gw.Listener) -> None:
        super().__init__(f"envoy {gateway.namespace}/{gateway.name} listener {listener.name}", network, cluster, pod,
                         host)
        self.what = f"Envoy Gateway: {listener.protocol} listeners are not emulated yet " \
                    f"(Gateway {gateway.namespace}/{gateway.name} listener {listener.name})"

    def on_data(self, key: tuple, conn: _Conn, packet: Packet) -> bytes | None:
        """Refuse: the listener's protocol is not emulated."""
        raise NotImplementedFeature(self.what)


class EnvoyUdpProxyApp:
    """Envoy's udp_proxy on a UDP listener: each datagram relayed to a UDPRoute backend, its answer returned."""

    def __init__(self, network: Network, cluster: Cluster, pod: Pod, host: str, gateway: Resource,
                 listener: gw.Listener) -> None:
        self.proxy = _ProxyApp(f"envoy {gateway.namespace}/{gateway.name} listener {listener.name}", network,
                               cluster, pod, host)
        self.name = self.proxy.name
        self.gateway = gateway
        self.listener = listener
        self.log = self.proxy.log

    def receive(self, packet: Packet, host: str) -> list[Packet]:
        """Relay one datagram and return the backend's answers from the listener's address."""
        if packet.proto != Proto.UDP:
            return []
        p = self.proxy
        store = p.cluster.store
        gateway = store.try_get("Gateway", self.gateway.name, self.gateway.namespace) or self.gateway
        routes = [r for r, names in gw.attachments(store, gateway, "UDPRoute") if self.listener.name in names]
        ref = gw.choose_backend(routes[0].rules[0].backends, float(p.rng.random())) if routes and routes[0].rules \
            else None
        if ref is None or ref.invalid:
            return []
        backend = resolve_service(store, ref.namespace, ref.name, ref.port or 0, "UDP")
        if not backend.endpoints:
            return []
        endpoint = backend.endpoints[int(p.rng.integers(0, len(backend.endpoints)))]
        sport = p.ephemeral_port()
        out = Packet(p.address, endpoint.address, Proto.UDP, sport, endpoint.port, payload=packet.payload)
        result = p.network.send(p.host, out)
        answers = [r for r in result.received if r.proto == Proto.UDP and r.dport == sport]
        p.log.append(ProxyLeg(self.name, f"{packet.src}:{packet.sport}", HttpRequest("CONNECT", "udp"),
                              f"udproute {routes[0].ref} -> {endpoint.address}:{endpoint.port}", endpoint, None,
                              HttpResponse(0), TcpExchange(sport, bool(answers), b"".join(a.payload for a in answers),
                                                           "", (result,))))
        return [Packet(src=packet.dst, dst=packet.src, proto=Proto.UDP, sport=packet.dport, dport=packet.sport,
                       payload=a.payload, df=True) for a in answers]


class AlbApp(_ProxyApp):
    """An AWS ALB's HTTP listener on port 80 (see netsim/l7/alb.py for its rules and targets)."""

    def __init__(self, network: Network, cluster: Cluster, host: str, address: str, alb_name: str) -> None:
        super().__init__(f"alb {alb_name} listener :80", network, cluster, None, host, address)
        self.alb_name = alb_name
        self._next: dict[tuple, int] = {}

    def respond(self, status: int, body: bytes, headers: tuple[tuple[str, str], ...] = ()) -> HttpResponse:
        """The ALB's own answer: its error page (the nginx layout without the server line), Server awselb/2.0."""
        if status >= 500:
            line = f"{status} {REASONS[status]}"
            body = (f"<html>\r\n<head><title>{line}</title></head>\r\n<body>\r\n<center><h1>{line}</h1></center>"
                    "\r\n</body>\r\n</html>\r\n").encode()
        typed = (("Content-Type", "text/html" if status >= 500 else "text/plain; charset=utf-8"),)
        return HttpResponse(status, "", (("Server", "awselb/2.0"), ("Date", http_date(self.cluster.clock.now())))
                            + typed + (("Content-Length", str(len(body))), ("Connection", "keep-alive")) + headers,
                            body)

    def handle(self, request: HttpRequest, packet: Packet) -> HttpResponse:
        """The first matching listener rule, then a round-robin target of its target group."""
        from netsim.l7 import alb

        store = self.cluster.store
        found = [a for a in alb.provisioned_albs(store) if a.name == self.alb_name]
        rule = alb.match_rule(found[0], request.host, request.path) if found else None
        if rule is None:
            return self.answer(request, packet, "no rule matched: fixed response 404", self.respond(404, b""))
        what = f"rule of ingress {rule.ingress} -> service {rule.namespace}/{rule.service}:{rule.port} " \
               f"(target-type {rule.target_type})"
        if rule.target_type == "ip":
            backend = resolve_service(store, rule.namespace, rule.service, rule.port)
            targets = tuple(backend.endpoints)
        else:
            targets = tuple(Endpoint(ip_address(a), p, f"node {a}") for a, p in alb.instance_targets(store, rule))
        if not targets:
            return self.answer(request, packet, f"{what}: the target group has no targets", self.respond(503, b""))
        key = (rule.namespace, rule.service, str(rule.port), rule.target_type)
        index = self._next.get(key, 0)
        self._next[key] = (index + 1) % len(targets)
        target = targets[index % len(targets)]
        trace = "Root=1-{:08x}-{}".format(int(self.cluster.clock.now()), self.request_id()[:24])
        kept = tuple(h for h in request.headers if h[0].lower() not in
                     ("x-forwarded-for", "x-forwarded-proto", "x-forwarded-port", "x-amzn-trace-id"))
        upstream = HttpRequest(request.method, request.target, "HTTP/1.1",
                               kept + (("X-Forwarded-For", str(packet.src)), ("X-Forwarded-Proto", "http"),
                                       ("X-Forwarded-Port", str(packet.dport)), ("X-Amzn-Trace-Id", trace)),
                               request.body)

        def wrap(resp: HttpResponse) -> HttpResponse:
            return resp

        return self.relay(request, upstream, target, packet, f"{what} -> {target.address}:{target.port}", wrap)


ALB_IFACE = "eth0"


def alb_address(cluster: Cluster, index: int) -> str:
    """The ALB's address: counted down from the top of the node network (clear of nodes and the MetalLB pool's
    usual range), as a VPC gives a load balancer addresses in the nodes' subnets."""
    return str(cluster.topology.node_network.broadcast_address - 1 - index)


def add_cloud_load_balancers(cluster: Cluster, network: Network, segment: str, pod_routes) -> list[tuple[str, str]]:
    """With netsim.ingressController alb: one host per provisioned ALB on the node segment, its HTTP listener bound,
    routes to every podCIDR via its node (the VPC route table); returns (ALB name, address)."""
    from netsim.l7 import alb

    if cluster.topology.ingress_controller != "alb":
        return []
    out = []
    prefix = cluster.topology.node_network.prefixlen
    for index, lb in enumerate(alb.provisioned_albs(cluster.store)):
        address = alb_address(cluster, index)
        host = network.add_host(lb.name)
        host.add_interface(ALB_IFACE)
        host.add_address(ALB_IFACE, f"{address}/{prefix}")
        network.connect(segment, lb.name, ALB_IFACE)
        for cidr, node_ip in pod_routes:
            host.add_route(cidr, via=node_ip, proto="static")
        host.add_route("default", via=str(cluster.topology.node_gateway), dev=ALB_IFACE)
        host.bind(AlbApp(network, cluster, lb.name, address, lb.name), Proto.TCP, 80)
        out.append((lb.name, address))
    return out


# --- curl ------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class CurlResult:
    """One `curl`: who asked, where, the request, the response (None: none), the client connection and proxy legs."""

    origin: str
    address: IPv4Address
    port: int
    request: HttpRequest
    response: HttpResponse | None
    exchange: TcpExchange
    legs: tuple[ProxyLeg, ...]

    @property
    def error(self) -> str:
        """Why no response came, as curl says it ('' when one came)."""
        if self.response is not None:
            return ""
        return self.exchange.error or "empty reply from server"


def proxy_apps(network: Network) -> list:
    """Every proxy app bound in the network (hosts in name order)."""
    out = []
    for name in sorted(network.hosts):
        for _, _, _, app in network.hosts[name].bindings():
            if isinstance(app, (_ProxyApp, EnvoyUdpProxyApp)) and app not in out:
                out.append(app)
    return out


def parse_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, request-target) of an http:// URL."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https"):
        raise InputError(f"curl: only http:// URLs are emulated, got {url!r}")
    if parts.scheme == "https":
        raise NotImplementedFeature("curl: TLS (https://) is not emulated yet; use http://")
    if not parts.hostname:
        raise InputError(f"curl: no host in {url!r}")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, parts.port or 80, target


def curl(emulator, url: str, origin: str = "external", headers: tuple[tuple[str, str], ...] = (),
         method: str = "GET", body: bytes = b"", resolve: dict[str, str] | None = None) -> CurlResult:
    """Send one HTTP request as curl does from `origin` (external, pod/[NS/]NAME, node/NAME) and read the answer.

    The URL's host is an address, a name in `resolve` (curl's --resolve), or
    — from a pod or node — a name looked up through the cluster DNS as packets.
    """
    from netsim.emulator.dnsquery import DnsClient
    from netsim.emulator.traffic import resolve_sender

    _, host, port, target = parse_url(url)
    store = emulator.cluster.store
    ref = origin if origin == "external" or "/" in origin else f"pod/{origin}"
    sender = resolve_sender(store, ref, "--from", emulator.external_sender())
    if resolve and host in resolve:
        address = ip_address(resolve[host])
    else:
        try:
            address = ip_address(host)
        except ValueError:
            if origin == "external":
                raise InputError(f"curl: the external client has no DNS for {host!r}; give its address with "
                                 f"--resolve {host}:{port}:ADDRESS") from None
            found = [a for a in DnsClient(emulator).resolve(host, ref, "inet").addresses if ":" not in a]
            if not found:
                raise InputError(f"curl: could not resolve host {host!r} from {origin}") from None
            address = ip_address(found[0])
    given = {k.lower() for k, _ in headers}
    default_host = host if port == 80 else f"{host}:{port}"
    request_headers = tuple(h for h in (("Host", default_host), ("User-Agent", CURL_USER_AGENT), ("Accept", "*/*"))
                            if h[0].lower() not in given) + tuple(headers)
    if body:
        request_headers += (("Content-Length", str(len(body))),)
    request = HttpRequest(method, target, "HTTP/1.1", request_headers, body)
    apps = proxy_apps(emulator.network)
    before = [len(a.log) for a in apps]
    conn = TcpConnection(emulator.network, sender.host, sender.address, emulator.ephemeral_port(sender.host),
                         address, port)  # type: ignore[arg-type]
    response = None
    if conn.connect():
        data = conn.send(request.encode())
        try:
            parsed = parse_response(data, head_request=method == "HEAD") if data else None
        except HttpParseError:
            parsed = None
        response = parsed[0] if parsed is not None else None
        conn.close()
    legs = tuple(leg for app, n in zip(apps, before) for leg in app.log[n:])
    return CurlResult(ref, address, port, request, response, conn.result(), legs)  # type: ignore[arg-type]


# --- binding ---------------------------------------------------------------------------------------------

def pod_app(cluster: Cluster, network: Network, pod: Pod, host: str, container_port: int, protocol: str):
    """The application wiring.py binds on a pod's declared port: the L7 proxies on theirs, else HTTP-aware echo
    on TCP (HttpEchoApp), None for UDP (wiring's EchoApp)."""
    from netsim.dataplane.apps import HttpEchoApp
    from netsim.emulator.addons import envoy_container_port, envoy_gateway_of, is_ingress_nginx_pod

    if is_ingress_nginx_pod(pod) and protocol == "TCP" and container_port in (80, 443):
        return NginxIngressApp(network, cluster, pod, host, container_port, https=container_port == 443)
    gateway = envoy_gateway_of(pod, cluster.store)
    if gateway is not None:
        for listener in gw.listeners(gateway):
            if envoy_container_port(listener.port) != container_port:
                continue
            if listener.protocol == "UDP" and protocol == "UDP":
                return EnvoyUdpProxyApp(network, cluster, pod, host, gateway, listener)
            if protocol != "TCP":
                continue
            if listener.protocol == "TCP":
                return EnvoyTcpProxyApp(network, cluster, pod, host, gateway, listener)
            if listener.protocol == "HTTP":
                return EnvoyGatewayApp(network, cluster, pod, host, gateway, listener)
            return EnvoyUnemulatedListenerApp(network, cluster, pod, host, gateway, listener)
    if protocol == "TCP":
        return HttpEchoApp(pod=pod.name, namespace=pod.namespace, clock=cluster.clock.now)
    return None
