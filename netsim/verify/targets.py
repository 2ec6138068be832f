"""Defaults for naming flows on the command line: a Service's first port, a client that is not a backend."""

from __future__ import annotations

from netsim.api.errors import FieldError, NotFound
from netsim.api.selector import service_selects
from netsim.api.store import Store

SERVICE_KINDS = ("service", "services", "svc")


def with_default_port(store: Store, ref: str, protocol: str) -> str:
    """`svc/[ns/]name` with the Service's first port of `protocol` appended when no port is given."""
    kind, _, rest = ref.partition("/")
    if kind not in SERVICE_KINDS or ":" in rest:
        return ref
    ns, _, name = rest.rpartition("/")
    svc = store.try_get("Service", name, ns or "default")
    if svc is None:
        raise NotFound(f'--to: services "{name}" not found in namespace {ns or "default"}')
    for port in svc.ports:  # type: ignore[attr-defined]
        if port.protocol == protocol:
            return f"{ref}:{port.port}"
    raise FieldError(f"service {ns or 'default'}/{name} has no {protocol} port", "--to")


def default_source(store: Store, destination: str) -> str:
    """The first running, non-hostNetwork pod (by namespace, name) the target Service does not select."""
    kind, _, rest = destination.partition("/")
    selector = None
    if kind in SERVICE_KINDS:
        ns, _, name = rest.rpartition("/")
        svc = store.try_get("Service", name.partition(":")[0], ns or "default")
        selector = svc.selector if svc is not None else None  # type: ignore[attr-defined]
    for pod in sorted(store.list("Pod"), key=lambda p: (p.namespace, p.name)):
        if pod.phase != "Running" or pod.host_network:  # type: ignore[attr-defined]
            continue
        if selector and service_selects(selector, pod.labels):
            continue
        return f"pod/{pod.namespace}/{pod.name}"
    raise FieldError("no running pod to send from; name one with --from", "--from")
