"""The kubelet's prober on the simulated clock: startup, liveness and readiness probes of one container run.

As kubelet's probe workers (pkg/kubelet/prober/worker.go): each probe of
a container runs at `initialDelaySeconds + k·periodSeconds` after the
container started (k = 0, 1, ...). The startup probe gates the other two:
until it has passed, liveness and readiness probes are skipped (the
container is not `started` and not ready). `failureThreshold` failures in
a row of a startup or liveness probe make the kubelet kill the container
("Container c failed liveness probe, will be restarted", computePodActions);
each failure is an Unhealthy event ("Liveness probe failed: ...").

When probes pass or fail comes from the pod's annotations (lifecycle.py):
the startup probe passes from `startup-seconds` after the start on, the
liveness probe passes until `live-seconds` after the start, the readiness
probe passes from `ready-seconds` on.

The failure messages are the prober's own: before the application listens
(a startup or readiness probe) an httpGet or tcpSocket probe gets
"connection refused"; an application that listens but is unhealthy (a
liveness probe) answers httpGet with "HTTP probe failed with statuscode: 500"
and gRPC with `service unhealthy (responded with "NOT_SERVING")`; an exec
probe's message is its command's output, which netsim has none of.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from netsim.api.errors import FieldError

DEFAULT_PERIOD = 10.0          # probe.periodSeconds default
DEFAULT_FAILURE_THRESHOLD = 3  # probe.failureThreshold default
KINDS = {"startup": "startupProbe", "liveness": "livenessProbe", "readiness": "readinessProbe"}


@dataclass(frozen=True, slots=True)
class Probe:
    """One probe of a container's spec: its kind, its timing and how many failures kill."""

    kind: str                 # "startup", "liveness" or "readiness"
    spec: tuple               # the probe's handler as sorted (key, value) pairs (httpGet, tcpSocket, exec, grpc)
    delay: float              # initialDelaySeconds
    period: float             # periodSeconds
    failure_threshold: int    # failureThreshold
    grace: float | None       # the probe's own terminationGracePeriodSeconds (None: the pod's)

    @classmethod
    def of(cls, container: dict, kind: str) -> Probe | None:
        """The container's probe of `kind` (None when it has none); FieldError naming a bad field."""
        raw = container.get(KINDS[kind])
        if not raw:
            return None
        where = f"spec.containers[{container.get('name', '')}].{KINDS[kind]}"

        def number(key: str, default: float) -> float:
            """The field's value; absent or 0 is the default, as SetDefaults_Probe fills it."""
            value = raw.get(key)
            if value is None:
                return default
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                raise FieldError(f"must be greater than or equal to 0, got {value!r}", f"{where}.{key}")
            return float(value) or default

        grace = raw.get("terminationGracePeriodSeconds")
        return cls(kind, tuple(sorted((k, v) for k, v in raw.items() if k in ("httpGet", "tcpSocket", "exec", "grpc"))),
                   number("initialDelaySeconds", 0.0), number("periodSeconds", DEFAULT_PERIOD),
                   int(number("failureThreshold", DEFAULT_FAILURE_THRESHOLD)),
                   None if grace is None else number("terminationGracePeriodSeconds", 0.0))

    def at(self, begun: float, k: int) -> float:
        """When the k-th probe (from 0) of a run started at `begun` happens."""
        return begun + self.delay + k * self.period

    def first_from(self, begun: float, t: float) -> int:
        """The index of the first probe at or after `t`."""
        if t <= begun + self.delay:
            return 0
        return math.ceil((t - begun - self.delay) / self.period - 1e-9)

    def handler(self) -> dict:
        """The probe's handler fields as a dict."""
        return dict(self.spec)


@dataclass(frozen=True, slots=True)
class RunProbes:
    """What the startup and liveness probes make of one run of a container.

    `started` is when the startup probe first passed (the start itself
    without a startup probe; inf when it never passes in this run);
    `killed` when the kubelet kills the container for a failed probe (inf:
    never), `killed_by` which probe ("startup", "liveness", or "");
    `failures` the (time, probe) of each failed startup/liveness probe.
    """

    started: float
    killed: float
    killed_by: str
    failures: tuple[tuple[float, Probe], ...]

    def kill_grace(self, pod_grace: float) -> float:
        """The grace period of the kill: the killing probe's terminationGracePeriodSeconds, else the pod's."""
        probe = self.failures[-1][1] if self.failures else None
        return probe.grace if probe is not None and probe.grace is not None else pod_grace


def run_probes(container: dict, begun: float, ends: float, startup_seconds: float,
               live_seconds: float | None) -> RunProbes:
    """The startup and liveness probes of a run started at `begun` that ends by itself at `ends` (inf: never)."""
    failures: list[tuple[float, Probe]] = []
    started = begun
    startup = Probe.of(container, "startup")
    if startup is not None:
        passes = startup.first_from(begun, begun + startup_seconds)
        for k in range(min(passes, startup.failure_threshold)):
            if startup.at(begun, k) >= ends:
                return RunProbes(math.inf, math.inf, "", tuple(failures))
            failures.append((startup.at(begun, k), startup))
        if passes >= startup.failure_threshold:
            return RunProbes(math.inf, failures[-1][0], "startup", tuple(failures))
        started = startup.at(begun, passes)
        if started >= ends:
            return RunProbes(math.inf, math.inf, "", tuple(failures))
    liveness = Probe.of(container, "liveness")
    if liveness is None or live_seconds is None:
        return RunProbes(started, math.inf, "", tuple(failures))
    first = liveness.first_from(begun, max(started, begun + live_seconds))
    for k in range(first, first + liveness.failure_threshold):
        if liveness.at(begun, k) >= ends:
            return RunProbes(started, math.inf, "", tuple(failures))
        failures.append((liveness.at(begun, k), liveness))
    return RunProbes(started, failures[-1][0], "liveness", tuple(failures))


def readiness(container: dict, begun: float, started: float, ready_seconds: float) -> tuple[float, tuple[float, ...]]:
    """(when the container turns ready, the times of the readiness probes that failed before) for one run.

    Readiness probes are skipped until the startup probe passed (`started`);
    without a readiness probe the container is ready once started.
    """
    probe = Probe.of(container, "readiness")
    if probe is None or started == math.inf:
        return started, ()
    first = probe.first_from(begun, started)
    ready = probe.first_from(begun, max(started, begun + ready_seconds))
    return probe.at(begun, ready), tuple(probe.at(begun, k) for k in range(first, ready))


def failure_message(probe: Probe, container: dict, ip: str) -> str:
    """The Unhealthy event's message for one failed probe (module docstring)."""
    def port_of(value) -> str:
        if isinstance(value, str) and not value.isdigit():
            for p in container.get("ports") or []:
                if p.get("name") == value:
                    return str(p.get("containerPort"))
        return str(value)

    word = probe.kind.capitalize()
    listening = probe.kind == "liveness"
    handler = probe.handler()
    if "httpGet" in handler:
        h = handler["httpGet"] or {}
        if listening:
            return f"{word} probe failed: HTTP probe failed with statuscode: 500"
        port = port_of(h.get("port"))
        host = h.get("host") or ip
        scheme = str(h.get("scheme", "HTTP")).lower()
        return (f'{word} probe failed: Get "{scheme}://{host}:{port}{h.get("path", "/")}": '
                f"dial tcp {host}:{port}: connect: connection refused")
    if "tcpSocket" in handler:
        t = handler["tcpSocket"] or {}
        return f"{word} probe failed: dial tcp {t.get('host') or ip}:{port_of(t.get('port'))}: connect: connection refused"
    if "grpc" in handler:
        if listening:
            return f'{word} probe failed: service unhealthy (responded with "NOT_SERVING")'
        return f"{word} probe failed: timeout: failed to connect service \":{(handler['grpc'] or {}).get('port')}\" within 1s"
    return f"{word} probe failed: "
