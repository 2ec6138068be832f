"""How a pod's containers behave over time: a pure timeline from the pod's spec and netsim annotations.

No image really runs in netsim, so a pod says how its containers behave with
annotations (cluster/README.md, "Container behaviour"); absent ones keep the
fast default (start at once, ready at once, run forever):

- `netsim.dev/start-seconds`: sandbox and image set-up before the containers
  start (the pod shows ContainerCreating meanwhile);
- `netsim.dev/init-seconds`, `netsim.dev/init-exit-code`: how long each init
  container runs and how it exits (the pod shows Init:i/n, then PodInitializing);
- `netsim.dev/ready-seconds`: how long after a start the readiness probe
  begins to succeed (probes run at initialDelaySeconds + k·periodSeconds);
- `netsim.dev/run-seconds`, `netsim.dev/exit-code`: how long the containers
  run before exiting, and with which code (absent: they never exit);
- `netsim.dev/memory`: the memory the containers use; above
  `resources.limits.memory` they are OOMKilled (exit 137) when they exit, at
  once without run-seconds;
- `netsim.dev/shutdown-seconds`: how long they take to exit after SIGTERM;
- `netsim.dev/create-error`: a CreateContainerError message (never start);
- `netsim.dev/startup-seconds`: how long after a start the startup probe
  begins to pass; `netsim.dev/live-seconds`: how long after a start the
  liveness probe keeps passing (absent: for ever) — prober.py.

Each key may also name one container, `netsim.dev/<container>.<key>`
(`netsim.dev/sidecar.exit-code`), which that container reads before the
pod-wide key; container names are DNS labels, so the first dot ends the
name. The pod-wide `start-seconds` and `init-*` have no per-container form.

Restarts follow kubelet's container back-off (kuberuntime doBackOff with
flowcontrol.Backoff: the first restart is immediate, then 10s doubling to
5m; an entry older than twice the maximum is reset). restartPolicy decides
whether a container that exited restarts (Always; OnFailure for non-zero).
A container the kubelet kills for a failed startup or liveness probe
restarts unless restartPolicy is Never (shouldRestartOnFailure); it gets
SIGTERM after its preStop hook and exits `shutdown-seconds` later with
143 (128+SIGTERM), or is SIGKILLed with 137 when the grace period (the
probe's terminationGracePeriodSeconds, else the pod's) runs out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from netsim.api.errors import FieldError
from netsim.api.quantity import Quantity
from netsim.kubelet.prober import RunProbes, run_probes

ANNOTATION_PREFIX = "netsim.dev/"
INITIAL_BACKOFF = 10.0     # kubelet: backOffPeriod
MAX_BACKOFF = 300.0        # kubelet: MaxContainerBackOff
OOM_EXIT_CODE = 137
SIGKILL_EXIT_CODE = 137    # 128 + SIGKILL
SIGTERM_EXIT_CODE = 143    # 128 + SIGTERM
MINIMUM_GRACE_SECONDS = 2.0   # kuberuntime killContainer: minimumGracePeriodInSeconds
DEFAULT_GRACE_SECONDS = 30.0  # terminationGracePeriodSeconds default
PER_CONTAINER_KEYS = ("ready-seconds", "run-seconds", "exit-code", "memory", "shutdown-seconds", "create-error",
                      "prestop-seconds", "startup-seconds", "live-seconds")


@dataclass(frozen=True, slots=True)
class Behaviour:
    """What a pod's containers do, read from its netsim.dev annotations (module docstring)."""

    start_seconds: float = 0.0
    init_seconds: float = 0.0
    init_exit_code: int = 0
    ready_seconds: float = 0.0
    run_seconds: float | None = None
    exit_code: int = 0
    oom: bool = False
    shutdown_seconds: float = 0.0
    create_error: str = ""
    startup_seconds: float = 0.0
    live_seconds: float | None = None

    @classmethod
    def of(cls, annotations, containers: list[dict], container: str | None = None) -> Behaviour:
        """The behaviour the annotations describe, for one container when `container` names it
        (its `netsim.dev/<container>.<key>` before the pod-wide key); FieldError naming a bad annotation."""
        check_container_keys(annotations, containers)

        def key_of(key: str) -> str:
            own = f"{ANNOTATION_PREFIX}{container}.{key}"
            return own if container is not None and own in annotations else ANNOTATION_PREFIX + key

        def number(key: str, default: float | None) -> float | None:
            key = key_of(key)[len(ANNOTATION_PREFIX):]
            raw = annotations.get(ANNOTATION_PREFIX + key)
            if raw is None:
                return default
            try:
                value = float(raw)
            except ValueError:
                raise FieldError(f"must be a number of seconds, got {raw!r}",
                                 f"metadata.annotations[{ANNOTATION_PREFIX + key}]") from None
            if not (math.isfinite(value) and value >= 0):
                raise FieldError(f"must be a non-negative number, got {raw!r}",
                                 f"metadata.annotations[{ANNOTATION_PREFIX + key}]")
            return value

        def code(key: str) -> int:
            key = key_of(key)[len(ANNOTATION_PREFIX):]
            raw = annotations.get(ANNOTATION_PREFIX + key, "0")
            try:
                return int(raw)
            except ValueError:
                raise FieldError(f"must be an integer exit code, got {raw!r}",
                                 f"metadata.annotations[{ANNOTATION_PREFIX + key}]") from None

        oom = False
        memory = annotations.get(key_of("memory"))
        if memory is not None:
            used = Quantity.parse(memory)
            mine = [c for c in containers if container is None or c.get("name") == container]
            limits = [((c.get("resources") or {}).get("limits") or {}).get("memory") for c in mine]
            oom = any(limit is not None and used > Quantity.parse(str(limit)) for limit in limits)
        return cls(number("start-seconds", 0.0), number("init-seconds", 0.0), code("init-exit-code"),
                   number("ready-seconds", 0.0), number("run-seconds", None), code("exit-code"), oom,
                   number("shutdown-seconds", 0.0), annotations.get(key_of("create-error"), ""),
                   number("startup-seconds", 0.0), number("live-seconds", None))

    @property
    def exits(self) -> bool:
        """True when the containers exit on their own."""
        return self.run_seconds is not None or self.oom

    def exit_status(self) -> tuple[int, str]:
        """(exit code, terminated reason) of one run, as kubelet reports it."""
        if self.oom:
            return OOM_EXIT_CODE, "OOMKilled"
        return self.exit_code, "Completed" if self.exit_code == 0 else "Error"


def check_container_keys(annotations, containers: list[dict]) -> None:
    """FieldError for a `netsim.dev/<container>.<key>` annotation whose container the pod does not have."""
    names = {c.get("name") for c in containers}
    for key in annotations:
        if not key.startswith(ANNOTATION_PREFIX):
            continue
        name, dot, rest = key[len(ANNOTATION_PREFIX):].partition(".")
        if dot and rest in PER_CONTAINER_KEYS and name not in names:
            raise FieldError(f"names container {name!r}, which the pod does not have "
                             f"(containers: {', '.join(sorted(str(n) for n in names))})",
                             f"metadata.annotations[{key}]")


@dataclass(frozen=True, slots=True)
class Run:
    """One finished run of a container: when it started and ended, its exit code and reason, and
    which failed probe ("startup", "liveness") the kubelet killed it for, when it did."""

    started: float
    finished: float
    exit_code: int
    reason: str
    killed_by: str = ""


@dataclass(frozen=True, slots=True)
class ContainerPhase:
    """Where a container stands at one instant of its timeline.

    state is "running", "backoff" (waiting to restart) or "terminated" (for good);
    `since` is when the current run started (running) or when the wait began;
    `last` is the previous run (kubelet's lastState); `runs` lists every finished run;
    `next_change` is when this answer next changes (inf when never).
    """

    state: str
    restarts: int
    since: float
    last: Run | None
    runs: tuple[Run, ...]
    next_change: float
    backoff: float = 0.0


def restarts_after(policy: str, exit_code: int) -> bool:
    """Whether kubelet restarts a container that exited with `exit_code` under restartPolicy `policy`."""
    return policy == "Always" or (policy == "OnFailure" and exit_code != 0)


def probe_run(behaviour: Behaviour, container: dict, begun: float) -> RunProbes:
    """What the startup and liveness probes make of the run of `container` started at `begun` (prober.py)."""
    natural = begun + (behaviour.run_seconds or 0.0) if behaviour.exits else math.inf
    return run_probes(container, begun, natural, behaviour.startup_seconds, behaviour.live_seconds)


def killed_exit(killed: float, grace: float, prestop: float, shutdown: float) -> tuple[float, int]:
    """(when, exit code) a container killed at `killed` stops: preStop, SIGTERM, SIGKILL at the grace period."""
    sigterm = killed + min(prestop, grace)
    deadline = killed + grace + (MINIMUM_GRACE_SECONDS if prestop and prestop >= grace else 0.0)
    if sigterm + shutdown <= deadline:
        return sigterm + shutdown, SIGTERM_EXIT_CODE
    return deadline, SIGKILL_EXIT_CODE


def container_phase(behaviour: Behaviour, policy: str, start: float, now: float, container: dict | None = None,
                    grace: float = DEFAULT_GRACE_SECONDS, prestop: float = 0.0) -> ContainerPhase:
    """The container's state at `now` given its first start at `start` (restarts with back-off included);
    with its spec `container`, its startup and liveness probes kill it as prober.py says."""
    runs: list[Run] = []
    backoff = 0.0              # the back-off entry's current duration (0: no entry)
    last_update = -math.inf    # when the entry was last moved (flowcontrol.Backoff.Next)
    begun = start
    while True:
        natural = begun + (behaviour.run_seconds or 0.0) if behaviour.exits else math.inf
        probes = probe_run(behaviour, container or {}, begun)
        if probes.killed < natural:
            ended, code = killed_exit(probes.killed, probes.kill_grace(grace), prestop, behaviour.shutdown_seconds)
            reason, killed_by = "Error", probes.killed_by
        else:
            ended, killed_by = natural, ""
            code, reason = behaviour.exit_status()
        if now < ended:
            return ContainerPhase("running", len(runs), begun, runs[-1] if runs else None, tuple(runs), ended)
        run = Run(begun, ended, code, reason, killed_by)
        runs.append(run)
        if not (policy != "Never" if killed_by else restarts_after(policy, code)):
            return ContainerPhase("terminated", len(runs) - 1, ended, run, tuple(runs), math.inf)
        if backoff and ended - last_update <= 2 * MAX_BACKOFF:
            wait = backoff                                   # IsInBackOffSince: wait out the entry
            backoff = min(backoff * 2, MAX_BACKOFF)
        else:
            wait = 0.0                                       # no entry (or expired): restart at once
            backoff = INITIAL_BACKOFF
        last_update = ended + wait
        if now < ended + wait:
            return ContainerPhase("backoff", len(runs), ended, run, tuple(runs), ended + wait, wait)
        begun = ended + wait


def prestop_seconds(container: dict, annotations) -> float:
    """How long a container's preStop hook runs: `sleep N` (exec or the sleep action), else the annotation."""
    hook = ((container.get("lifecycle") or {}).get("preStop")) or {}
    if "sleep" in hook:
        return float((hook["sleep"] or {}).get("seconds", 0))
    command = (hook.get("exec") or {}).get("command") or []
    words = " ".join(str(w) for w in command).replace(";", " ").split()
    for i, word in enumerate(words[:-1]):
        if word.endswith("sleep"):
            try:
                return float(words[i + 1])
            except ValueError:
                break
    if hook:
        key = f"{ANNOTATION_PREFIX}{container.get('name')}.prestop-seconds"
        key = key if key in annotations else ANNOTATION_PREFIX + "prestop-seconds"
        raw = annotations.get(key, "0")
        try:
            return float(raw)
        except ValueError:
            raise FieldError(f"must be a number of seconds, got {raw!r}", f"metadata.annotations[{key}]") from None
    return 0.0


POD_SYNC_AFTER_ERROR = 10.0   # kubelet backOffPeriod: the pod worker requeues a failed sync this much later


def pull_phase(first: float, now: float) -> tuple[str, float, int]:
    """(waiting reason, next change, failed attempts) for an image no registry serves.

    Each failed pull shows ErrImagePull until the pod worker's next sync 10s
    later, then ImagePullBackOff until the next attempt; the image back-off
    after the k-th failure is 10s doubling to 300s, counted from that sync.
    """
    attempt, k = first, 0
    while True:
        sync = attempt + POD_SYNC_AFTER_ERROR
        if now < sync:
            return "ErrImagePull", sync, k + 1
        nxt = sync + min(INITIAL_BACKOFF * 2 ** k, MAX_BACKOFF)
        if now < nxt:
            return "ImagePullBackOff", nxt, k + 1
        attempt, k = nxt, k + 1
