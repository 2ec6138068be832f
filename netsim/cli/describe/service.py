"""`kubectl describe` for Services and ServiceAccounts.

As describe.go's describeService (selector, type, IP families, cluster IPs,
per port its target, node port and ready endpoints as formatEndpointSlices
lists them: at most three `ip:port`, then `+ N more...`) and
describeServiceAccount (image pull secrets).
"""

from __future__ import annotations

from netsim.cli.describe import text as t
from netsim.cli.describe.storage import format_labels

MAX_ENDPOINTS = 3
PULL_HEADER = "Image pull secrets:"


def endpoints_text(slices: list, port_name: str) -> str:
    """formatEndpointSlices for one service port: ready addresses with the slice port of that name."""
    if not slices:
        return "<none>"
    shown: list[str] = []
    more, count = False, 0
    for s in slices:
        ports = s.get("ports") or []
        if not ports:
            pairs = [(e, None) for e in s.get("endpoints") or ()]
        else:
            pairs = [(e, p) for p in ports if (p.get("name") or "") == port_name for e in s.get("endpoints") or ()]
        for endpoint, port in pairs:
            if len(shown) == MAX_ENDPOINTS:
                more = True
            ready = (endpoint.get("conditions") or {}).get("ready")
            if ready is not None and not ready:
                continue
            if not more:
                address = endpoint["addresses"][0]
                if port is None:
                    shown.append(address)
                else:
                    host = f"[{address}]" if ":" in address else address   # net.JoinHostPort
                    shown.append(f"{host}:{port.get('port')}")
            count += 1
    text = ",".join(shown)
    return f"{text} + {count - MAX_ENDPOINTS} more..." if more else text


def describe_service(store, svc, now: float) -> str:
    """The text `kubectl describe service NAME` prints."""
    spec, status = svc.spec, svc.status
    lines = [f"Name:\t{svc.name}", f"Namespace:\t{svc.namespace}"]
    lines += t.labels("Labels", svc.labels)
    lines += t.annotations("Annotations", svc.annotations)
    lines += [f"Selector:\t{format_labels(spec.get('selector'))}", f"Type:\t{spec.get('type', '')}"]
    if spec.get("ipFamilyPolicy"):
        lines.append(f"IP Family Policy:\t{spec['ipFamilyPolicy']}")
    lines.append(f"IP Families:\t{','.join(spec.get('ipFamilies') or []) or '<none>'}")
    lines.append(f"IP:\t{spec.get('clusterIP', '')}")
    lines.append(f"IPs:\t{','.join(spec.get('clusterIPs') or []) or '<none>'}")
    if spec.get("externalIPs"):
        lines.append(f"External IPs:\t{','.join(spec['externalIPs'])}")
    if spec.get("loadBalancerIP"):
        lines.append(f"Desired LoadBalancer IP:\t{spec['loadBalancerIP']}")
    if spec.get("externalName"):
        lines.append(f"External Name:\t{spec['externalName']}")
    ingress = (status.get("loadBalancer") or {}).get("ingress") or []
    if ingress:
        parts = [i.get("hostname", "") if not i.get("ip") else
                 f"{i['ip']} ({i['ipMode']})" if i.get("ipMode") else i["ip"] for i in ingress]
        lines.append(f"LoadBalancer Ingress:\t{', '.join(parts)}")
    slices = store.list("EndpointSlice", svc.namespace,
                        lambda s: s.labels.get("kubernetes.io/service-name") == svc.name)
    raw = [s.to_dict() for s in slices]
    for port in spec.get("ports") or ():
        name = port.get("name") or "<unset>"
        protocol = port.get("protocol", "TCP")
        lines.append(f"Port:\t{name}\t{port.get('port')}/{protocol}")
        lines.append(f"TargetPort:\t{port.get('targetPort')}/{protocol}")
        if port.get("appProtocol"):
            lines.append(f"AppProtocol:\t{port['appProtocol']}")
        if port.get("nodePort"):
            lines.append(f"NodePort:\t{name}\t{port['nodePort']}/{protocol}")
        lines.append(f"Endpoints:\t{endpoints_text(raw, port.get('name') or '')}")
    lines.append(f"Session Affinity:\t{spec.get('sessionAffinity', '')}")
    if spec.get("externalTrafficPolicy"):
        lines.append(f"External Traffic Policy:\t{spec['externalTrafficPolicy']}")
    if spec.get("internalTrafficPolicy"):
        lines.append(f"Internal Traffic Policy:\t{spec['internalTrafficPolicy']}")
    if spec.get("healthCheckNodePort"):
        lines.append(f"HealthCheck NodePort:\t{spec['healthCheckNodePort']}")
    if spec.get("loadBalancerSourceRanges"):
        lines.append(f"LoadBalancer Source Ranges:\t{','.join(spec['loadBalancerSourceRanges'])}")
    if spec.get("trafficDistribution"):
        lines.append(f"Traffic Distribution:\t{spec['trafficDistribution']}")
    lines += t.events(t.events_about(store, svc), now)
    return t.render(lines)


def describe_serviceaccount(store, sa, now: float) -> str:
    """The text `kubectl describe serviceaccount NAME` prints."""
    lines = [f"Name:\t{sa.name}", f"Namespace:\t{sa.namespace}"]
    lines += t.labels("Labels", sa.labels)
    lines += t.annotations("Annotations", sa.annotations)
    names = [s.get("name", "") for s in sa.get("imagePullSecrets") or ()]
    if not names:
        lines.append(f"{PULL_HEADER}\t<none>")
    for i, name in enumerate(names):
        lines.append(f"{PULL_HEADER if i == 0 else ' ' * len(PULL_HEADER)}\t{name}")
    lines += t.events(t.events_about(store, sa), now)
    return t.render(lines)
