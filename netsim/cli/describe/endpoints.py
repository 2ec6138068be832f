"""`kubectl describe` for Endpoints and EndpointSlices.

As describe.go's describeEndpoints (per subset: ready and not-ready
addresses comma-joined, `<none>` when empty, the ports table, a blank line)
and describeEndpointSliceV1 (AddressType, the ports table or
`Ports: <unset>`, then per endpoint its addresses, Ready condition as
strconv.FormatBool writes it, Hostname, TargetRef, NodeName and Zone, each
`<unset>` when nil). The endpointslice controller writes the slices; an
Endpoints object is described as stored.
"""

from __future__ import annotations

from collections.abc import Mapping

from netsim.cli.describe import text as t


def _unset(value: object) -> str:
    """A pointer field: its value, `<unset>` when nil."""
    return "<unset>" if value is None else str(value)


def describe_endpoints(store, ep, now: float) -> str:
    """The text `kubectl describe endpoints NAME` prints."""
    lines = [f"Name:\t{ep.name}", f"Namespace:\t{ep.namespace}"]
    lines += t.labels("Labels", ep.labels)
    lines += t.annotations("Annotations", ep.annotations)
    lines.append("Subsets:")
    for subset in ep.get("subsets") or []:
        ready = ",".join(a.get("ip", "") for a in subset.get("addresses") or [])
        not_ready = ",".join(a.get("ip", "") for a in subset.get("notReadyAddresses") or [])
        lines += [f"  Addresses:\t{ready or '<none>'}", f"  NotReadyAddresses:\t{not_ready or '<none>'}"]
        ports = subset.get("ports") or []
        if ports:
            lines += ["  Ports:", "    Name\tPort\tProtocol", "    ----\t----\t--------"]
            lines += [f"    {p.get('name') or '<unset>'}\t{p.get('port', 0)}\t{p.get('protocol', '')}" for p in ports]
        lines.append("")
    lines += t.events(t.events_about(store, ep), now)
    return t.render(lines)


def _slice_endpoint(endpoint: Mapping) -> list[str]:
    """One entry of describeEndpointSliceV1's Endpoints list."""
    ready = (endpoint.get("conditions") or {}).get("ready")
    lines = [f"  - Addresses:\t{', '.join(endpoint.get('addresses') or []) or '<none>'}",
             "    Conditions:",
             f"      Ready:\t{'<unset>' if ready is None else ('true' if ready else 'false')}",
             f"    Hostname:\t{_unset(endpoint.get('hostname'))}"]
    ref = endpoint.get("targetRef")
    if ref is not None:
        lines.append(f"    TargetRef:\t{ref.get('kind', '')}/{ref.get('name', '')}")
    return lines + [f"    NodeName:\t{_unset(endpoint.get('nodeName'))}", f"    Zone:\t{_unset(endpoint.get('zone'))}"]


def describe_endpointslice(store, eps, now: float) -> str:
    """The text `kubectl describe endpointslice NAME` prints."""
    lines = [f"Name:\t{eps.name}", f"Namespace:\t{eps.namespace}"]
    lines += t.labels("Labels", eps.labels)
    lines += t.annotations("Annotations", eps.annotations)
    lines.append(f"AddressType:\t{eps.get('addressType') or ''}")
    ports = eps.get("ports") or []
    if not ports:
        lines.append("Ports: <unset>")
    else:
        lines += ["Ports:", "  Name\tPort\tProtocol", "  ----\t----\t--------"]
        lines += [f"  {p.get('name') or '<unset>'}\t{_unset(p.get('port'))}\t{p.get('protocol', '')}" for p in ports]
    endpoints = eps.get("endpoints") or []
    if not endpoints:
        lines.append("Endpoints: <none>")
    else:
        lines.append("Endpoints:")
        for endpoint in endpoints:
            lines += _slice_endpoint(endpoint)
    lines += t.events(t.events_about(store, eps), now)
    return t.render(lines)
