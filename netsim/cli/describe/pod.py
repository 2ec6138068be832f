"""`kubectl describe pod`, and the container, volume and pod-template sections other describers share.

Sections and order follow describe.go's describePod: identity, Status
(Terminating with its age while a deletion is pending), IPs, Controlled By,
Init Containers, Containers (state, last terminated state, readiness,
restarts, resources, probes, environment, mounts), Conditions, Volumes, QoS
Class, Node-Selectors, Tolerations, topology spread constraints, Events.
DescribePodTemplate is the same container and volume text without statuses,
indented under `Pod Template:`.
"""

from __future__ import annotations

from collections.abc import Mapping

from netsim.api.errors import NotFound
from netsim.api.quantity import Quantity
from netsim.api.selector import LabelSelector
from netsim.cli.describe import text as t
from netsim.errors import NotImplementedFeature

# fieldpath.ExtractFieldPathAsString: the only paths kubectl resolves for an env var's value.
_META_PATHS = {"metadata.name": "name", "metadata.namespace": "namespace", "metadata.uid": "uid"}


def describe_pod(store, name: str, namespace: str, now: float) -> str:
    """The text `kubectl describe pod NAME -n NAMESPACE` prints."""
    pod = store.try_get("Pod", name, namespace)
    if pod is None:
        raise NotFound(f'pods "{name}" not found')
    spec, status = pod.spec, pod.status
    lines = [f"Name:\t{pod.name}", f"Namespace:\t{pod.namespace}"]
    if spec.get("priority") is not None:
        lines.append(f"Priority:\t{spec['priority']}")
    if spec.get("priorityClassName"):
        lines.append(f"Priority Class Name:\t{spec['priorityClassName']}")
    if spec.get("runtimeClassName"):
        lines.append(f"Runtime Class Name:\t{spec['runtimeClassName']}")
    if spec.get("serviceAccountName"):
        lines.append(f"Service Account:\t{spec['serviceAccountName']}")
    node = spec.get("nodeName")
    lines.append(f"Node:\t{node}/{status.get('hostIP', '')}" if node else "Node:\t<none>")
    if status.get("startTime"):
        lines.append(f"Start Time:\t{t.rfc1123(status['startTime'])}")
    lines += t.labels("Labels", pod.labels)
    lines += t.annotations("Annotations", pod.annotations)
    if pod.deletion_timestamp and status.get("phase") not in ("Failed", "Succeeded"):
        lines.append(f"Status:\tTerminating (lasts {t.since(pod.deletion_timestamp, now)})")
        lines.append(f"Termination Grace Period:\t{pod.metadata.get('deletionGracePeriodSeconds', 0)}s")
    else:
        lines.append(f"Status:\t{status.get('phase', '')}")
    if status.get("reason"):
        lines.append(f"Reason:\t{status['reason']}")
    if status.get("message"):
        lines.append(f"Message:\t{status['message']}")
    lines.append(f"IP:\t{status.get('podIP', '')}")
    ips = status.get("podIPs") or []
    lines += ["IPs:"] + [f"  IP:\t{ip['ip']}" for ip in ips] if ips else ["IPs:\t<none>"]
    ref = pod.controller_ref
    if ref is not None:
        lines.append(f"Controlled By:\t{ref.kind}/{ref.name}")
    if status.get("nominatedNodeName"):
        lines.append(f"NominatedNodeName:\t{status['nominatedNodeName']}")
    if spec.get("initContainers"):
        lines += containers("Init Containers", spec["initContainers"], status.get("initContainerStatuses") or [],
                            pod)
    lines += containers("Containers", spec.get("containers") or [], status.get("containerStatuses") or [], pod)
    conditions = status.get("conditions") or []
    if spec.get("readinessGates"):
        lines += ["Readiness Gates:", "  Type\tStatus"]
        for gate in spec["readinessGates"]:
            found = next((c["status"] for c in conditions if c.get("type") == gate.get("conditionType")), "<none>")
            lines.append(f"  {gate.get('conditionType')} \t{found} ")
    if conditions:
        lines += ["Conditions:", "  Type\tStatus"]
        lines += [f"  {c['type']} \t{c['status']} " for c in conditions]
    lines += volumes(spec.get("volumes") or [])
    lines.append(f"QoS Class:\t{status.get('qosClass', '')}")
    lines += t.labels("Node-Selectors", spec.get("nodeSelector"))
    lines += t.tolerations("Tolerations", list(spec.get("tolerations") or []))
    lines += spread_constraints(spec.get("topologySpreadConstraints") or [])
    lines += t.events(t.events_about(store, pod, kind=False), now)
    return t.render(lines)


def pod_template(template: Mapping | None) -> list[str]:
    """DescribePodTemplate: the template's labels, annotations, containers, volumes, scheduling fields."""
    lines = ["Pod Template:"]
    if template is None:
        return lines + ["  <unset>"]
    meta = template.get("metadata") or {}
    spec = template.get("spec") or {}
    lines += t.labels("  Labels", meta.get("labels"))
    if meta.get("annotations"):
        lines += t.annotations("  Annotations", meta["annotations"])
    if spec.get("serviceAccountName"):
        lines.append(f"  Service Account:\t{spec['serviceAccountName']}")
    if spec.get("initContainers"):
        lines += containers("Init Containers", spec["initContainers"], None, None, space="  ")
    lines += containers("Containers", spec.get("containers") or [], None, None, space="  ")
    lines += volumes(spec.get("volumes") or [], space="  ")
    lines += spread_constraints(spec.get("topologySpreadConstraints") or [], space="  ")
    if spec.get("priorityClassName"):
        lines.append(f"  Priority Class Name:\t{spec['priorityClassName']}")
    lines += t.labels("  Node-Selectors", spec.get("nodeSelector"))
    lines += t.tolerations("  Tolerations", list(spec.get("tolerations") or []))
    return lines


def containers(title: str, specs: list[Mapping], statuses: list[Mapping] | None, pod, space: str = "") -> list[str]:
    """describeContainers: one block per container; status lines only where a status exists (not in templates)."""
    by_name = {s.get("name"): s for s in statuses or ()}
    lines = [f"{space}{title}:" + ("" if specs else " <none>")]
    name_indent = " " if space else ""
    for c in specs:
        s = by_name.get(c.get("name")) if statuses is not None else None
        lines.append(f"  {name_indent}{c.get('name')}:")
        if s is not None:
            lines.append(f"    Container ID:\t{s.get('containerID', '')}")
        lines.append(f"    Image:\t{c.get('image', '')}")
        if s is not None:
            lines.append(f"    Image ID:\t{s.get('imageID', '')}")
        ports = c.get("ports") or []
        port_text = ", ".join(_port(p, "containerPort") for p in ports)
        host_text = ", ".join(_port(p, "hostPort") for p in ports)
        lines.append(f"    Ports:\t{port_text}" if "," in port_text else f"    Port:\t{t.or_none(port_text)}")
        lines.append(f"    Host Ports:\t{host_text}" if "," in host_text else f"    Host Port:\t{t.or_none(host_text)}")
        for key, label in (("command", "Command"), ("args", "Args")):
            if c.get(key):
                lines.append(f"    {label}:")
                lines += [f"      {part}" for word in c[key] for part in str(word).split("\n")]
        if s is not None:
            lines += _state("State", s.get("state") or {})
            if (s.get("lastState") or {}).get("terminated"):
                lines += _state("Last State", s["lastState"])
            lines.append(f"    Ready:\t{'True' if s.get('ready') else 'False'}")
            lines.append(f"    Restart Count:\t{s.get('restartCount', 0)}")
        resources = c.get("resources") or {}
        for section in ("limits", "requests"):
            values = resources.get(section) or {}
            if values:
                lines.append(f"    {section.capitalize()}:")
                lines += [f"      {k}:\t{Quantity.parse(v)}" for k, v in sorted(values.items())]
        for key, label in (("livenessProbe", "Liveness"), ("readinessProbe", "Readiness"), ("startupProbe", "Startup")):
            if c.get(key):
                lines.append(f"    {label}:\t{probe(c[key])}")
        if c.get("envFrom"):
            lines.append("    Environment Variables from:")
            for source in c["envFrom"]:
                kind, ref = ("ConfigMap", source["configMapRef"]) if source.get("configMapRef") else \
                    ("Secret", source.get("secretRef") or {})
                optional = "true" if ref.get("optional") else "false"
                prefix = f" with prefix '{source['prefix']}'" if source.get("prefix") else ""
                lines.append(f"      {ref.get('name', '')}\t{kind}{prefix}\tOptional: {optional}")
        lines += _environment(c, pod)
        mounts = sorted(c.get("volumeMounts") or [], key=lambda m: m.get("mountPath", ""))
        lines.append("    Mounts:" + ("" if mounts else "\t<none>"))
        for m in mounts:
            flags = ["ro" if m.get("readOnly") else "rw"] + ([f'path="{m["subPath"]}"'] if m.get("subPath") else [])
            lines.append(f"      {m.get('mountPath')} from {m.get('name')} ({','.join(flags)})")
        devices = sorted(c.get("volumeDevices") or [], key=lambda d: d.get("devicePath", ""))
        if devices:
            lines.append("    Devices:")
            lines += [f"      {d.get('devicePath')} from {d.get('name')}" for d in devices]
    return lines


def _port(port: Mapping, field: str) -> str:
    text = f"{port.get(field, 0)}/{port.get('protocol', 'TCP')}"
    return f"{text} ({port['name']})" if port.get("name") else text


def _state(title: str, state: Mapping) -> list[str]:
    """describeStatus."""
    if "running" in state:
        return [f"    {title}:\tRunning", f"      Started:\t{t.rfc1123(state['running'].get('startedAt'))}"]
    if "waiting" in state:
        reason = state["waiting"].get("reason")
        return [f"    {title}:\tWaiting"] + ([f"      Reason:\t{reason}"] if reason else [])
    if "terminated" in state:
        term = state["terminated"]
        lines = [f"    {title}:\tTerminated"]
        if term.get("reason"):
            lines.append(f"      Reason:\t{term['reason']}")
        if term.get("message"):
            lines.append(f"      Message:\t{term['message']}")
        lines.append(f"      Exit Code:\t{term.get('exitCode', 0)}")
        if term.get("signal"):
            lines.append(f"      Signal:\t{term['signal']}")
        return lines + [f"      Started:\t{t.rfc1123(term.get('startedAt'))}",
                        f"      Finished:\t{t.rfc1123(term.get('finishedAt'))}"]
    return [f"    {title}:\tWaiting"]


def _environment(c: Mapping, pod) -> list[str]:
    """describeContainerEnvVars: plain values (multi-line ones continue under a tab) and their sources."""
    env = c.get("env") or []
    lines = ["    Environment:" + ("" if env else "\t<none>")]
    for e in env:
        source = e.get("valueFrom")
        if source is None:
            parts = str(e.get("value", "")).split("\n")
            lines.append(f"      {e['name']}:\t{parts[0]}")
            lines += [f"      \t{part}" for part in parts[1:]]
        elif source.get("fieldRef"):
            ref = source["fieldRef"]
            value = _field_value(pod, ref.get("fieldPath", "")) if pod is not None else ""
            lines.append(f"      {e['name']}:\t{value} ({ref.get('apiVersion', 'v1')}:{ref.get('fieldPath', '')})")
        elif source.get("secretKeyRef") or source.get("configMapKeyRef"):
            secret = bool(source.get("secretKeyRef"))
            ref = source["secretKeyRef"] if secret else source["configMapKeyRef"]
            where = f"in secret '{ref.get('name', '')}'" if secret else f"of config map '{ref.get('name', '')}'"
            optional = "true" if ref.get("optional") else "false"
            lines.append(f"      {e['name']}:\t<set to the key '{ref.get('key', '')}' {where}>\tOptional: {optional}")
        else:
            raise NotImplementedFeature(f"describe: env {e['name']}: valueFrom.resourceFieldRef is not emulated")
    return lines


def _field_value(pod, path: str) -> str:
    """fieldpath.ExtractFieldPathAsString on the pod: metadata fields only; '' for any other path, as kubectl."""
    if path in _META_PATHS:
        return str(getattr(pod, _META_PATHS[path]))
    for prefix, mapping in (("metadata.labels", pod.labels), ("metadata.annotations", pod.annotations)):
        if path == prefix:
            return "\n".join(f'{k}="{v}"' for k, v in sorted(mapping.items()))
        if path.startswith(prefix + "['") and path.endswith("']"):
            return str(mapping.get(path[len(prefix) + 2:-2], ""))
    return ""


def probe(p: Mapping) -> str:
    """DescribeProbe: `http-get http://:80/ delay=5s timeout=1s period=10s #success=1 #failure=3`."""
    attrs = (f"delay={p.get('initialDelaySeconds', 0)}s timeout={p.get('timeoutSeconds', 1)}s "
             f"period={p.get('periodSeconds', 10)}s #success={p.get('successThreshold', 1)} "
             f"#failure={p.get('failureThreshold', 3)}")
    if p.get("exec") is not None:
        return f"exec {t.go_list(p['exec'].get('command') or [])} {attrs}"
    if p.get("httpGet") is not None:
        h = p["httpGet"]
        host, port = h.get("host", ""), str(h.get("port", ""))
        hostport = (f"[{host}]:{port}" if ":" in host else f"{host}:{port}") if port else host
        return f"http-get {h.get('scheme', 'HTTP').lower()}://{hostport}{h.get('path', '')} {attrs}"
    if p.get("tcpSocket") is not None:
        return f"tcp-socket {p['tcpSocket'].get('host', '')}:{p['tcpSocket'].get('port', '')} {attrs}"
    if p.get("grpc") is not None:
        return f"grpc <pod>:{p['grpc'].get('port')} {p['grpc'].get('service', '')} {attrs}"
    return f"unknown {attrs}"


def spread_constraints(items: list[Mapping], space: str = "") -> list[str]:
    """describeTopologySpreadConstraints: one line per constraint, sorted by topology key."""
    lines = []
    for i, c in enumerate(sorted(items, key=lambda c: c.get("topologyKey", ""))):
        head = f"{space}Topology Spread Constraints:\t" if i == 0 else f"{space}\t"
        text = f"{c.get('topologyKey')}:{c.get('whenUnsatisfiable')} when max skew {c.get('maxSkew')} is exceeded"
        if c.get("labelSelector") is not None:
            text += f" for selector {selector_text(c['labelSelector'])}"
        lines.append(head + text)
    return lines


def selector_text(selector: Mapping | None) -> str:
    """metav1.FormatLabelSelector: the selector string, `<none>` when it is empty."""
    return str(LabelSelector.from_dict(dict(selector or {}))) or "<none>"


def volumes(items: list[Mapping], space: str = "") -> list[str]:
    """describeVolumes: each volume's name and its source's lines (the sources netsim's pods use)."""
    if not items:
        return [f"{space}Volumes:\t<none>"]
    lines = [f"{space}Volumes:"]
    name_indent = " " if space else ""
    for v in items:
        lines.append(f"  {name_indent}{v.get('name')}:")
        lines += _volume_source(v)
    return lines


def _bool(value) -> str:
    return "true" if value else "false"


def _volume_source(v: Mapping) -> list[str]:
    if v.get("hostPath") is not None:
        h = v["hostPath"]
        return ["    Type:\tHostPath (bare host directory volume)", f"    Path:\t{h.get('path', '')}",
                f"    HostPathType:\t{h.get('type') or '<none>'}"]
    if v.get("emptyDir") is not None:
        e = v["emptyDir"]
        return ["    Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)",
                f"    Medium:\t{e.get('medium', '')}", f"    SizeLimit:\t{e.get('sizeLimit') or '<unset>'}"]
    if v.get("secret") is not None:
        s = v["secret"]
        return ["    Type:\tSecret (a volume populated by a Secret)", f"    SecretName:\t{s.get('secretName', '')}",
                f"    Optional:\t{_bool(s.get('optional'))}"]
    if v.get("configMap") is not None:
        c = v["configMap"]
        return ["    Type:\tConfigMap (a volume populated by a ConfigMap)", f"    Name:\t{c.get('name', '')}",
                f"    Optional:\t{_bool(c.get('optional'))}"]
    if v.get("persistentVolumeClaim") is not None:
        c = v["persistentVolumeClaim"]
        return ["    Type:\tPersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)",
                f"    ClaimName:\t{c.get('claimName', '')}", f"    ReadOnly:\t{_bool(c.get('readOnly'))}"]
    if v.get("projected") is not None:
        lines = ["    Type:\tProjected (a volume that contains injected data from multiple sources)"]
        for source in v["projected"].get("sources") or ():
            if source.get("secret") is not None:
                lines += [f"    SecretName:\t{source['secret'].get('name', '')}",
                          f"    Optional:\t{_bool(source['secret'].get('optional'))}"]
            elif source.get("downwardAPI") is not None:
                lines.append("    DownwardAPI:\ttrue")
            elif source.get("configMap") is not None:
                lines += [f"    ConfigMapName:\t{source['configMap'].get('name', '')}",
                          f"    Optional:\t{_bool(source['configMap'].get('optional'))}"]
            elif source.get("serviceAccountToken") is not None:
                lines.append(f"    TokenExpirationSeconds:\t{source['serviceAccountToken'].get('expirationSeconds')}")
        return lines
    if v.get("downwardAPI") is not None:
        lines = ["    Type:\tDownwardAPI (a volume populated by information about the pod)", "    Items:"]
        for item in v["downwardAPI"].get("items") or ():
            if item.get("fieldRef"):
                lines.append(f"      {item['fieldRef'].get('fieldPath')} -> {item.get('path')}")
            if item.get("resourceFieldRef"):
                lines.append(f"      {item['resourceFieldRef'].get('resource')} -> {item.get('path')}")
        return lines
    if v.get("nfs") is not None:
        n = v["nfs"]
        return ["    Type:\tNFS (an NFS mount that lasts the lifetime of a pod)", f"    Server:\t{n.get('server', '')}",
                f"    Path:\t{n.get('path', '')}", f"    ReadOnly:\t{_bool(n.get('readOnly'))}"]
    if v.get("csi") is not None:
        c = v["csi"]
        return (["    Type:\tCSI (a Container Storage Interface (CSI) volume source)",
                 f"    Driver:\t{c.get('driver', '')}", f"    FSType:\t{c.get('fsType', '')}",
                 f"    ReadOnly:\t{_bool(c.get('readOnly'))}"]
                + csi_attributes(c.get("volumeAttributes")))
    kinds = sorted(k for k in v if k != "name")
    raise NotImplementedFeature(f"describe: volume {v.get('name')}: the {', '.join(kinds) or 'empty'} volume "
                                f"source is not emulated")


def csi_attributes(attributes: Mapping | None) -> list[str]:
    """printCSIPersistentVolumeAttributesMultiline at level 2."""
    keys = sorted(attributes or {})
    if not keys:
        return ["    VolumeAttributes:\t<none>"]
    out = []
    for i, key in enumerate(keys):
        line = f"{key}={attributes[key]}"  # type: ignore[index]
        line = line[:t.MAX_ANNOTATION_LEN] + "..." if len(line) > t.MAX_ANNOTATION_LEN else line
        out.append(f"    VolumeAttributes:\t    {line}" if i == 0 else f"        \t    {line}")
    return out
