"""The pieces every kubectl describer writes: the tab writer, times, labels, annotations, events.

kubectl writes describe output through text/tabwriter (minwidth 0, tabwidth
8, padding 2, padding character ' ', no flags); `tabwrite` is that writer's
column-block algorithm, so fields line up block by block exactly as
kubectl's do (a line without a tab ends every block). The helpers follow
describe.go's printLabelsMultiline, printAnnotationsMultiline,
printPodsMultiline, printNodeTaintsMultiline, printPodTolerationsMultiline and
DescribeEvents; each returns the lines (with tabs) it would write.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timezone

from netsim.api.objects import Resource
from netsim.cli.tables import human_duration
from netsim.sim.clock import parse_rfc3339

PADDING = 2
MAX_ANNOTATION_LEN = 140   # describe.go maxAnnotationLen
SKIPPED_ANNOTATIONS = frozenset({"kubectl.kubernetes.io/last-applied-configuration"})


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


TERMINAL_ESCAPES = (("\x1b", "^["), ("\r", "\\r"))   # cli-runtime printers.terminalEscaper (issue #101695)


def escape_terminal(text: str) -> str:
    """printers.WriteEscaped: ESC as `^[`, carriage return as `\\r`, so object data cannot drive the terminal."""
    for raw, shown in TERMINAL_ESCAPES:
        text = text.replace(raw, shown)
    return text


def render(lines: Iterable[str]) -> str:
    """The describer's lines as kubectl prints them: each write escaped (prefixWriter), then tabbedString."""
    return tabwrite(escape_terminal("\n".join(lines) + "\n"))


def rfc1123(stamp: str | None) -> str:
    """A metadata timestamp as Go's time.RFC1123Z prints it in UTC; Go's zero time when unset."""
    if not stamp:
        return "Mon, 01 Jan 0001 00:00:00 +0000"
    moment = datetime.fromtimestamp(parse_rfc3339(stamp), tz=timezone.utc)
    return moment.strftime("%a, %d %b %Y %H:%M:%S +0000")


def since(stamp: str | None, now: float) -> str:
    """translateTimestampSince: the age of a timestamp, `<unknown>` when unset."""
    return human_duration(now - parse_rfc3339(stamp)) if stamp else "<unknown>"


def go_list(values: Iterable[object]) -> str:
    """A Go slice as fmt's %v prints it: `[a b]`."""
    return "[" + " ".join(str(v) for v in values) + "]"


def or_none(text: str) -> str:
    """stringOrNone."""
    return text or "<none>"


def labels(title: str, mapping: Mapping[str, str] | None, indent: str = "") -> list[str]:
    """printLabelsMultilineWithIndent: `Title:\\tk=v`, then `\\tk=v` per further key; <none> when empty."""
    items = sorted((mapping or {}).items())
    if not items:
        return [f"{indent}{title}:\t<none>"]
    return [f"{indent}{title}:\t{k}={v}" if i == 0 else f"{indent}\t{k}={v}" for i, (k, v) in enumerate(items)]


def annotations(title: str, mapping: Mapping[str, str] | None) -> list[str]:
    """printAnnotationsMultiline: `key: value` lines; long or multi-line values go below the key, shortened."""
    keys = sorted(k for k in (mapping or {}) if k not in SKIPPED_ANNOTATIONS)
    if not keys:
        return [f"{title}:\t<none>"]
    out: list[str] = []
    for i, key in enumerate(keys):
        lead = f"{title}:\t" if i == 0 else "\t"
        value = mapping[key].removesuffix("\n")  # type: ignore[index]
        if len(value) + len(key) + 2 > MAX_ANNOTATION_LEN or "\n" in value:
            out.append(f"{lead}{key}:")
            for part in value.split("\n"):
                short = part[:MAX_ANNOTATION_LEN - 2] + "..." if len(part) > MAX_ANNOTATION_LEN - 2 else part
                out.append(f"\t  {short}")
        else:
            out.append(f"{lead}{key}: {value}")
    return out


def multiline(title: str, values: list[str], indent: str = "") -> list[str]:
    """The `Title:\\tfirst`, `\\tnext` layout of printPodsMultiline and its siblings; <none> when empty."""
    if not values:
        return [f"{indent}{title}:\t<none>"]
    return [f"{indent}{title}:\t{v}" if i == 0 else f"{indent}\t{v}" for i, v in enumerate(values)]


def taint_text(taint: Mapping[str, str]) -> str:
    """Taint.ToString: `key=value:effect`, or `key:effect` without a value."""
    value = taint.get("value")
    return f"{taint.get('key', '')}={value}:{taint.get('effect', '')}" if value else \
        f"{taint.get('key', '')}:{taint.get('effect', '')}"


def taints(title: str, items: list[Mapping[str, str]]) -> list[str]:
    """printNodeTaintsMultiline: sorted by effect, then key."""
    ordered = sorted(items, key=lambda t: f"{t.get('effect', '')},{t.get('key', '')}")
    return multiline(title, [taint_text(t) for t in ordered])


def tolerations(title: str, items: list[Mapping], indent: str = "") -> list[str]:
    """printTolerationsMultilineWithIndent: sorted by key; `op=Exists` for a valueless Exists, `for Ns` with seconds."""
    texts = []
    for t in sorted(items, key=lambda t: t.get("key", "")):
        text = t.get("key", "")
        if t.get("value"):
            text += f"={t['value']}"
        if t.get("effect"):
            text += f":{t['effect']}"
        if t.get("operator") == "Exists" and not t.get("value"):
            text += " op=Exists" if (t.get("key") or t.get("effect")) else "op=Exists"
        if t.get("tolerationSeconds") is not None:
            text += f" for {t['tolerationSeconds']}s"
        texts.append(text)
    return multiline(title, texts, indent)


def events_about(store, obj: Resource, *, kind: bool = True) -> list[Resource]:
    """searchEvents: the events whose involvedObject is `obj` (name, namespace, uid; kind unless cleared)."""
    uids = {obj.uid, obj.name} if obj.kind == "Node" else {obj.uid}   # kubelets name nodes by name, not uid

    def about(e: Resource) -> bool:
        ref = e.get("involvedObject") or {}
        return (ref.get("name") == obj.name and ref.get("namespace", "") == obj.namespace
                and ref.get("uid") in uids and (not kind or ref.get("kind") == obj.kind))
    return store.list("Event", None, about)


def events(found: list[Resource], now: float) -> list[str]:
    """DescribeEvents: the table, sorted by last timestamp; From is source.component, else reportingComponent."""
    if not found:
        return ["Events:\t<none>"]
    ordered = sorted(found, key=lambda e: (parse_rfc3339(e.get("lastTimestamp") or e.get("firstTimestamp")),
                                           int(e.resource_version)))
    lines = ["Events:", "  Type\tReason\tAge\tFrom\tMessage", "  ----\t------\t----\t----\t-------"]
    for e in ordered:
        first = since(e.get("firstTimestamp"), now)
        count = int(e.get("count") or 0)
        age = f"{since(e.get('lastTimestamp'), now)} (x{count} over {first})" if count > 1 else first
        origin = (e.get("source") or {}).get("component") or e.get("reportingComponent") or ""
        message = str(e.get("message") or "").strip()
        field_path = (e.get("involvedObject") or {}).get("fieldPath")
        if field_path:
            message = f"{field_path}: {message}"
        lines.append(f"  {e.get('type', '')}\t{e.get('reason', '')}\t{age}\t{origin}\t{message}")
    return lines
