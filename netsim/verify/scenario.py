"""A scenario: a topology, manifests, and ordered steps that change the cluster and send traffic with expectations.

The document (cluster/README.md has the whole format, with examples):

    apiVersion: netsim.dev/v1alpha1
    kind: Scenario
    metadata: {name: rollout}
    spec:
      topology: ../../topologies/three-node.yaml   # relative to the document; --topology overrides
      seed: 0                                      # --seed overrides
      manifests: [web.yaml, client.yaml]           # optional; default: every manifest of the folder
      traffic: [...]                               # shorthand: one `send` step per entry, run first
      steps:
      - send: {from: pod/client, to: service/web:80, count: 20}
        expect: {deliveredTo: app=web, never: version=v1, clientIP: kept,
                 split: {even: app=web, tolerance: 0.2}}
      - apply: {files: [web-v2.yaml], manifests: [{...an inline object...}]}
      - scale: {kind: Deployment, name: web, replicas: 3}
      - delete: {kind: Deployment, name: web, cascade: orphan}
      - patch: {kind: pvc, name: data, type: merge, patch: {metadata: {finalizers: []}}}

`netsim run` takes the folder or the document's file. In a folder without
`spec.manifests`, every manifest below the folder is loaded at the start,
except the files `apply` steps name (they come in at their step). Given a
file, the other documents of that file are loaded, then `spec.manifests`. `advance:
{seconds: N}` runs the simulated clock forward; `failNode: {name: NODE}` and
`recoverNode: {name: NODE}` stop and restart a node's machine (issue #8).
`resolve: {from: pod/client, name: web}` runs glibc's stub resolver over the
pod's resolv.conf (`netsim resolve`); `dig: {from: ..., name: ..., type: SRV,
server: IP}` asks one question (`netsim dig`); their `expect` holds
`answers`, `rcode`, `queries` and (resolve only) `resolvedAs`.
Everything a file names is read when the scenario loads: bad input stops the
run before any step has run.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, replace
from ipaddress import IPv4Address, ip_address
from pathlib import Path
from typing import Any

import yaml

from netsim.api.errors import FieldError, InvalidObject
from netsim.api.kinds import resolve_resource
from netsim.api.load import MANIFEST_SUFFIXES, Manifest, is_netsim_document, load_text, parse_documents
from netsim.api.patches import PATCH_TYPES
from netsim.api.selector import LabelSelector, parse_selector_string
from netsim.dataplane.trace import Outcome
from netsim.dns.message import Rcode, RRType, fqdn
from netsim.emulator.traffic import FlowSpec

API_VERSION = "netsim.dev/v1alpha1"
SPEC_FIELDS = ("topology", "seed", "manifests", "traffic", "steps")


class ClientIP(enum.Enum):
    """What source address the backend sees."""

    KEPT = "kept"                # the sender's own address reached the backend
    MASQUERADED = "masqueraded"  # a node rewrote the source (SNAT/MASQUERADE) on the way


class Cascade(enum.Enum):
    """`kubectl delete --cascade`: what happens to the object's dependents (the store's propagationPolicy)."""

    BACKGROUND = "background"  # delete the owner now; the garbage collector deletes dependents
    FOREGROUND = "foreground"  # delete dependents first; the owner goes when they are gone
    ORPHAN = "orphan"          # keep dependents, drop their ownerReferences

    @property
    def propagation(self) -> str:
        """The propagationPolicy the API server takes for this mode."""
        return self.value.capitalize()


@dataclass(frozen=True, slots=True)
class Selector:
    """A label selector as the user wrote it, and parsed."""

    text: str
    selector: LabelSelector

    @classmethod
    def parse(cls, value: Any, field: str) -> Selector:
        """A selector from `app=web,tier in (a,b)` or a matchLabels mapping."""
        if isinstance(value, Mapping):
            text = ",".join(f"{k}={v}" for k, v in sorted(value.items()))
        elif isinstance(value, str) and value.strip():
            text = value.strip()
        else:
            raise FieldError(f"must be a label selector such as app=web, got {value!r}", field)
        try:
            return cls(text, parse_selector_string(text))
        except FieldError as err:
            raise FieldError(err.problem, field) from None

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether an object's labels satisfy the selector."""
        return self.selector.matches(labels)


@dataclass(frozen=True, slots=True)
class Split:
    """Expected shares of the delivered connections, each within `tolerance` (a fraction, absolute).

    `even`: every ready pod the selector picks gets an equal share (evaluated
    when the step runs). `weights`: selector -> expected share.
    """

    tolerance: float
    even: Selector | None = None
    weights: tuple[tuple[Selector, float], ...] = ()


@dataclass(frozen=True, slots=True)
class Expectation:
    """What must hold for every connection of a send step (None / empty: not checked)."""

    delivered_to: Selector | None = None       # each connection reached a pod matching this
    never: tuple[Selector, ...] = ()           # no connection reached a pod matching any of these
    outcome: tuple[Outcome, ...] = ()          # packet 0 ended in one of these
    client_ip: ClientIP | None = None          # as the backend saw the source address
    split: Split | None = None

    @property
    def empty(self) -> bool:
        """True when nothing is checked."""
        return (self.delivered_to is None and not self.never and not self.outcome and self.client_ip is None
                and self.split is None)


@dataclass(frozen=True, slots=True)
class SendStep:
    """Send a flow's connections and check the expectation."""

    flow: FlowSpec
    expect: Expectation


@dataclass(frozen=True, slots=True)
class ApplyStep:
    """`kubectl apply` of the given objects, then the controllers settle."""

    manifests: tuple[Manifest, ...]
    files: tuple[Path, ...]


@dataclass(frozen=True, slots=True)
class DeleteStep:
    """`kubectl delete KIND NAME --cascade=...`, then the controllers settle."""

    kind: str
    name: str
    namespace: str
    cascade: Cascade


@dataclass(frozen=True, slots=True)
class ScaleStep:
    """`kubectl scale --replicas=N` of a Deployment or ReplicaSet, then the controllers settle."""

    kind: str
    name: str
    namespace: str
    replicas: int


@dataclass(frozen=True, slots=True)
class PatchStep:
    """`kubectl patch KIND NAME --type TYPE -p PATCH` (the seed's `kubectl edit`), then the controllers settle."""

    kind: str
    name: str
    namespace: str
    patch_type: str
    patch: Any


@dataclass(frozen=True, slots=True)
class AdvanceStep:
    """Run the simulated clock forward by `seconds`: controllers, kubelets and timers act meanwhile."""

    seconds: float


@dataclass(frozen=True, slots=True)
class NodeStep:
    """Stop (`failNode`) or restart (`recoverNode`) one node's machine."""

    action: str   # "failNode" or "recoverNode"
    name: str


class Family(enum.Enum):
    """getaddrinfo's ai_family for a resolve step (`netsim resolve --family`): which record types the stub asks."""

    UNSPEC = "unspec"  # A and AAAA (the default: AF_UNSPEC)
    INET = "inet"      # A only (AF_INET)
    INET6 = "inet6"    # AAAA only (AF_INET6)


@dataclass(frozen=True, slots=True)
class DnsExpectation:
    """What must hold for a resolve or dig step (None: not checked).

    `answers` is compared as a set: a resolve step's addresses, or the data of
    a dig reply's answer records as dig prints them (`+short`); `()` expects
    none. `rcode` is the reply's status (for resolve: of the last reply the
    stub got, the one that ended the lookup). `queries` counts the queries
    sent (the stub's, every search-list name and type; dig's tries).
    `resolvedAs` is the name that answered (resolve only: dig asks one name).
    """

    answers: tuple[str, ...] | None = None
    rcode: Rcode | None = None
    queries: int | None = None
    resolved_as: str | None = None

    @property
    def empty(self) -> bool:
        """True when nothing is checked."""
        return self.answers is None and self.rcode is None and self.queries is None and self.resolved_as is None


@dataclass(frozen=True, slots=True)
class ResolveStep:
    """getaddrinfo(name) from a pod or node: glibc's stub over its resolv.conf, each query a packet (netsim resolve)."""

    origin: str   # pod/[NS/]NAME or node/NAME
    name: str
    family: Family
    expect: DnsExpectation


@dataclass(frozen=True, slots=True)
class DigStep:
    """One DNS question from a pod or node, as `dig [@server] name type [+tcp]` asks it (`netsim dig`)."""

    origin: str                    # pod/[NS/]NAME or node/NAME
    name: str
    qtype: RRType
    server: IPv4Address | None     # None: the cluster DNS address
    tcp: bool
    expect: DnsExpectation


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a scenario: its position, a display name and the action."""

    index: int
    name: str
    action: (SendStep | ApplyStep | DeleteStep | ScaleStep | PatchStep | AdvanceStep | NodeStep | ResolveStep
             | DigStep)
    field: str = ""  # where the step is in the document: `spec.steps[2]`, or `spec.traffic[0]` (the shorthand)

    def __post_init__(self) -> None:
        if not self.field:
            object.__setattr__(self, "field", f"spec.steps[{self.index}]")


ACTIONS = ("send", "apply", "delete", "scale", "patch", "advance", "failNode", "recoverNode", "resolve", "dig")
EXPECTING_ACTIONS = ("send", "resolve", "dig")  # the steps that take an `expect` block


@dataclass(frozen=True, slots=True)
class Scenario:
    """What `netsim run` does: build the cluster from the topology and manifests, then run the steps in order."""

    name: str
    folder: Path
    topology: Path | None
    seed: int | None
    manifests: tuple[Manifest, ...]
    steps: tuple[Step, ...]
    source: str = ""

    @property
    def traffic(self) -> tuple[FlowSpec, ...]:
        """The flows of the send steps, in order (today's `spec.traffic` view)."""
        return tuple(s.action.flow for s in self.steps if isinstance(s.action, SendStep))


def load_scenario(path: str | Path) -> Scenario:
    """The scenario of a folder (its netsim.dev document, if any) or of a document's file."""
    path = Path(path)
    if path.is_file():
        docs = [(path, n, d) for n, d in enumerate(parse_documents(path.read_text(encoding="utf-8"), str(path)), 1)
                if is_netsim_document(d)]
        if len(docs) != 1:
            raise InvalidObject(str(path), None, "", "",
                                f"expected one netsim.dev Scenario document, found {len(docs)}")
        return _parse(docs[0], path.parent, folder_manifests=False)
    if not path.is_dir():
        raise InvalidObject(str(path), None, "", "", "a scenario is a folder of manifests or a Scenario file; "
                                                     "no such file or folder")
    found: list[tuple[Path, int, dict]] = []
    for file in _manifest_files(path):
        for number, doc in enumerate(parse_documents(file.read_text(encoding="utf-8"), str(file)), start=1):
            if is_netsim_document(doc):
                found.append((file, number, doc))
    if not found:
        manifests = tuple(m for f in _manifest_files(path) for m in load_text(f.read_text(encoding="utf-8"), str(f)))
        return Scenario(path.name, path, None, None, manifests, ())
    if len(found) > 1:
        places = ", ".join(f"{p}: document {n}" for p, n, _ in found)
        raise InvalidObject(str(path), None, "", "", f"more than one netsim document ({places})")
    return _parse(found[0], path, folder_manifests=True)


def _manifest_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in MANIFEST_SUFFIXES)


def _parse(found: tuple[Path, int, dict], folder: Path, folder_manifests: bool) -> Scenario:
    path, number, doc = found
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), Mapping) else {}
    try:
        return _from_document(doc, folder, path, folder_manifests)
    except FieldError as err:
        raise InvalidObject(str(path), number, f"Scenario {meta.get('name', '?')}", err.field, err.problem) from None


def _from_document(doc: dict, folder: Path, path: Path, folder_manifests: bool) -> Scenario:
    if doc.get("apiVersion") != API_VERSION or doc.get("kind") != "Scenario":
        raise FieldError(f"netsim knows kind Scenario in {API_VERSION}, got {doc.get('kind')!r} in "
                         f"{doc.get('apiVersion')!r}", "kind")
    meta = doc.get("metadata") or {}
    spec: Any = doc.get("spec") or {}
    if not isinstance(spec, Mapping):
        raise FieldError("must be an object", "spec")
    unknown = sorted(set(spec) - set(SPEC_FIELDS))
    if unknown:
        raise FieldError(f"unknown field {unknown[0]!r} (a Scenario's spec has {', '.join(SPEC_FIELDS)})",
                         f"spec.{unknown[0]}")
    topology = spec.get("topology")
    if topology is not None and not isinstance(topology, str):
        raise FieldError("must be a path", "spec.topology")
    seed = spec.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise FieldError(f"must be a non-negative integer, got {seed!r}", "spec.seed")
    traffic = spec.get("traffic") or []
    if not isinstance(traffic, list):
        raise FieldError("must be a list", "spec.traffic")
    raw_steps = spec.get("steps") or []
    if not isinstance(raw_steps, list):
        raise FieldError("must be a list", "spec.steps")
    steps: list[Step] = []
    for index, item in enumerate(traffic):
        try:
            flow = FlowSpec.from_dict(item, index)
        except FieldError as err:
            raise err.under("spec") from None
        steps.append(Step(index, flow.name, SendStep(flow, Expectation()), f"spec.traffic[{index}]"))
    for index, item in enumerate(raw_steps):
        try:
            steps.append(_step(item, index, folder))
        except FieldError as err:
            raise err.under(f"spec.steps[{index}]") from None
    listed = spec.get("manifests")
    if listed is not None:
        manifests = _manifests_field(listed, folder, "spec.manifests")
    elif folder_manifests:
        later = {f.resolve() for s in steps if isinstance(s.action, ApplyStep) for f in s.action.files}
        manifests = tuple(m for f in _manifest_files(folder) if f.resolve() not in later
                          for m in load_text(f.read_text(encoding="utf-8"), str(f)))
    else:
        manifests = ()
    if not folder_manifests:  # a scenario file: the objects written beside the Scenario in it come first
        manifests = load_text(path.read_text(encoding="utf-8"), str(path)) + manifests
    return Scenario(
        name=str(meta.get("name") or folder.name),
        folder=folder,
        topology=(folder / topology).resolve() if topology else None,
        seed=seed,
        manifests=manifests,
        steps=tuple(steps),
        source=str(path),
    )


def _manifests_field(value: Any, folder: Path, field: str) -> tuple[Manifest, ...]:
    """Manifests from a list of file/folder paths (relative to the scenario) and inline objects."""
    if not isinstance(value, list):
        raise FieldError("must be a list of paths or inline objects", field)
    out: list[Manifest] = []
    for index, item in enumerate(value):
        here = f"{field}[{index}]"
        if isinstance(item, str):
            target = folder / item
            if target.is_dir():
                files = _manifest_files(target)
            elif target.is_file():
                files = [target]
            else:
                raise FieldError(f"no such file or folder: {target}", here)
            for file in files:
                out.extend(load_text(file.read_text(encoding="utf-8"), str(file)))
        elif isinstance(item, Mapping):
            out.extend(load_text(yaml.safe_dump(dict(item), sort_keys=False), f"{folder}: {here}"))
        else:
            raise FieldError(f"must be a path or an object, got {item!r}", here)
    return tuple(out)


def _step(item: Any, index: int, folder: Path) -> Step:
    """One entry of spec.steps (field paths relative to it)."""
    if not isinstance(item, Mapping):
        raise FieldError(f"must be an object with one of {', '.join(ACTIONS)}")
    actions = [k for k in item if k in ACTIONS]
    unknown = sorted(set(item) - set(ACTIONS) - {"name", "expect"})
    if unknown:
        raise FieldError(f"unknown field {unknown[0]!r} (a step has one of {', '.join(ACTIONS)}, "
                         f"and name, expect)", unknown[0])
    if len(actions) != 1:
        raise FieldError(f"must have exactly one of {', '.join(ACTIONS)}, got {actions or 'none'}")
    action = actions[0]
    data = item[action]
    if "expect" in item and action not in EXPECTING_ACTIONS:
        raise FieldError(f"only {', '.join(EXPECTING_ACTIONS)} steps have expectations", "expect")
    name = item.get("name")
    if name is not None and not isinstance(name, str):
        raise FieldError("must be a string", "name")
    if action == "send":
        try:
            flow = FlowSpec.from_dict(data, index)
        except FieldError as err:
            raise FieldError(err.problem, "send" + err.field.partition("]")[2]) from None
        expect = _expectation(item.get("expect"), "expect")
        if name:
            flow = replace(flow, name=name)
        return Step(index, flow.name, SendStep(flow, expect))
    if action == "apply":
        return Step(index, name or "apply", _apply(data, folder))
    if action == "delete":
        step = _delete(data)
        return Step(index, name or f"delete {step.kind} {step.namespace}/{step.name}".replace(" /", " "), step)
    if action == "scale":
        step = _scale(data)
        return Step(index, name or f"scale {step.kind} {step.namespace}/{step.name} to {step.replicas}", step)
    if action == "patch":
        step = _patch(data)
        return Step(index, name or f"patch {step.kind} {step.namespace}/{step.name}".replace(" /", " "), step)
    if action == "advance":
        seconds = data.get("seconds") if isinstance(data, Mapping) else None
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            raise FieldError(f"must be a non-negative number of seconds, got {seconds!r}", "advance.seconds")
        return Step(index, name or f"advance {seconds}s", AdvanceStep(float(seconds)))
    if action in ("failNode", "recoverNode"):
        node = data.get("name") if isinstance(data, Mapping) else None
        if not isinstance(node, str) or not node:
            raise FieldError("must name a node", f"{action}.name")
        return Step(index, name or f"{action} {node}", NodeStep(action, node))
    if action == "resolve":
        step = _resolve(data, _dns_expectation(item.get("expect"), "expect", resolve=True))
    else:
        step = _dig(data, _dns_expectation(item.get("expect"), "expect", resolve=False))
    return Step(index, name or dns_step_title(step), step)


def dns_step_title(step: ResolveStep | DigStep) -> str:
    """`resolve web from pod/client`, `dig @10.96.0.10 web.default.svc.cluster.local SRV +tcp from pod/client`."""
    if isinstance(step, ResolveStep):
        family = "" if step.family is Family.UNSPEC else f" ({step.family.value})"
        return f"resolve {step.name}{family} from {step.origin}"
    server = f"@{step.server} " if step.server is not None else ""
    return f"dig {server}{step.name} {step.qtype.name}{' +tcp' if step.tcp else ''} from {step.origin}"


def _dns_fields(data: Any, action: str, allowed: tuple[str, ...]) -> None:
    """A resolve or dig step's object: only `allowed` fields, `from` and `name` non-empty strings."""
    if not isinstance(data, Mapping):
        raise FieldError(f"must be an object with {', '.join(allowed)}", action)
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise FieldError(f"unknown field {unknown[0]!r} ({action} has {', '.join(allowed)})",
                         f"{action}.{unknown[0]}")
    origin = data.get("from")
    if not isinstance(origin, str) or not origin.startswith(("pod/", "node/")) or origin.count("/") > 2:
        raise FieldError(f"must be pod/[NAMESPACE/]NAME or node/NAME, got {origin!r}", f"{action}.from")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or any(c.isspace() for c in name) or ".." in name:
        raise FieldError(f"must be a domain name such as web or web.default.svc.cluster.local, got {name!r}",
                         f"{action}.name")


def _resolve(data: Any, expect: DnsExpectation) -> ResolveStep:
    _dns_fields(data, "resolve", ("from", "name", "family"))
    raw = data.get("family", "unspec")
    try:
        family = Family(raw)
    except ValueError:
        raise FieldError(f"must be one of {', '.join(f.value for f in Family)}; got {raw!r}",
                         "resolve.family") from None
    return ResolveStep(data["from"], data["name"], family, expect)


def _dig(data: Any, expect: DnsExpectation) -> DigStep:
    _dns_fields(data, "dig", ("from", "name", "type", "server", "tcp"))
    raw = data.get("type", "A")
    qtype = str(raw).upper()
    # OPT is EDNS0's pseudo-record, never a question; AXFR is a zone transfer (always TCP, refused by CoreDNS
    # without its transfer plugin), not a lookup
    if not isinstance(raw, str) or qtype not in RRType.__members__ or qtype in ("OPT", "AXFR"):
        names = ", ".join(t.name for t in RRType if t not in (RRType.OPT, RRType.AXFR))
        raise FieldError(f"must be a query type ({names}); got {raw!r}", "dig.type")
    server = data.get("server")
    if server is not None:
        try:
            server = ip_address(server)
        except ValueError:
            server = None
        if not isinstance(server, IPv4Address):
            raise FieldError(f"must be an IPv4 address (dig's @server), got {data.get('server')!r}", "dig.server")
    tcp = data.get("tcp", False)
    if not isinstance(tcp, bool):
        raise FieldError(f"must be true or false (dig +tcp), got {tcp!r}", "dig.tcp")
    return DigStep(data["from"], data["name"], RRType[qtype], server, tcp, expect)


DNS_EXPECT_FIELDS = ("answers", "rcode", "queries", "resolvedAs")


def _dns_expectation(data: Any, field: str, resolve: bool) -> DnsExpectation:
    """A resolve or dig step's `expect` block."""
    if data is None:
        return DnsExpectation()
    allowed = DNS_EXPECT_FIELDS if resolve else DNS_EXPECT_FIELDS[:-1]
    if not isinstance(data, Mapping):
        raise FieldError(f"must be an object with {', '.join(allowed)}", field)
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        why = ("dig asks exactly the name given; resolvedAs is for resolve steps" if unknown[0] == "resolvedAs"
               else f"a {'resolve' if resolve else 'dig'} step's expectations: {', '.join(allowed)}")
        raise FieldError(f"unknown field {unknown[0]!r} ({why})", f"{field}.{unknown[0]}")
    answers = None
    if "answers" in data:
        raw = data["answers"]
        items = raw if isinstance(raw, list) else [raw]
        parsed = []
        for i, value in enumerate(items):
            if not isinstance(value, str) or not value.strip():
                raise FieldError(f"must be an address or a record's data as dig prints it, got {value!r}",
                                 f"{field}.answers[{i}]")
            parsed.append(answer_text(value))
        answers = tuple(parsed)
    rcode = None
    if "rcode" in data:
        raw = data["rcode"]
        if not isinstance(raw, str) or raw.upper() not in Rcode.__members__:
            raise FieldError(f"must be one of {', '.join(r.name for r in Rcode)}; got {raw!r}", f"{field}.rcode")
        rcode = Rcode[raw.upper()]
    queries = data.get("queries")
    if "queries" in data and (isinstance(queries, bool) or not isinstance(queries, int) or queries < 1):
        raise FieldError(f"must be a positive integer, got {queries!r}", f"{field}.queries")
    resolved_as = data.get("resolvedAs")
    if "resolvedAs" in data:
        if not isinstance(resolved_as, str) or not resolved_as.strip():
            raise FieldError(f"must be a domain name, got {resolved_as!r}", f"{field}.resolvedAs")
        resolved_as = fqdn(resolved_as.strip()).lower()
    return DnsExpectation(answers, rcode, queries, resolved_as)


def answer_text(value: str) -> str:
    """An answer in one canonical form: an address as ipaddress writes it, a lone name with its trailing dot.

    Both the expected answers and those received go through it. Records with
    several fields (SRV, MX, SOA) and TXT strings stay as written, spaces collapsed:
    they are compared with dig's presentation of the record's data.
    """
    words = value.split()
    if len(words) == 1 and not words[0].startswith('"'):   # a quoted TXT string is data, not a name
        try:
            return str(ip_address(words[0]))
        except ValueError:
            return fqdn(words[0]).lower()
    return " ".join(words)


def _apply(data: Any, folder: Path) -> ApplyStep:
    if not isinstance(data, Mapping) or not (set(data) & {"files", "manifests"}):
        raise FieldError("must be an object with files (paths) and/or manifests (inline objects)", "apply")
    unknown = sorted(set(data) - {"files", "manifests"})
    if unknown:
        raise FieldError(f"unknown field {unknown[0]!r}", f"apply.{unknown[0]}")
    files = data.get("files") or []
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise FieldError("must be a list of paths", "apply.files")
    inline = data.get("manifests") or []
    if not isinstance(inline, list) or not all(isinstance(m, Mapping) for m in inline):
        raise FieldError("must be a list of objects", "apply.manifests")
    loaded = _manifests_field(list(files), folder, "apply.files") + _manifests_field(inline, folder, "apply.manifests")
    return ApplyStep(loaded, tuple((folder / f) for f in files))


def _object_ref(data: Any, action: str) -> tuple[str, str, str]:
    """(kind, name, namespace) of a step's target, the kind resolved as kubectl resolves it."""
    if not isinstance(data, Mapping):
        raise FieldError("must be an object with kind and name", action)
    for key in ("kind", "name"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise FieldError("is required", f"{action}.{key}")
    try:
        info = resolve_resource(data["kind"])
    except FieldError as err:
        raise FieldError(err.problem, f"{action}.kind") from None
    namespace = data.get("namespace", "default" if info.namespaced else "")
    if not isinstance(namespace, str):
        raise FieldError("must be a string", f"{action}.namespace")
    return info.kind, data["name"], namespace if info.namespaced else ""


def _delete(data: Any) -> DeleteStep:
    kind, name, namespace = _object_ref(data, "delete")
    unknown = sorted(set(data) - {"kind", "name", "namespace", "cascade"})
    if unknown:
        raise FieldError(f"unknown field {unknown[0]!r}", f"delete.{unknown[0]}")
    raw = data.get("cascade", "background")
    try:
        cascade = Cascade(str(raw).lower())
    except ValueError:
        raise FieldError(f"must be one of background, foreground, orphan; got {raw!r}", "delete.cascade") from None
    return DeleteStep(kind, name, namespace, cascade)


def _scale(data: Any) -> ScaleStep:
    kind, name, namespace = _object_ref(data, "scale")
    unknown = sorted(set(data) - {"kind", "name", "namespace", "replicas"})
    if unknown:
        raise FieldError(f"unknown field {unknown[0]!r}", f"scale.{unknown[0]}")
    if kind not in ("Deployment", "ReplicaSet"):
        raise FieldError(f"netsim scales Deployments and ReplicaSets, got {kind}", "scale.kind")
    replicas = data.get("replicas")
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
        raise FieldError(f"must be a non-negative integer, got {replicas!r}", "scale.replicas")
    return ScaleStep(kind, name, namespace, replicas)


def _patch(data: Any) -> PatchStep:
    kind, name, namespace = _object_ref(data, "patch")
    unknown = sorted(set(data) - {"kind", "name", "namespace", "type", "patch"})
    if unknown:
        raise FieldError(f"unknown field {unknown[0]!r}", f"patch.{unknown[0]}")
    patch_type = data.get("type", "strategic")
    if patch_type not in PATCH_TYPES:
        raise FieldError(f"must be one of {', '.join(PATCH_TYPES)}; got {patch_type!r}", "patch.type")
    body = data.get("patch")
    if not isinstance(body, (Mapping, list)):
        raise FieldError("is required: an object (merge, strategic) or a list of operations (json)", "patch.patch")
    return PatchStep(kind, name, namespace, patch_type, body)


EXPECT_FIELDS = ("deliveredTo", "never", "outcome", "clientIP", "split")


def _expectation(data: Any, field: str) -> Expectation:
    """A send step's `expect` block."""
    if data is None:
        return Expectation()
    if not isinstance(data, Mapping):
        raise FieldError(f"must be an object with {', '.join(EXPECT_FIELDS)}", field)
    unknown = sorted(set(data) - set(EXPECT_FIELDS))
    if unknown:
        raise FieldError(f"unknown field {unknown[0]!r} (expectations: {', '.join(EXPECT_FIELDS)})",
                         f"{field}.{unknown[0]}")
    delivered = Selector.parse(data["deliveredTo"], f"{field}.deliveredTo") if "deliveredTo" in data else None
    never_raw = data.get("never", [])
    never_list = never_raw if isinstance(never_raw, list) else [never_raw]
    never = tuple(Selector.parse(v, f"{field}.never[{i}]") for i, v in enumerate(never_list))
    outcome_raw = data.get("outcome", [])
    outcome_list = outcome_raw if isinstance(outcome_raw, list) else [outcome_raw]
    outcomes = []
    for i, value in enumerate(outcome_list):
        try:
            outcomes.append(Outcome(value))
        except ValueError:
            raise FieldError(f"must be one of {', '.join(o.value for o in Outcome)}; got {value!r}",
                             f"{field}.outcome") from None
    client_ip = None
    if "clientIP" in data:
        try:
            client_ip = ClientIP(data["clientIP"])
        except ValueError:
            raise FieldError(f"must be kept or masqueraded; got {data['clientIP']!r}", f"{field}.clientIP") from None
    split = _split(data["split"], f"{field}.split") if "split" in data else None
    return Expectation(delivered, never, tuple(outcomes), client_ip, split)


def _split(data: Any, field: str) -> Split:
    if not isinstance(data, Mapping):
        raise FieldError("must be an object with tolerance and even or weights", field)
    unknown = sorted(set(data) - {"tolerance", "even", "weights"})
    if unknown:
        raise FieldError(f"unknown field {unknown[0]!r}", f"{field}.{unknown[0]}")
    tolerance = data.get("tolerance", 0.1)
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not 0 <= tolerance <= 1:
        raise FieldError(f"must be a fraction between 0 and 1, got {tolerance!r}", f"{field}.tolerance")
    if ("even" in data) == ("weights" in data):
        raise FieldError("needs exactly one of even (a selector) or weights (selector: share)", field)
    if "even" in data:
        return Split(float(tolerance), even=Selector.parse(data["even"], f"{field}.even"))
    weights = data["weights"]
    if not isinstance(weights, Mapping) or not weights:
        raise FieldError("must map selectors to shares, e.g. {version=v1: 0.9, version=v2: 0.1}", f"{field}.weights")
    parsed = []
    for key, share in weights.items():
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 1:
            raise FieldError(f"must be a share between 0 and 1, got {share!r}", f"{field}.weights.{key}")
        parsed.append((Selector.parse(key, f"{field}.weights"), float(share)))
    if abs(sum(s for _, s in parsed) - 1) > 1e-9:
        raise FieldError(f"shares must add up to 1, got {sum(s for _, s in parsed):g}", f"{field}.weights")
    return Split(float(tolerance), weights=tuple(parsed))
