"""ingress-nginx's servers and locations from Ingress objects, and the location a request takes (netsim/l7/ingress.py)."""

from __future__ import annotations

import pytest

from netsim.api.objects import make_object
from netsim.l7.errors import L7Error
from netsim.l7.ingress import PathType, build_servers, host_matches, ingress_class_of, match


def ing(name: str, rules=(), default=None, created="2024-01-01T00:00:00Z", tls=(), annotations=None, ns="default"):
    spec: dict = {"rules": [dict(r) for r in rules]}
    if default:
        spec["defaultBackend"] = {"service": {"name": default, "port": {"number": 80}}}
    if tls:
        spec["tls"] = [{"hosts": list(tls)}]
    return make_object({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                        "metadata": {"name": name, "namespace": ns, "creationTimestamp": created,
                                     "annotations": annotations or {}}, "spec": spec})


def rule(host=None, *paths):
    out: dict = {"http": {"paths": [{"path": p, "pathType": t, "backend": {"service": {"name": s, "port": {"number": 80}}}}
                                    for p, t, s in paths]}}
    if host:
        out["host"] = host
    return out


def backend_of(servers, host, path):
    m = match(servers, host, path)
    return m.backend.service if m.backend else None


# Exact vs Prefix vs ImplementationSpecific, one row per request: (path, the Service reached or None for 404)
PATHS = rule(None, ("/foo", "Prefix", "prefix-foo"), ("/foo", "Exact", "exact-foo"), ("/foo/bar", "Prefix", "deep"),
             ("/imp", "ImplementationSpecific", "imp"), ("/trail/", "Prefix", "trail"))
ROWS = [
    ("/foo", "exact-foo"),           # an exact location wins over every prefix
    ("/foo/", "prefix-foo"),         # Prefix /foo covers /foo/
    ("/foo/x", "prefix-foo"),
    ("/foo/bar", "deep"),            # the longest prefix
    ("/foo/bar/baz", "deep"),
    ("/foo/barbaz", "prefix-foo"),   # element-wise: /foo/bar does not cover /foo/barbaz
    ("/foobar", None),               # nor does /foo cover /foobar
    ("/imp", "imp"),
    ("/impx", "imp"),                # ImplementationSpecific is nginx's plain string prefix
    ("/trail", "trail"),             # a Prefix's trailing slash is ignored
    ("/trail/x", "trail"),
    ("/", None),
]


@pytest.mark.parametrize("path,expected", ROWS)
def test_path_types(path: str, expected: str | None) -> None:
    servers = build_servers([ing("paths", [PATHS])])
    assert backend_of(servers, "anything", path) == expected


def test_hosts_exact_wildcard_and_catch_all() -> None:
    servers = build_servers([ing("hosts", [rule("foo.example.com", ("/", "Prefix", "foo")),
                                           rule("*.example.com", ("/", "Prefix", "wild")),
                                           rule(None, ("/", "Prefix", "any"))])])
    assert backend_of(servers, "foo.example.com", "/") == "foo"
    assert backend_of(servers, "FOO.example.com", "/") == "foo"
    assert backend_of(servers, "bar.example.com", "/") == "wild"
    assert backend_of(servers, "a.bar.example.com", "/") == "any"   # a wildcard covers one label only
    assert backend_of(servers, "example.com", "/") == "any"
    assert host_matches("*.example.com", "x.example.com") and not host_matches("*.example.com", "example.com")


def test_default_backends_follow_create_servers() -> None:
    older = ing("a", [rule("h.example.com", ("/app", "Prefix", "app"))], default="dflt-a", created="2024-01-01T00:00:00Z")
    newer = ing("b", [rule("h.example.com", ("/app", "Prefix", "other"), ("/more", "Prefix", "more"))],
                default="dflt-b", created="2024-01-02T00:00:00Z")
    servers = build_servers([older, newer])
    assert backend_of(servers, "h.example.com", "/app") == "app"        # the older Ingress keeps a shared path
    assert backend_of(servers, "h.example.com", "/more") == "more"      # paths merge across Ingresses
    assert backend_of(servers, "h.example.com", "/zzz") == "dflt-a"     # the host's first Ingress sets its root
    assert backend_of(servers, "other", "/") == "dflt-b"                # the newest defaultBackend takes the catch-all
    assert match(servers, "other", "/").ingress == "default/b"
    assert backend_of(build_servers([ing("c", [rule("x", ("/a", "Exact", "a"))])]), "x", "/b") is None


def test_tls_hosts_redirect_unless_annotated() -> None:
    servers = build_servers([ing("t", [rule("s.example.com", ("/", "Prefix", "s"))], tls=["s.example.com"])])
    assert servers["s.example.com"].tls and match(servers, "s.example.com", "/").redirect_https
    assert not match(servers, "s.example.com", "/", https=True).redirect_https
    off = build_servers([ing("t", [rule("s.example.com", ("/", "Prefix", "s"))], tls=["s.example.com"],
                             annotations={"nginx.ingress.kubernetes.io/ssl-redirect": "false"})])
    assert backend_of(off, "s.example.com", "/") == "s"


def test_ingress_class_resolution() -> None:
    default = make_object({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
                           "metadata": {"name": "nginx", "annotations": {
                               "ingressclass.kubernetes.io/is-default-class": "true"}},
                           "spec": {"controller": "k8s.io/ingress-nginx"}})
    assert ingress_class_of(ing("x"), [default]) == "nginx"
    assert ingress_class_of(ing("x"), []) is None
    assert ingress_class_of(ing("x", annotations={"kubernetes.io/ingress.class": "other"}), [default]) == "other"


def test_bad_path_type_is_named() -> None:
    with pytest.raises(L7Error, match=r"Ingress default/bad: spec.rules\[0\].http.paths\[0\].pathType"):
        build_servers([ing("bad", [rule(None, ("/", "Glob", "x"))])])
    assert PathType("Exact") is PathType.EXACT
