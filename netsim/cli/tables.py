"""`kubectl get` tables: the columns kubectl's printers show per kind, laid out as kubectl lays them out.

Columns follow kubernetes/pkg/printers/internalversion/printers.go; layout
follows kubectl's tab writer (cells padded by 3 spaces, at least 6 wide, the
last column unpadded); ages follow apimachinery's duration.HumanDuration.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from netsim.api.objects import Resource
from netsim.sim.clock import parse_rfc3339

MIN_WIDTH = 6
PADDING = 3


def human_duration(seconds: float) -> str:
    """A duration as kubectl prints ages (duration.HumanDuration)."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = hours // 24 % 365
        return f"{hours // 24 // 365}y{days}d" if days else f"{hours // 24 // 365}y"
    return f"{hours // 24 // 365}y"


def layout(rows: Sequence[Sequence[str]]) -> str:
    """Rows of cells as kubectl's tab writer prints them."""
    if not rows:
        return ""
    columns = max(len(r) for r in rows)
    widths = [max(MIN_WIDTH, max(len(r[i]) for r in rows if i < len(r)) + PADDING) for i in range(columns - 1)]
    lines = []
    for row in rows:
        cells = [cell.ljust(widths[i]) if i < len(row) - 1 else cell for i, cell in enumerate(row)]
        lines.append("".join(cells))
    return "\n".join(lines) + "\n"


Column = tuple[str, Callable[[Resource, float], str]]


def _age(obj: Resource, now: float) -> str:
    stamp = obj.creation_timestamp
    return human_duration(now - parse_rfc3339(stamp)) if stamp else "<unknown>"


def pod_summary(obj: Resource, now: float) -> tuple[str, str, str]:
    """(READY, STATUS, RESTARTS) of a pod, as kubectl's printPod works them out."""
    status = obj.status
    spec_inits = obj.spec.get("initContainers") or []
    total = len(obj.spec.get("containers") or [])
    reason = status.get("reason") or status.get("phase", "Pending")
    restarts, ready, last_restart = 0, 0, None

    def note_restart(c: dict) -> None:
        nonlocal last_restart
        finished = ((c.get("lastState") or {}).get("terminated") or {}).get("finishedAt")
        if finished and (last_restart is None or finished > last_restart):
            last_restart = finished

    initializing = False
    for i, c in enumerate(status.get("initContainerStatuses") or []):
        restarts += int(c.get("restartCount", 0))
        note_restart(c)
        state = c.get("state") or {}
        term, waiting = state.get("terminated"), state.get("waiting")
        if term is not None and term.get("exitCode") == 0:
            continue
        if term is not None:
            reason = ("Init:" + term["reason"] if term.get("reason")
                      else f"Init:Signal:{term['signal']}" if term.get("signal") else f"Init:ExitCode:{term.get('exitCode')}")
        elif waiting and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{len(spec_inits)}"
        initializing = True
        break
    initialized = any(c.get("type") == "Initialized" and c.get("status") == "True" for c in status.get("conditions") or [])
    if not initializing or initialized:
        restarts = 0
        has_running = False
        for c in reversed(status.get("containerStatuses") or []):
            restarts += int(c.get("restartCount", 0))
            note_restart(c)
            state = c.get("state") or {}
            waiting, term = state.get("waiting"), state.get("terminated")
            if waiting and waiting.get("reason"):
                reason = waiting["reason"]
            elif term is not None and term.get("reason"):
                reason = term["reason"]
            elif term is not None:
                reason = f"Signal:{term['signal']}" if term.get("signal") else f"ExitCode:{term.get('exitCode')}"
            elif c.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            ready_cond = any(c.get("type") == "Ready" and c.get("status") == "True"
                             for c in status.get("conditions") or [])
            reason = "Running" if ready_cond else "NotReady"
    if obj.deletion_timestamp and status.get("reason") == "NodeLost":
        reason = "Unknown"
    elif obj.deletion_timestamp and status.get("phase") not in ("Succeeded", "Failed"):
        reason = "Terminating"
    shown = str(restarts)
    if restarts and last_restart:
        shown += f" ({human_duration(now - parse_rfc3339(last_restart))} ago)"
    return f"{ready}/{total}", reason, shown


def _pod_ready(obj: Resource, now: float) -> str:
    return pod_summary(obj, now)[0]


def _pod_status(obj: Resource, now: float) -> str:
    return pod_summary(obj, now)[1]


def _pod_restarts(obj: Resource, now: float) -> str:
    return pod_summary(obj, now)[2]


def _node_status(obj: Resource, now: float) -> str:
    status = "Ready" if getattr(obj, "ready", False) else "NotReady"
    return status + (",SchedulingDisabled" if obj.spec.get("unschedulable") else "")


def _node_roles(obj: Resource, now: float) -> str:
    prefix = "node-role.kubernetes.io/"
    roles = sorted(k[len(prefix):] for k in obj.labels if k.startswith(prefix) and k[len(prefix):])
    roles += [obj.labels["kubernetes.io/role"]] if "kubernetes.io/role" in obj.labels else []
    return ",".join(roles) or "<none>"


def _svc_external(obj: Resource, now: float) -> str:
    kind = obj.spec.get("type", "ClusterIP")
    external = list(obj.spec.get("externalIPs") or [])
    if kind == "ExternalName":
        return obj.spec.get("externalName", "")
    if kind == "LoadBalancer":
        ingress = [i.get("ip") or i.get("hostname") for i in (obj.status.get("loadBalancer") or {}).get("ingress") or []]
        return ",".join(ingress + external) or "<pending>"
    return ",".join(external) or "<none>"


def _svc_ports(obj: Resource, now: float) -> str:
    parts = []
    for p in obj.spec.get("ports") or []:
        node_port = f":{p['nodePort']}" if p.get("nodePort") else ""
        parts.append(f"{p['port']}{node_port}/{p.get('protocol', 'TCP')}")
    return ",".join(parts) or "<none>"


def _selector_map(selector) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted((selector or {}).items())) or "<none>"


def _label_selector(obj: Resource, now: float) -> str:
    from netsim.api.selector import LabelSelector

    return str(LabelSelector.from_dict(dict(obj.spec.get("selector") or {}))) or "<none>"


def _containers(obj: Resource, now: float) -> str:
    return ",".join(c.get("name", "") for c in obj.get("spec.template.spec.containers") or [])


def _images(obj: Resource, now: float) -> str:
    return ",".join(c.get("image", "") for c in obj.get("spec.template.spec.containers") or [])


def _slice_ports(obj: Resource, now: float) -> str:
    ports = [str(p["port"]) for p in obj.get("ports") or [] if p.get("port") is not None]
    return ",".join(ports) or "<unset>"


def _slice_endpoints(obj: Resource, now: float) -> str:
    addresses = [a for e in obj.get("endpoints") or [] for a in e.get("addresses") or []]
    if not addresses:
        return "<unset>"
    shown = ",".join(addresses[:3])
    return shown + (f" + {len(addresses) - 3} more..." if len(addresses) > 3 else "")


def _field(path: str, default: str = "0") -> Callable[[Resource, float], str]:
    def get(obj: Resource, now: float) -> str:
        value = obj.get(path)
        return default if value is None or value == "" else str(value)
    return get


NAME: Column = ("NAME", lambda o, now: o.name)
AGE: Column = ("AGE", _age)


def _job_status(obj: Resource, now: float) -> str:
    """printJob's STATUS: Complete, Failed, Terminating, Suspended, FailureTarget or Running."""
    held = {c.get("type") for c in obj.status.get("conditions") or [] if c.get("status") == "True"}
    if "Complete" in held:
        return "Complete"
    if "Failed" in held:
        return "Failed"
    if obj.deletion_timestamp:
        return "Terminating"
    return "Suspended" if "Suspended" in held else "FailureTarget" if "FailureTarget" in held else "Running"


def _job_completions(obj: Resource, now: float) -> str:
    succeeded = obj.status.get("succeeded", 0)
    if obj.spec.get("completions") is not None:
        return f"{succeeded}/{obj.spec['completions']}"
    parallelism = int(obj.spec.get("parallelism", 1))
    return f"{succeeded}/1 of {parallelism}" if parallelism > 1 else f"{succeeded}/1"


def _job_duration(obj: Resource, now: float) -> str:
    start, end = obj.status.get("startTime"), obj.status.get("completionTime")
    if start and end:
        return human_duration(parse_rfc3339(end) - parse_rfc3339(start))
    return human_duration(now - parse_rfc3339(start)) if start else ""


def _since(path: str) -> Callable[[Resource, float], str]:
    def get(obj: Resource, now: float) -> str:
        stamp = obj.get(path)
        return human_duration(now - parse_rfc3339(stamp)) if stamp else "<none>"
    return get


def _node_selector(obj: Resource, now: float) -> str:
    return _selector_map(obj.get("spec.template.spec.nodeSelector"))


def _job_containers(obj: Resource, now: float) -> str:
    return ",".join(c.get("name", "") for c in obj.get("spec.jobTemplate.spec.template.spec.containers") or [])


def _job_images(obj: Resource, now: float) -> str:
    return ",".join(c.get("image", "") for c in obj.get("spec.jobTemplate.spec.template.spec.containers") or [])

def _access_modes(path: str) -> Callable[[Resource, float], str]:
    """Access modes abbreviated and joined as kubectl's GetAccessModesAsString (RWO, ROX, RWX, RWOP)."""
    order = (("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"), ("ReadWriteOncePod", "RWOP"))

    def get(obj: Resource, now: float) -> str:
        modes = set(obj.get(path) or ())
        return ",".join(short for mode, short in order if mode in modes)
    return get


def _pv_claim(obj: Resource, now: float) -> str:
    ref = obj.spec.get("claimRef") or {}
    return f"{ref.get('namespace', '')}/{ref.get('name', '')}" if ref else ""


def _pvc_capacity(obj: Resource, now: float) -> str:
    return str((obj.status.get("capacity") or {}).get("storage", "")) if obj.spec.get("volumeName") else ""


def _pvc_status(obj: Resource, now: float) -> str:
    return "Terminating" if obj.deletion_timestamp else str(obj.status.get("phase", ""))


def _sc_name(obj: Resource, now: float) -> str:
    return f"{obj.name} (default)" if obj.annotations.get("storageclass.kubernetes.io/is-default-class") == "true" \
        else obj.name


# kind → (columns, extra columns for -o wide)
TABLES: dict[str, tuple[tuple[Column, ...], tuple[Column, ...]]] = {
    "Pod": (
        (NAME, ("READY", _pod_ready), ("STATUS", _pod_status), ("RESTARTS", _pod_restarts), AGE),
        (("IP", _field("status.podIP", "<none>")), ("NODE", _field("spec.nodeName", "<none>")),
         ("NOMINATED NODE", _field("status.nominatedNodeName", "<none>")),
         ("READINESS GATES", lambda o, now: "<none>")),
    ),
    "Node": (
        (NAME, ("STATUS", _node_status), ("ROLES", _node_roles), AGE,
         ("VERSION", _field("status.nodeInfo.kubeletVersion", ""))),
        (("INTERNAL-IP", lambda o, now: getattr(o, "internal_ip", None) or "<none>"),
         ("EXTERNAL-IP", lambda o, now: next((a["address"] for a in o.status.get("addresses") or []
                                               if a.get("type") == "ExternalIP"), "<none>")),
         ("OS-IMAGE", _field("status.nodeInfo.osImage", "<unknown>")),
         ("KERNEL-VERSION", _field("status.nodeInfo.kernelVersion", "<unknown>")),
         ("CONTAINER-RUNTIME", _field("status.nodeInfo.containerRuntimeVersion", "<unknown>"))),
    ),
    "Service": (
        (NAME, ("TYPE", _field("spec.type", "ClusterIP")), ("CLUSTER-IP", _field("spec.clusterIP", "<none>")),
         ("EXTERNAL-IP", _svc_external), ("PORT(S)", _svc_ports), AGE),
        (("SELECTOR", lambda o, now: _selector_map(o.spec.get("selector"))),),
    ),
    "Deployment": (
        (NAME, ("READY", lambda o, now: f"{o.status.get('readyReplicas', 0)}/{o.spec.get('replicas', 1)}"),
         ("UP-TO-DATE", _field("status.updatedReplicas")), ("AVAILABLE", _field("status.availableReplicas")), AGE),
        (("CONTAINERS", _containers), ("IMAGES", _images), ("SELECTOR", _label_selector)),
    ),
    "ReplicaSet": (
        (NAME, ("DESIRED", _field("spec.replicas")), ("CURRENT", _field("status.replicas")),
         ("READY", _field("status.readyReplicas")), AGE),
        (("CONTAINERS", _containers), ("IMAGES", _images), ("SELECTOR", _label_selector)),
    ),
    "StatefulSet": (
        (NAME, ("READY", lambda o, now: f"{o.status.get('readyReplicas', 0)}/{o.spec.get('replicas', 1)}"), AGE),
        (("CONTAINERS", _containers), ("IMAGES", _images)),
    ),
    "DaemonSet": (
        (NAME, ("DESIRED", _field("status.desiredNumberScheduled")),
         ("CURRENT", _field("status.currentNumberScheduled")), ("READY", _field("status.numberReady")),
         ("UP-TO-DATE", _field("status.updatedNumberScheduled")), ("AVAILABLE", _field("status.numberAvailable")),
         ("NODE SELECTOR", _node_selector), AGE),
        (("CONTAINERS", _containers), ("IMAGES", _images), ("SELECTOR", _label_selector)),
    ),
    "Job": (
        (NAME, ("STATUS", _job_status), ("COMPLETIONS", _job_completions), ("DURATION", _job_duration), AGE),
        (("CONTAINERS", _containers), ("IMAGES", _images), ("SELECTOR", _label_selector)),
    ),
    "CronJob": (
        (NAME, ("SCHEDULE", _field("spec.schedule", "")), ("TIMEZONE", _field("spec.timeZone", "<none>")),
         ("SUSPEND", lambda o, now: "True" if o.spec.get("suspend") else "False"),
         ("ACTIVE", lambda o, now: str(len(o.status.get("active") or []))),
         ("LAST SCHEDULE", _since("status.lastScheduleTime")), AGE),
        (("CONTAINERS", _job_containers), ("IMAGES", _job_images),
         ("SELECTOR", lambda o, now: "<none>")),
    ),
    "EndpointSlice": (
        (NAME, ("ADDRESSTYPE", _field("addressType", "")), ("PORTS", _slice_ports),
         ("ENDPOINTS", _slice_endpoints), AGE),
        (),
    ),
    "Namespace": ((NAME, ("STATUS", _field("status.phase", "Active")), AGE), ()),
    "PersistentVolume": (
        (NAME, ("CAPACITY", lambda o, now: str((o.spec.get("capacity") or {}).get("storage", ""))),
         ("ACCESS MODES", _access_modes("spec.accessModes")),
         ("RECLAIM POLICY", _field("spec.persistentVolumeReclaimPolicy", "")),
         ("STATUS", lambda o, now: "Terminating" if o.deletion_timestamp else str(o.status.get("phase", ""))),
         ("CLAIM", _pv_claim), ("STORAGECLASS", _field("spec.storageClassName", "")),
         ("VOLUMEATTRIBUTESCLASS", _field("spec.volumeAttributesClassName", "<unset>")),
         ("REASON", _field("status.reason", "")), AGE),
        (("VOLUMEMODE", _field("spec.volumeMode", "<unset>")),),
    ),
    "PersistentVolumeClaim": (
        (NAME, ("STATUS", _pvc_status), ("VOLUME", _field("spec.volumeName", "")), ("CAPACITY", _pvc_capacity),
         ("ACCESS MODES", lambda o, now: _access_modes("status.accessModes")(o, now) if o.spec.get("volumeName")
          else ""),
         ("STORAGECLASS", _field("spec.storageClassName", "")),   # GetPersistentVolumeClaimClass: "" when unset
         ("VOLUMEATTRIBUTESCLASS", _field("spec.volumeAttributesClassName", "<unset>")), AGE),
        (("VOLUMEMODE", _field("spec.volumeMode", "<unset>")),),
    ),
    "StorageClass": (
        (("NAME", _sc_name), ("PROVISIONER", _field("provisioner", "")),
         ("RECLAIMPOLICY", _field("reclaimPolicy", "Delete")),
         ("VOLUMEBINDINGMODE", _field("volumeBindingMode", "Immediate")),
         ("ALLOWVOLUMEEXPANSION", lambda o, now: "true" if o.get("allowVolumeExpansion") else "false"), AGE),
        (),
    ),
    "VolumeAttachment": (   # printVolumeAttachment
        (NAME, ("ATTACHER", _field("spec.attacher", "")), ("PV", _field("spec.source.persistentVolumeName", "")),
         ("NODE", _field("spec.nodeName", "")),
         ("ATTACHED", lambda o, now: "true" if o.status.get("attached") else "false"), AGE),
        (),
    ),
    "PodDisruptionBudget": (
        (NAME, ("MIN AVAILABLE", _field("spec.minAvailable", "N/A")),
         ("MAX UNAVAILABLE", _field("spec.maxUnavailable", "N/A")),
         ("ALLOWED DISRUPTIONS", _field("status.disruptionsAllowed")), AGE),
        (),
    ),
    "ConfigMap": ((NAME, ("DATA", lambda o, now: str(len(o.get("data") or {}) + len(o.get("binaryData") or {}))),
                   AGE), ()),
    "Secret": ((NAME, ("TYPE", _field("type", "Opaque")),
                ("DATA", lambda o, now: str(len(o.get("data") or {}))), AGE), ()),
    "ServiceAccount": ((NAME, ("SECRETS", lambda o, now: str(len(o.get("secrets") or []))), AGE), ()),
    "Event": (
        (("LAST SEEN", lambda o, now: human_duration(now - parse_rfc3339(o.get("lastTimestamp")))
          if o.get("lastTimestamp") else "<unknown>"),
         ("TYPE", _field("type", "")), ("REASON", _field("reason", "")),
         ("OBJECT", lambda o, now: f"{o.get('involvedObject.kind', '').lower()}/{o.get('involvedObject.name', '')}"),
         ("MESSAGE", _field("message", ""))),
        (),
    ),
}


def table(kind: str, objects: Sequence[Resource], now: float, *, wide: bool = False,
          all_namespaces: bool = False, name_prefix: str = "") -> str:
    """The `kubectl get` table for objects of one kind ("No resources found" is the caller's)."""
    columns, extra = TABLES.get(kind, ((NAME, AGE), ()))
    if wide:
        columns = columns + extra
    header = (["NAMESPACE"] if all_namespaces else []) + [name for name, _ in columns]
    rows = [header]
    for obj in objects:
        row = [obj.namespace] if all_namespaces else []
        row += [get(obj, now) for _, get in columns]
        row[1 if all_namespaces else 0] = name_prefix + row[1 if all_namespaces else 0]
        rows.append(row)
    return layout(rows)
