"""`kubectl describe node`: identity, taints, lease, conditions, addresses, resources, pods and their requests.

As describe.go's describeNode and describeNodeResource: the Non-terminated
Pods table (pods bound to the node, not Succeeded or Failed) with each pod's
requests and limits as a share of the node's allocatable, then the
Allocated resources totals (cpu, memory, ephemeral-storage, hugepages and
extended resources). Shares truncate as Go's int64(float64) does. netsim's
kubelets post no node Lease, so the Lease line is kubectl's failure line,
naming the Lease a real kubelet would renew.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from netsim.api.quantity import Quantity
from netsim.cli.describe import text as t

ROLE_PREFIX = "node-role.kubernetes.io/"
STANDARD = ("cpu", "memory", "ephemeral-storage")
ZERO = Quantity.parse("0")


def roles(node) -> list[str]:
    """findNodeRoles: node-role.kubernetes.io/<role> labels and kubernetes.io/role=<role>, sorted, unique."""
    found = {k[len(ROLE_PREFIX):] for k in node.labels if k.startswith(ROLE_PREFIX) and k[len(ROLE_PREFIX):]}
    if node.labels.get("kubernetes.io/role"):
        found.add(node.labels["kubernetes.io/role"])
    return sorted(found)


def _add(total: dict[str, Quantity], name: str, value: Quantity) -> None:
    """addResourceList: the first value is kept as written (DeepCopy), later ones are added."""
    total[name] = total[name] + value if name in total else value


def pod_resources(pod, section: str) -> dict[str, Quantity]:
    """resourcehelper.PodRequests / PodLimits: containers summed, an init container's larger value wins."""
    total: dict[str, Quantity] = {}
    for c in pod.spec.get("containers") or ():
        for name, value in ((c.get("resources") or {}).get(section) or {}).items():
            _add(total, name, Quantity.parse(value))
    for c in pod.spec.get("initContainers") or ():
        for name, value in ((c.get("resources") or {}).get(section) or {}).items():
            q = Quantity.parse(value)
            if name not in total or q > total[name]:
                total[name] = q
    for name, value in (pod.spec.get("overhead") or {}).items():
        if name in total:
            _add(total, name, Quantity.parse(value))
    return total


def _share(value: Quantity, of: Quantity, milli: bool) -> int:
    """`value` as a whole percentage of `of`, truncated as Go's int64(float64) does; 0 when `of` is zero."""
    whole = of.milli_value() if milli else of.value()
    if not whole:
        return 0
    return int((value.milli_value() if milli else value.value()) / whole * 100)


def describe_node(store, node, now: float) -> str:
    """The text `kubectl describe node NAME` prints."""
    spec, status = node.spec, node.status
    lines = [f"Name:\t{node.name}", f"Roles:\t{','.join(roles(node)) or '<none>'}"]
    lines += t.labels("Labels", node.labels)
    lines += t.annotations("Annotations", node.annotations)
    lines.append(f"CreationTimestamp:\t{t.rfc1123(node.creation_timestamp)}")
    lines += t.taints("Taints", list(spec.get("taints") or []))
    lines.append(f"Unschedulable:\t{'true' if spec.get('unschedulable') else 'false'}")
    lease = store.try_get("Lease", node.name, "kube-node-lease")
    if lease is None:
        lines.append(f'Lease:\tFailed to get lease: leases.coordination.k8s.io "{node.name}" not found')
    else:
        holder = lease.spec.get("holderIdentity")
        lines += ["Lease:", f"  HolderIdentity:\t{holder if holder is not None else '<unset>'}"]
        for label, key in (("AcquireTime", "acquireTime"), ("RenewTime", "renewTime")):
            lines.append(f"  {label}:\t{t.rfc1123(lease.spec[key]) if lease.spec.get(key) else '<unset>'}")
    conditions = status.get("conditions") or []
    if conditions:
        lines += ["Conditions:", "  Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage",
                  "  ----\t------\t-----------------\t------------------\t------\t-------"]
        lines += [f"  {c.get('type')} \t{c.get('status')} \t{t.rfc1123(c.get('lastHeartbeatTime'))} \t"
                  f"{t.rfc1123(c.get('lastTransitionTime'))} \t{c.get('reason', '')} \t{c.get('message', '')}"
                  for c in conditions]
    lines.append("Addresses:")
    lines += [f"  {a.get('type')}:\t{a.get('address')}" for a in status.get("addresses") or ()]
    for title in ("capacity", "allocatable"):
        values = status.get(title) or {}
        if values:
            lines.append(f"{title.capitalize()}:")
            lines += [f"  {k}:\t{Quantity.parse(v)}" for k, v in sorted(values.items())]
    info = status.get("nodeInfo") or {}
    lines.append("System Info:")
    for label, key in (("Machine ID", "machineID"), ("System UUID", "systemUUID"), ("Boot ID", "bootID"),
                       ("Kernel Version", "kernelVersion"), ("OS Image", "osImage"),
                       ("Operating System", "operatingSystem"), ("Architecture", "architecture"),
                       ("Container Runtime Version", "containerRuntimeVersion"),
                       ("Kubelet Version", "kubeletVersion")):
        lines.append(f"  {label}:\t{info.get(key, '')}")
    if spec.get("podCIDR"):
        lines.append(f"PodCIDR:\t{spec['podCIDR']}")
    if spec.get("podCIDRs"):
        lines.append(f"PodCIDRs:\t{','.join(spec['podCIDRs'])}")
    if spec.get("providerID"):
        lines.append(f"ProviderID:\t{spec['providerID']}")
    pods = [p for p in store.list("Pod") if p.spec.get("nodeName") == node.name
            and p.status.get("phase") not in ("Succeeded", "Failed")]
    lines += _node_resources(pods, status, now)
    lines += t.events(t.events_about(store, node), now)
    return t.render(lines)


def _node_resources(pods: list, status: Mapping, now: float) -> list[str]:
    """describeNodeResource: the pods table and the allocated totals."""
    allocatable = {k: Quantity.parse(v) for k, v in (status.get("allocatable") or status.get("capacity") or {}).items()}
    cpu, memory = allocatable.get("cpu", ZERO), allocatable.get("memory", ZERO)
    lines = [f"Non-terminated Pods:\t({len(pods)} in total)",
             "  Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge",
             "  ---------\t----\t\t------------\t----------\t---------------\t-------------\t---"]
    totals: tuple[dict[str, Quantity], dict[str, Quantity]] = ({}, {})
    for pod in pods:
        req, lim = pod_resources(pod, "requests"), pod_resources(pod, "limits")
        cr, cl = req.get("cpu", ZERO), lim.get("cpu", ZERO)
        mr, ml = req.get("memory", ZERO), lim.get("memory", ZERO)
        cells = [f"{cr} ({_share(cr, cpu, True)}%)", f"{cl} ({_share(cl, cpu, True)}%)",
                 f"{mr} ({_share(mr, memory, False)}%)", f"{ml} ({_share(ml, memory, False)}%)"]
        age = t.since(pod.creation_timestamp, now)
        lines.append(f"  {pod.namespace}\t{pod.name}\t\t" + "\t".join(cells) + f"\t{age}")
        for total, values in zip(totals, (req, lim)):
            for name, value in values.items():
                _add(total, name, value)
    reqs, limits = totals
    lines += ["Allocated resources:", "  (Total limits may be over 100 percent, i.e., overcommitted.)",
              "  Resource\tRequests\tLimits", "  --------\t--------\t------"]
    for name, milli in (("cpu", True), ("memory", False), ("ephemeral-storage", False)):
        of = allocatable.get(name, ZERO)
        r, lm = reqs.get(name, ZERO), limits.get(name, ZERO)
        lines.append(f"  {name}\t{r} ({_share(r, of, milli)}%)\t{lm} ({_share(lm, of, milli)}%)")
    for name in sorted(n for n in allocatable if n.startswith("hugepages-")):
        r, lm, of = reqs.get(name, ZERO), limits.get(name, ZERO), allocatable[name]
        lines.append(f"  {name}\t{r} ({_share(r, of, False)}%)\t{lm} ({_share(lm, of, False)}%)")
    for name in _extended(allocatable):
        lines.append(f"  {name}\t{reqs.get(name, ZERO)}\t{limits.get(name, ZERO)}")
    return lines


def _extended(allocatable: Iterable[str]) -> list[str]:
    """Resources neither standard (cpu, memory, ephemeral-storage, hugepages-*) nor `pods`, sorted."""
    return sorted(n for n in allocatable if n not in STANDARD and n != "pods" and not n.startswith("hugepages-"))
