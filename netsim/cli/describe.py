"""`netsim describe pod NAME`: kubectl describe's text for a pod, laid out as kubectl's describe.go lays it out.

kubectl writes describe output through text/tabwriter (minwidth 0, tabwidth
8, padding 2, padding character ' ', no flags); `tabwrite` below is that
writer's column-block algorithm, so fields line up block by block exactly
as kubectl's do (a line without a tab ends every block). The sections and
their order follow DescribePod / describePod: identity, Status, IPs,
Controlled By, Init Containers, Containers (state, last state, readiness,
restarts), Conditions, QoS Class, Node-Selectors, Tolerations, Events
(sorted by last timestamp; "(xN over AGE)" for repeated ones; From is the
source component only). Times use
RFC 1123 with a numeric zone, as describe.go's time.RFC1123Z.
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone

from netsim.api.errors import NotFound
from netsim.cli.options import add_cluster_options, cluster_inputs
from netsim.cli.tables import human_duration
from netsim.sim.clock import parse_rfc3339

PADDING = 2


def register(sub) -> None:
    """`netsim describe pod NAME`."""
    parser = sub.add_parser("describe", help="show one object in detail (kubectl describe)")
    parser.add_argument("kind", choices=("pod", "pods", "po"), metavar="pod")
    parser.add_argument("name", metavar="NAME")
    parser.add_argument("-n", "--namespace", default="default")
    add_cluster_options(parser)
    parser.set_defaults(handler=_command)


def _command(args) -> int:
    cluster = cluster_inputs(args).build()
    sys.stdout.write(describe_pod(cluster.store, args.name, args.namespace, cluster.clock.now()))
    return 0


def tabwrite(text: str) -> str:
    """`text` through Go's text/tabwriter with kubectl describe's settings."""
    lines = [line.split("\t") for line in text.split("\n")]
    out: list[str] = []
    widths: list[int] = []

    def write(line0: int, line1: int) -> None:
        for cells in lines[line0:line1]:
            parts = []
            for j, cell in enumerate(cells):
                if j < len(cells) - 1 and j < len(widths):
                    parts.append(cell.ljust(widths[j]))
                else:
                    parts.append(cell)
            out.append("".join(parts))

    def fmt(line0: int, line1: int) -> None:
        column = len(widths)
        this = line0
        while this < line1:
            if column >= len(lines[this]) - 1:
                this += 1
                continue
            write(line0, this)
            line0 = this
            width = 0
            while this < line1 and column < len(lines[this]) - 1:
                width = max(width, len(lines[this][column]) + PADDING)
                this += 1
            widths.append(width)
            fmt(line0, this)
            widths.pop()
            line0 = this
        write(line0, line1)

    fmt(0, len(lines))
    return "\n".join(out)


def _time(stamp: str | None) -> str:
    if not stamp:
        return "<unset>"
    moment = datetime.fromtimestamp(parse_rfc3339(stamp), tz=timezone.utc)
    return moment.strftime("%a, %d %b %Y %H:%M:%S +0000")


def _map_lines(label: str, mapping, indent: str = "") -> list[str]:
    """`Labels:\\tk=v` then one `\\tk=v` per further entry (printLabelsMultiline); <none> when empty."""
    items = sorted((mapping or {}).items())
    if not items:
        return [f"{indent}{label}:\t<none>"]
    return [f"{indent}{label}:\t{k}={v}" if i == 0 else f"{indent}\t{k}={v}" for i, (k, v) in enumerate(items)]


def _state_lines(title: str, state: dict, indent: str) -> list[str]:
    if not state:
        return [f"{indent}{title}:\tWaiting"] if title == "State" else []   # describeStatus's default
    if "running" in state:
        return [f"{indent}{title}:\tRunning", f"{indent}  Started:\t{_time(state['running'].get('startedAt'))}"]
    if "waiting" in state:
        reason = state["waiting"].get("reason")
        return [f"{indent}{title}:\tWaiting"] + ([f"{indent}  Reason:\t{reason}"] if reason else [])
    term = state.get("terminated") or {}
    lines = [f"{indent}{title}:\tTerminated", f"{indent}  Reason:\t{term.get('reason', '')}"]
    if term.get("message"):
        lines.append(f"{indent}  Message:\t{term['message']}")
    lines += [f"{indent}  Exit Code:\t{term.get('exitCode', 0)}",
              f"{indent}  Started:\t{_time(term.get('startedAt'))}",
              f"{indent}  Finished:\t{_time(term.get('finishedAt'))}"]
    return lines


def _containers(title: str, specs: list[dict], statuses: list[dict]) -> list[str]:
    by_name = {s.get("name"): s for s in statuses}
    lines = [f"{title}:"]
    for c in specs:
        s = by_name.get(c["name"], {})
        lines.append(f"  {c['name']}:")
        lines.append(f"    Container ID:\t{s.get('containerID', '')}")
        lines.append(f"    Image:\t{c.get('image', '')}")
        lines.append(f"    Image ID:\t{s.get('imageID', '')}")
        ports = c.get("ports") or []
        if ports:
            label = "Ports" if len(ports) > 1 else "Port"
            lines.append(f"    {label}:\t" + ", ".join(f"{p['containerPort']}/{p.get('protocol', 'TCP')}" for p in ports))
            lines.append(f"    Host {label}:\t" + ", ".join(f"{p.get('hostPort', 0)}/{p.get('protocol', 'TCP')}"
                                                         for p in ports))
        else:
            lines.append("    Port:\t<none>")
            lines.append("    Host Port:\t<none>")
        if c.get("command"):
            lines.append("    Command:")
            lines += [f"      {w}" for w in c["command"]]
        if c.get("args"):
            lines.append("    Args:")
            lines += [f"      {w}" for w in c["args"]]
        lines += _state_lines("State", s.get("state") or {}, "    ")
        lines += _state_lines("Last State", s.get("lastState") or {}, "    ")
        lines.append(f"    Ready:\t{'True' if s.get('ready') else 'False'}")
        lines.append(f"    Restart Count:\t{s.get('restartCount', 0)}")
        resources = c.get("resources") or {}
        for section in ("limits", "requests"):
            values = resources.get(section) or {}
            if values:
                lines.append(f"    {section.capitalize()}:")
                lines += [f"      {k}:\t{v}" for k, v in sorted(values.items())]
        probe = c.get("readinessProbe")
        if probe:
            lines.append(f"    Readiness:\t{_probe(probe)}")
        env = c.get("env") or []
        if env:
            lines.append("    Environment:")
            lines += [f"      {e['name']}:\t{e.get('value', '')}" for e in env]
        else:
            lines.append("    Environment:\t<none>")
        lines.append("    Mounts:\t<none>")
    return lines


def _probe(probe: dict) -> str:
    """describe's probe line: `http-get http://:80/ delay=5s timeout=1s period=10s #success=1 #failure=3`."""
    if "httpGet" in probe:
        h = probe["httpGet"]
        what = f"http-get {h.get('scheme', 'HTTP').lower()}://{h.get('host', '')}:{h.get('port')}{h.get('path', '')}"
    elif "tcpSocket" in probe:
        what = f"tcp-socket {probe['tcpSocket'].get('host', '')}:{probe['tcpSocket'].get('port')}"
    elif "exec" in probe:
        what = "exec [" + " ".join(probe["exec"].get("command") or []) + "]"
    else:
        what = "unknown"
    return (f"{what} delay={probe.get('initialDelaySeconds', 0)}s timeout={probe.get('timeoutSeconds', 1)}s "
            f"period={probe.get('periodSeconds', 10)}s #success={probe.get('successThreshold', 1)} "
            f"#failure={probe.get('failureThreshold', 3)}")


def _tolerations(tolerations: list[dict]) -> list[str]:
    if not tolerations:
        return ["Tolerations:\t<none>"]
    out = []
    for i, t in enumerate(tolerations):
        text = t.get("key", "")
        if t.get("value"):
            text += f"={t['value']}"
        if t.get("effect"):
            text += f":{t['effect']}"
        if t.get("operator") == "Exists" and not t.get("value"):
            text += " op=Exists" if text else "op=Exists"
        if t.get("tolerationSeconds") is not None:
            text += f" for {t['tolerationSeconds']}s"
        out.append(("Tolerations:\t" if i == 0 else "\t") + text)
    return out


def _events(store, pod, now: float) -> list[str]:
    events = [e for e in store.list("Event", pod.namespace) if e.involved_object.get("uid") == pod.uid]
    if not events:
        return ["Events:\t<none>"]
    events.sort(key=lambda e: (e.get("lastTimestamp") or "", int(e.resource_version)))
    lines = ["Events:", "  Type\tReason\tAge\tFrom\tMessage", "  ----\t------\t----\t----\t-------"]
    for e in events:
        first = human_duration(now - parse_rfc3339(e.get("firstTimestamp")))
        count = int(e.get("count") or 1)
        age = (f"{human_duration(now - parse_rfc3339(e.get('lastTimestamp')))} (x{count} over {first})"
               if count > 1 else first)
        origin = (e.get("source") or {}).get("component") or e.get("reportingComponent", "")   # no host, as kubectl 1.31
        lines.append(f"  {e.type}\t{e.reason}\t{age}\t{origin}\t{e.message.strip()}")
    return lines


def describe_pod(store, name: str, namespace: str, now: float) -> str:
    """The text `kubectl describe pod NAME -n NAMESPACE` prints."""
    pod = store.try_get("Pod", name, namespace)
    if pod is None:
        raise NotFound(f'pods "{name}" not found')
    spec, status = pod.spec, pod.status
    lines = [f"Name:\t{pod.name}", f"Namespace:\t{pod.namespace}", f"Priority:\t{spec.get('priority', 0)}"]
    if spec.get("priorityClassName"):
        lines.append(f"Priority Class Name:\t{spec['priorityClassName']}")
    lines.append(f"Service Account:\t{spec.get('serviceAccountName', '')}")
    node = spec.get("nodeName")
    lines.append(f"Node:\t{node}/{status.get('hostIP', '')}" if node else "Node:\t<none>")
    if status.get("startTime"):
        lines.append(f"Start Time:\t{_time(status['startTime'])}")
    lines += _map_lines("Labels", pod.labels)
    lines += _map_lines("Annotations", pod.annotations)
    if pod.deletion_timestamp:
        lines.append(f"Status:\tTerminating (lasts {human_duration(now - parse_rfc3339(pod.deletion_timestamp))})")
        lines.append(f"Termination Grace Period:\t{pod.metadata.get('deletionGracePeriodSeconds', 0)}s")
    else:
        lines.append(f"Status:\t{status.get('phase', 'Pending')}")
    if status.get("reason"):
        lines.append(f"Reason:\t{status['reason']}")
    if status.get("message"):
        lines.append(f"Message:\t{status['message']}")
    lines.append(f"IP:\t{status.get('podIP', '')}")
    ips = status.get("podIPs") or []
    if ips:
        lines.append("IPs:")
        lines += [f"  IP:\t{ip['ip']}" for ip in ips]
    else:
        lines.append("IPs:\t<none>")
    ref = pod.controller_ref
    if ref is not None:
        lines.append(f"Controlled By:\t{ref.kind}/{ref.name}")
    if spec.get("initContainers"):
        lines += _containers("Init Containers", spec["initContainers"], status.get("initContainerStatuses") or [])
    lines += _containers("Containers", spec.get("containers") or [], status.get("containerStatuses") or [])
    conditions = status.get("conditions") or []
    if conditions:
        lines += ["Conditions:", "  Type\tStatus"]
        lines += [f"  {c['type']} \t{c['status']} " for c in conditions]
    lines.append("Volumes:\t<none>")
    lines.append(f"QoS Class:\t{status.get('qosClass', 'BestEffort')}")
    lines += _map_lines("Node-Selectors", spec.get("nodeSelector"))
    lines += _tolerations(spec.get("tolerations") or [])
    lines += _events(store, pod, now)
    return tabwrite("\n".join(lines) + "\n")
