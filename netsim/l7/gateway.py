"""Gateway API: which Gateways a controller programs, which routes attach to which listener, the status conditions it
writes, and the HTTPRoute rule a request matches (with its filters) — per the v1 spec and its conformance suite.

- A GatewayClass is ours when `spec.controllerName` is the controller's;
  its Gateways are programmed, each listener (name, protocol, port,
  hostname, allowedRoutes) accepting route kinds by protocol (HTTP/HTTPS:
  HTTPRoute, TCP: TCPRoute, UDP: UDPRoute) from namespaces `Same`
  (default), `All` or `Selector`.
- A route attaches through `spec.parentRefs` (name, namespace default the
  route's, sectionName, port) to every listener it names that allows it and
  whose hostname intersects the route's `hostnames` (a listener wildcard
  `*.example.com` covers any number of labels, never `example.com`).
- A backendRef to another namespace needs a ReferenceGrant in the target
  namespace from the route's kind and namespace to the Service (named, or
  every Service); otherwise the route's ResolvedRefs is False
  (RefNotPermitted) and requests its weight would send there get 500, as
  for a missing Service (BackendNotFound).
- Matching follows HTTPRouteRule's precedence: the most specific hostname
  (exact over wildcard, then more characters), then an Exact path, then the
  longest Prefix, then a method match, then more header matches, then more
  query matches; ties go to the oldest route, then namespace/name
  alphabetically, then the first rule and match in list order. Path Prefix
  is element-wise with a trailing `/` ignored; header names are
  case-insensitive, values exact; query names and values exact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from netsim.api.objects import Resource
from netsim.api.selector import LabelSelector
from netsim.api.store import Store
from netsim.l7.errors import L7Error
from netsim.l7.http import HttpRequest

GROUP = "gateway.networking.k8s.io"
ROUTE_KINDS = {"HTTP": ("HTTPRoute",), "HTTPS": ("HTTPRoute",), "TCP": ("TCPRoute",), "UDP": ("UDPRoute",),
               "TLS": ("TLSRoute",)}


@dataclass(frozen=True, slots=True)
class Listener:
    """One Gateway listener: name, protocol, port, hostname ('' any), allowed namespaces and kinds."""

    gateway: str
    name: str
    protocol: str
    port: int
    hostname: str = ""
    allowed_from: str = "Same"
    selector: object | None = None
    kinds: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BackendRef:
    """A route backendRef: Service namespace/name/port, weight, and why it is unusable ('' when it is usable)."""

    namespace: str
    name: str
    port: int | None
    weight: int = 1
    invalid: str = ""


@dataclass(frozen=True, slots=True)
class RouteMatch:
    """One HTTPRouteMatch: path (type, value), method, headers and query params ((type, name, value), ...)."""

    path_type: str = "PathPrefix"
    path: str = "/"
    method: str | None = None
    headers: tuple[tuple[str, str, str], ...] = ()
    query: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Rule:
    """One route rule: its matches, filters (raw dicts), backendRefs."""

    matches: tuple[RouteMatch, ...]
    filters: tuple[dict, ...] = field(default=())
    backends: tuple[BackendRef, ...] = ()


@dataclass(frozen=True, slots=True)
class Route:
    """An attached route: kind, namespace/name, creation time, hostnames, rules, the listeners it is attached to."""

    kind: str
    namespace: str
    name: str
    created: str
    hostnames: tuple[str, ...]
    rules: tuple[Rule, ...]
    listeners: tuple[str, ...] = ()

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class HttpDecision:
    """The request's fate: the route and rule (None: 404) and the match that took it."""

    route: Route | None
    rule: int = -1
    match: RouteMatch | None = None

    @property
    def status(self) -> int | None:
        """404 when no rule matched; None otherwise."""
        return 404 if self.route is None else None


def our_classes(store: Store, controller: str) -> list[Resource]:
    """The GatewayClasses whose controllerName is `controller`."""
    return [c for c in store.list("GatewayClass") if c.spec.get("controllerName") == controller]


def our_gateways(store: Store, controller: str) -> list[Resource]:
    """The Gateways of our GatewayClasses, sorted by namespace/name."""
    names = {c.name for c in our_classes(store, controller)}
    gws = [g for g in store.list("Gateway") if g.spec.get("gatewayClassName") in names]
    return sorted(gws, key=lambda g: (g.namespace, g.name))


def listeners(gw: Resource) -> tuple[Listener, ...]:
    """The Gateway's listeners, in spec order."""
    out = []
    for i, item in enumerate(gw.spec.get("listeners") or ()):
        where = f"Gateway {gw.namespace}/{gw.name}: spec.listeners[{i}]"
        proto = item.get("protocol")
        if proto not in ROUTE_KINDS:
            raise L7Error(f"{where}.protocol: must be HTTP, HTTPS, TLS, TCP or UDP, got {proto!r}")
        allowed = item.get("allowedRoutes") or {}
        ns = allowed.get("namespaces") or {}
        selector = LabelSelector.from_dict(ns["selector"]) if ns.get("from") == "Selector" and ns.get("selector") \
            else None
        kinds = tuple(k.get("kind") for k in allowed.get("kinds") or ()) or ROUTE_KINDS[proto]
        out.append(Listener(f"{gw.namespace}/{gw.name}", item.get("name", ""), proto, int(item.get("port", 0)),
                            (item.get("hostname") or "").lower(), ns.get("from", "Same"), selector, kinds))
    return tuple(out)


def hostname_matches(pattern: str, host: str) -> bool:
    """Gateway API hostname match: exact, or `*.suffix` covering one or more labels before the suffix."""
    if not pattern:
        return True
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    return pattern == host


def hostnames_intersect(listener: str, route: tuple[str, ...]) -> bool:
    """Whether a listener hostname and a route's hostnames have a name in common."""
    if not listener or not route:
        return True
    return any(hostname_matches(listener, h) or hostname_matches(h, listener) for h in route)


def _allows(store: Store, listener: Listener, kind: str, namespace: str, gw_namespace: str) -> bool:
    if kind not in listener.kinds:
        return False
    if listener.allowed_from == "All":
        return True
    if listener.allowed_from == "Selector":
        ns = store.try_get("Namespace", namespace)
        labels = dict(ns.labels) if ns is not None else {}
        labels.setdefault("kubernetes.io/metadata.name", namespace)
        return listener.selector is not None and listener.selector.matches(labels)  # type: ignore[attr-defined]
    return namespace == gw_namespace


def reference_granted(store: Store, from_kind: str, from_namespace: str, to_namespace: str, service: str) -> bool:
    """Whether a ReferenceGrant in `to_namespace` lets `from_kind` routes of `from_namespace` refer to the Service."""
    for grant in store.list("ReferenceGrant", to_namespace):
        froms = grant.spec.get("from") or ()
        tos = grant.spec.get("to") or ()
        if not any(f.get("group") == GROUP and f.get("kind") == from_kind and f.get("namespace") == from_namespace
                   for f in froms):
            continue
        if any((t.get("group") or "") == "" and t.get("kind") == "Service" and t.get("name") in (None, "", service)
               for t in tos):
            return True
    return False


def _backends(store: Store, route: Resource, refs, where: str) -> tuple[BackendRef, ...]:
    out = []
    for i, ref in enumerate(refs or ()):
        ns = ref.get("namespace") or route.namespace
        name = ref.get("name", "")
        invalid = ""
        if (ref.get("group") or "") != "" or (ref.get("kind") or "Service") != "Service":
            invalid = "InvalidKind"
        elif ns != route.namespace and not reference_granted(store, route.kind, route.namespace, ns, name):
            invalid = "RefNotPermitted"
        elif store.try_get("Service", name, ns) is None:
            invalid = "BackendNotFound"
        port = ref.get("port")
        out.append(BackendRef(ns, name, int(port) if port is not None else None, int(ref.get("weight", 1)), invalid))
    return tuple(out)


def _match(data: dict) -> RouteMatch:
    path = data.get("path") or {}
    hdrs = tuple((h.get("type", "Exact"), h["name"], h["value"]) for h in data.get("headers") or ())
    seen: set[str] = set()
    unique = []
    for h in hdrs:   # "only the first entry with an equivalent name MUST be considered"
        if h[1].lower() not in seen:
            seen.add(h[1].lower())
            unique.append(h)
    query = tuple((q.get("type", "Exact"), q["name"], q["value"]) for q in data.get("queryParams") or ())
    return RouteMatch(path.get("type", "PathPrefix"), path.get("value", "/"), data.get("method"), tuple(unique), query)


def parse_route(store: Store, route: Resource) -> Route:
    """A route's hostnames and rules, its backendRefs checked (ReferenceGrant, existence)."""
    rules = []
    for r, rule in enumerate(route.spec.get("rules") or ()):
        matches = tuple(_match(m) for m in rule.get("matches") or ()) or (RouteMatch(),)
        rules.append(Rule(matches, tuple(rule.get("filters") or ()),
                          _backends(store, route, rule.get("backendRefs"), f"spec.rules[{r}]")))
    return Route(route.kind, route.namespace, route.name, route.creation_timestamp,
                 tuple(h.lower() for h in route.spec.get("hostnames") or ()), tuple(rules))


def attachments(store: Store, gw: Resource, kind: str) -> list[tuple[Route, tuple[str, ...]]]:
    """(route, names of the listeners it attaches to) for every route of `kind` with a parentRef to `gw`."""
    ls = listeners(gw)
    out = []
    for obj in store.list(kind):
        attached = []
        for ref in obj.spec.get("parentRefs") or ():
            if ref.get("name") != gw.name or (ref.get("namespace") or obj.namespace) != gw.namespace:
                continue
            if (ref.get("kind") or "Gateway") != "Gateway":
                continue
            for listener in ls:
                if ref.get("sectionName") not in (None, listener.name):
                    continue
                if ref.get("port") not in (None, listener.port):
                    continue
                hosts = tuple(h.lower() for h in obj.spec.get("hostnames") or ())
                if _allows(store, listener, kind, obj.namespace, gw.namespace) and \
                        hostnames_intersect(listener.hostname, hosts):
                    attached.append(listener.name)
        if attached:
            route = parse_route(store, obj)
            out.append((Route(route.kind, route.namespace, route.name, route.created, route.hostnames, route.rules,
                              tuple(dict.fromkeys(attached))), tuple(dict.fromkeys(attached))))
    return sorted(out, key=lambda t: (t[0].created, t[0].namespace, t[0].name))


# --- matching ---------------------------------------------------------------------------------------------

def path_matches(m: RouteMatch, path: str) -> bool:
    """Whether the match's path condition holds for `path`."""
    if m.path_type == "Exact":
        return path == m.path
    if m.path_type == "RegularExpression":
        return re.fullmatch(m.path, path) is not None
    prefix = m.path.rstrip("/")
    return not prefix or path == prefix or path.startswith(prefix + "/")


def _value_matches(kind: str, want: str, got: str | None) -> bool:
    if got is None:
        return False
    return re.fullmatch(want, got) is not None if kind == "RegularExpression" else got == want


def request_matches(m: RouteMatch, request: HttpRequest) -> bool:
    """Whether one HTTPRouteMatch takes the request (every condition must hold)."""
    if not path_matches(m, request.path.split("?")[0]):
        return False
    if m.method is not None and request.method != m.method:
        return False
    for kind, name, value in m.headers:
        values = request.header_values(name)
        if not _value_matches(kind, value, ",".join(values) if values else None):
            return False
    query = request.query
    for kind, name, value in m.query:
        got = next((v for k, v in query if k == name), None)
        if not _value_matches(kind, value, got):
            return False
    return True


def _host_rank(route: Route, listener_host: str, host: str) -> tuple[int, int] | None:
    """How specific the hostname that admits `host` is ((non-wildcard chars, chars)); None when none admits it."""
    names = route.hostnames or ((listener_host,) if listener_host else ())
    if not names:
        return (0, 0)
    ranks = []
    for name in names:
        if hostname_matches(name, host) and hostname_matches(listener_host, host):
            ranks.append((0 if name.startswith("*") else len(name), len(name)))
    return max(ranks) if ranks else None


def match_request(routes: list[Route], listener: Listener, request: HttpRequest) -> HttpDecision:
    """The HTTPRoute rule the request takes on `listener` (routes oldest first), by the spec's precedence."""
    host = request.host
    if listener.hostname and not hostname_matches(listener.hostname, host):
        return HttpDecision(None)
    best: tuple | None = None
    decision = HttpDecision(None)
    for order, route in enumerate(routes):
        if listener.name not in route.listeners:
            continue
        rank = _host_rank(route, listener.hostname, host)
        if rank is None:
            continue
        for r, rule in enumerate(route.rules):
            for i, m in enumerate(rule.matches):
                if not request_matches(m, request):
                    continue
                exact = m.path_type == "Exact"
                key = (rank, exact, len(m.path) if not exact else 0, m.method is not None, len(m.headers),
                       len(m.query), -order, -r, -i)
                if best is None or key > best:
                    best, decision = key, HttpDecision(route, r, m)
    return decision


def choose_backend(backends: tuple[BackendRef, ...], draw: float) -> BackendRef | None:
    """The backendRef a request goes to for a uniform `draw` in [0, 1) (weights); None when all weigh 0."""
    total = sum(b.weight for b in backends)
    if total <= 0:
        return None
    point = draw * total
    for b in backends:
        if point < b.weight:
            return b
        point -= b.weight
    return [b for b in backends if b.weight > 0][-1]


# --- filters ----------------------------------------------------------------------------------------------

def modify_headers(headers: tuple[tuple[str, str], ...], spec: dict) -> tuple[tuple[str, str], ...]:
    """RequestHeaderModifier: set replaces, add appends, remove deletes (names case-insensitive)."""
    out = list(headers)
    for item in spec.get("set") or ():
        low = item["name"].lower()
        idx = [i for i, (k, _) in enumerate(out) if k.lower() == low]
        out = [h for h in out if h[0].lower() != low]
        out.insert(idx[0] if idx else len(out), (item["name"], item["value"]))
    for item in spec.get("add") or ():
        low = item["name"].lower()
        idx = [i for i, (k, _) in enumerate(out) if k.lower() == low]
        if idx:   # Envoy appends to the existing value, comma-separated (conformance: "val,added")
            k, v = out[idx[0]]
            out[idx[0]] = (k, f"{v},{item['value']}")
        else:
            out.append((item["name"], item["value"]))
    removed = {n.lower() for n in spec.get("remove") or ()}
    return tuple(h for h in out if h[0].lower() not in removed)


def rewrite_path(path: str, spec: dict, match: RouteMatch | None) -> str:
    """HTTPPathModifier: ReplaceFullPath, or ReplacePrefixMatch of the matched prefix (element-wise)."""
    kind = spec.get("type")
    if kind == "ReplaceFullPath":
        return spec.get("replaceFullPath", "/")
    if kind == "ReplacePrefixMatch":
        prefix = (match.path if match is not None else "/").rstrip("/")
        rest = path[len(prefix):]
        new = (spec.get("replacePrefixMatch") or "").rstrip("/") + rest
        return new if new.startswith("/") else "/" + new
    raise L7Error(f"HTTPPathModifier: type must be ReplaceFullPath or ReplacePrefixMatch, got {kind!r}")


# --- status ----------------------------------------------------------------------------------------------

def condition(type_: str, ok: bool, reason: str, message: str, generation: int, now: str,
              old: list | None = None) -> dict:
    """A metav1.Condition; lastTransitionTime kept from `old` when the status did not change."""
    status = "True" if ok else "False"
    prev = next((c for c in old or () if c.get("type") == type_), None)
    when = prev["lastTransitionTime"] if prev and prev.get("status") == status and prev.get("lastTransitionTime") \
        else now
    return {"type": type_, "status": status, "reason": reason, "message": message,
            "observedGeneration": generation, "lastTransitionTime": when}


def gateway_class_status(gc: Resource, now: str) -> dict:
    """GatewayClass status: Accepted (the controller takes every class that names it)."""
    old = (gc.status or {}).get("conditions")
    return {"conditions": [condition("Accepted", True, "Accepted", "Valid GatewayClass", gc.generation, now, old)]}


def route_parent_statuses(store: Store, route: Resource, controller: str, now: str) -> list[dict]:
    """status.parents of a route: per parentRef to one of our Gateways, Accepted and ResolvedRefs."""
    gateways = {(g.namespace, g.name): g for g in our_gateways(store, controller)}
    old_parents = (route.status or {}).get("parents") or []
    parsed = parse_route(store, route)
    bad = sorted({b.invalid for rule in parsed.rules for b in rule.backends if b.invalid})
    out = []
    for ref in route.spec.get("parentRefs") or ():
        key = (ref.get("namespace") or route.namespace, ref.get("name"))
        gw = gateways.get(key)
        if gw is None:
            continue
        ls = [lst for lst in listeners(gw) if ref.get("sectionName") in (None, lst.name)
              and ref.get("port") in (None, lst.port)]
        hosts = parsed.hostnames
        allowed = [lst for lst in ls if _allows(store, lst, route.kind, route.namespace, gw.namespace)]
        matching = [lst for lst in allowed if hostnames_intersect(lst.hostname, hosts)]
        if not ls:
            accepted = (False, "NoMatchingParent", "No listeners match this parent ref")
        elif not allowed:
            accepted = (False, "NotAllowedByListeners", "No listeners included by this parent ref allowed this "
                                                          "attachment.")
        elif not matching:
            accepted = (False, "NoMatchingListenerHostname", "There were no hostname intersections between the "
                                                               "HTTPRoute and this parent ref's Listener(s).")
        else:
            accepted = (True, "Accepted", "Route is accepted")
        resolved = (False, bad[0], f"backendRefs not resolved: {', '.join(bad)}") if bad else \
            (True, "ResolvedRefs", "Resolved all the Object references for the Route")
        parent_ref = {"group": GROUP, "kind": "Gateway", "name": gw.name}
        if ref.get("namespace"):
            parent_ref["namespace"] = ref["namespace"]
        if ref.get("sectionName"):
            parent_ref["sectionName"] = ref["sectionName"]
        old = next((p.get("conditions") for p in old_parents if p.get("parentRef") == parent_ref), None)
        out.append({"parentRef": parent_ref, "controllerName": controller, "conditions": [
            condition("Accepted", *accepted, route.generation, now, old),
            condition("ResolvedRefs", *resolved, route.generation, now, old)]})
    return out


def gateway_status(store: Store, gw: Resource, controller: str, addresses: tuple[str, ...], now: str) -> dict:
    """Gateway status: addresses, Accepted, Programmed (an address is assigned), and per listener its conditions."""
    old = (gw.status or {}).get("conditions")
    programmed = bool(addresses)
    counts = {lst.name: 0 for lst in listeners(gw)}
    for kind in ("HTTPRoute", "TCPRoute", "UDPRoute"):
        for route, names in attachments(store, gw, kind):
            for name in names:
                counts[name] += 1
    old_listeners = {entry.get("name"): entry.get("conditions") for entry in (gw.status or {}).get("listeners") or ()}
    listener_status = []
    for lst in listeners(gw):
        prev = old_listeners.get(lst.name)
        listener_status.append({
            "name": lst.name,
            "supportedKinds": [{"group": GROUP, "kind": k} for k in lst.kinds],
            "attachedRoutes": counts[lst.name],
            "conditions": [condition("Programmed", programmed, "Programmed" if programmed else "AddressNotAssigned",
                                     "Sending translated listener configuration to the data plane", gw.generation,
                                     now, prev),
                           condition("Accepted", True, "Accepted", "Listener is accepted", gw.generation, now, prev),
                           condition("ResolvedRefs", True, "ResolvedRefs", "Listener references have been resolved",
                                     gw.generation, now, prev)]})
    status: dict = {}
    if addresses:
        status["addresses"] = [{"type": "IPAddress", "value": a} for a in addresses]
    status["conditions"] = [
        condition("Accepted", True, "Accepted", "The Gateway has been scheduled by Envoy Gateway", gw.generation,
                  now, old),
        condition("Programmed", programmed, "Programmed" if programmed else "AddressNotAssigned",
                  "Address assigned to the Gateway, 1/1 envoy Deployment replicas available" if programmed else
                  "No addresses have been assigned to the Gateway", gw.generation, now, old)]
    status["listeners"] = listener_status
    return status
