"""ingress-nginx's routing: which Ingresses it serves, the servers and locations it builds, and the match for a request.

Following ingress-nginx's controller (internal/ingress/controller/controller.go
createServers/createUpstreams, and the locations nginx.tmpl writes):
- Class: an Ingress is served when its `spec.ingressClassName` names an
  IngressClass whose `spec.controller` is the controller's
  (k8s.io/ingress-nginx), or its deprecated `kubernetes.io/ingress.class`
  annotation equals that class's name; an Ingress with neither gets the
  IngressClass annotated `ingressclass.kubernetes.io/is-default-class: "true"`
  (the API server's DefaultIngressClass admission does that at creation).
- Servers: one per rule host, plus the catch-all `_` for host-less rules.
  Ingresses are read oldest first (creationTimestamp, then namespace/name);
  the first Ingress to name a host sets that server's root location `/`
  to its `spec.defaultBackend`, else the controller's default backend
  (which answers 404); the catch-all server's root goes to the
  `spec.defaultBackend` of the newest Ingress that has one (createServers
  sets it for each in turn). A path already defined for a host is kept
  from the older Ingress.
- Host: exact names first, then wildcards; per the Ingress spec a wildcard
  `*.foo.com` covers exactly one more label (`bar.foo.com`, not
  `baz.bar.foo.com`, not `foo.com`); anything else goes to `_`.
- Paths: `Exact` is nginx's `location = /p`; `Prefix` is the element-wise
  prefix of the Ingress spec (`/foo` matches `/foo`, `/foo/`, `/foo/bar`,
  not `/foobar`; a trailing slash is ignored); `ImplementationSpecific` is
  a plain nginx prefix location (`/foo` also matches `/foobar`). nginx
  takes an exact location first, else the longest prefix.
- TLS: hosts listed in `spec.tls[].hosts` are recorded; a request that
  reaches them over plain HTTP is redirected with 308 to https (ssl-redirect
  is on by default; the `nginx.ingress.kubernetes.io/ssl-redirect: "false"`
  annotation turns it off).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from netsim.api.objects import Resource
from netsim.api.store import Store
from netsim.l7.errors import L7Error

NGINX_CONTROLLER = "k8s.io/ingress-nginx"
DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"
CLASS_ANNOTATION = "kubernetes.io/ingress.class"
SSL_REDIRECT_ANNOTATION = "nginx.ingress.kubernetes.io/ssl-redirect"
CATCH_ALL = "_"


class PathType(enum.Enum):
    """spec.rules[].http.paths[].pathType."""

    EXACT = "Exact"                                     # the whole path, case-sensitive
    PREFIX = "Prefix"                                   # element-wise prefix (split on '/')
    IMPLEMENTATION_SPECIFIC = "ImplementationSpecific"  # ingress-nginx: a plain string prefix


@dataclass(frozen=True, slots=True)
class Backend:
    """An Ingress backend: a Service and port (number, or a port name) in the Ingress's namespace."""

    namespace: str
    service: str
    port: int | str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.service}:{self.port}"


@dataclass(frozen=True, slots=True)
class Location:
    """One nginx location of a server: match kind, path, backend, and the Ingress it came from."""

    path: str
    path_type: PathType
    backend: Backend
    ingress: str


@dataclass(frozen=True, slots=True)
class Server:
    """One nginx server block: hostname, its locations, root backend (None: the default 404), TLS, ssl-redirect."""

    hostname: str
    locations: tuple[Location, ...]
    root: Backend | None
    root_ingress: str = ""
    tls: bool = False
    ssl_redirect: bool = True


@dataclass(frozen=True, slots=True)
class Match:
    """The routing decision for one request: server, the location taken (None: the root), backend (None: 404)."""

    server: Server
    location: Location | None
    backend: Backend | None
    redirect_https: bool = False

    @property
    def ingress(self) -> str:
        """The Ingress (namespace/name) whose rule decided, '' for the controller's default backend."""
        if self.location is not None:
            return self.location.ingress
        return self.server.root_ingress if self.backend is not None else ""


def _backend(data, namespace: str, where: str) -> Backend:
    svc = (data or {}).get("service")
    if not isinstance(svc, dict) or not svc.get("name"):
        raise L7Error(f"{where}: only service backends are emulated (resource backends are not)")
    port = svc.get("port") or {}
    value = port.get("number", port.get("name"))
    if value is None:
        raise L7Error(f"{where}.service.port: needs number or name")
    return Backend(namespace, svc["name"], value)


def ingress_class_of(ing: Resource, classes: list[Resource]) -> str | None:
    """The IngressClass name an Ingress belongs to (the admission default applied), or None."""
    name = ing.spec.get("ingressClassName") or ing.annotations.get(CLASS_ANNOTATION)
    if name:
        return name
    defaults = sorted(c.name for c in classes if c.annotations.get(DEFAULT_CLASS_ANNOTATION) == "true")
    return defaults[0] if len(defaults) == 1 else None


def served_ingresses(store: Store, controller: str = NGINX_CONTROLLER) -> list[Resource]:
    """The Ingresses the controller serves, oldest first (creationTimestamp, namespace, name)."""
    classes = store.list("IngressClass")
    ours = {c.name for c in classes if c.spec.get("controller") == controller}
    out = [i for i in store.list("Ingress") if ingress_class_of(i, classes) in ours and i.deletion_timestamp is None]
    return sorted(out, key=lambda i: (i.creation_timestamp, i.namespace, i.name))


def build_servers(ingresses: list[Resource]) -> dict[str, Server]:
    """The nginx servers (by hostname, `_` the catch-all) for Ingresses given oldest first."""
    locations: dict[str, list[Location]] = {}
    roots: dict[str, tuple[Backend | None, str]] = {}
    tls_hosts: set[str] = set()
    redirect: dict[str, bool] = {}
    catch_all_root: tuple[Backend | None, str] = (None, "")
    for ing in ingresses:
        ref = f"{ing.namespace}/{ing.name}"
        where = f"Ingress {ref}: spec"
        default = _backend(ing.spec["defaultBackend"], ing.namespace, f"{where}.defaultBackend") \
            if ing.spec.get("defaultBackend") else None
        if default is not None:   # createServers: every Ingress with a defaultBackend sets the catch-all's root
            catch_all_root = (default, ref)
        for tls in ing.spec.get("tls") or ():
            tls_hosts.update(h.lower() for h in tls.get("hosts") or ())
        for r, rule in enumerate(ing.spec.get("rules") or ()):
            host = (rule.get("host") or CATCH_ALL).lower()
            if host not in roots:
                roots[host] = (default, ref if default is not None else "")
                redirect[host] = ing.annotations.get(SSL_REDIRECT_ANNOTATION, "true") != "false"
            seen = {(loc.path, loc.path_type) for loc in locations.get(host, ())}
            for p, path in enumerate((rule.get("http") or {}).get("paths") or ()):
                at = f"{where}.rules[{r}].http.paths[{p}]"
                try:
                    ptype = PathType(path.get("pathType", "ImplementationSpecific"))
                except ValueError:
                    raise L7Error(f"{at}.pathType: must be Exact, Prefix or ImplementationSpecific, "
                                  f"got {path.get('pathType')!r}") from None
                value = path.get("path") or "/"
                if not value.startswith("/"):
                    raise L7Error(f"{at}.path: must be an absolute path, got {value!r}")
                if ptype is PathType.PREFIX and value != "/":
                    value = value.rstrip("/") or "/"
                if (value, ptype) in seen:
                    continue
                seen.add((value, ptype))
                locations.setdefault(host, []).append(
                    Location(value, ptype, _backend(path.get("backend"), ing.namespace, f"{at}.backend"), ref))
    servers = {}
    for host in sorted(set(roots) | {CATCH_ALL}):
        root, root_ref = roots.get(host, (None, ""))
        if host == CATCH_ALL:
            root, root_ref = catch_all_root if catch_all_root[0] is not None else (root, root_ref)
        servers[host] = Server(host, tuple(locations.get(host, ())), root, root_ref, host in tls_hosts,
                               redirect.get(host, True))
    return servers


def host_matches(pattern: str, host: str) -> bool:
    """The Ingress spec's host match: exact, or `*.suffix` covering exactly one more DNS label."""
    if pattern.startswith("*."):
        label, dot, rest = host.partition(".")
        return bool(label) and bool(dot) and rest == pattern[2:]
    return pattern == host


def pick_server(servers: dict[str, Server], host: str) -> Server:
    """nginx's server_name choice: an exact name, else the longest matching wildcard, else `_`."""
    host = host.lower().rstrip(".")
    if host in servers and host != CATCH_ALL:
        return servers[host]
    wild = [s for name, s in servers.items() if name.startswith("*.") and host_matches(name, host)]
    if wild:
        return max(wild, key=lambda s: len(s.hostname))
    return servers[CATCH_ALL]


def path_matches(loc: Location, path: str) -> bool:
    """Whether a location takes `path` (see the module docstring for each path type)."""
    if loc.path_type is PathType.EXACT:
        return path == loc.path
    if loc.path_type is PathType.IMPLEMENTATION_SPECIFIC:
        return path.startswith(loc.path)
    if loc.path == "/":
        return True
    return path == loc.path or path.startswith(loc.path + "/")


def match(servers: dict[str, Server], host: str, path: str, *, https: bool = False) -> Match:
    """The location nginx picks for a request to `host` and `path` (exact first, then the longest prefix)."""
    server = pick_server(servers, host)
    if server.tls and server.ssl_redirect and not https:
        return Match(server, None, None, redirect_https=True)
    exact = [loc for loc in server.locations if loc.path_type is PathType.EXACT and loc.path == path]
    if exact:
        return Match(server, exact[0], exact[0].backend)
    prefixes = [loc for loc in server.locations if loc.path_type is not PathType.EXACT and path_matches(loc, path)]
    if prefixes:
        # nginx compares the prefix strings it wrote: `Prefix /foo` is written `/foo/` (and `= /foo`).
        def written(loc: Location) -> int:
            return len(loc.path) + (loc.path_type is PathType.PREFIX and loc.path != "/")
        best = max(prefixes, key=written)
        return Match(server, best, best.backend)
    return Match(server, None, server.root)
