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
  once without run-seconds; what a `medium: Memory` emptyDir holds is
  charged to the same memory cgroup (pods.py's tmpfs_charge says whose);
- `netsim.dev/shutdown-seconds`: how long they take to exit after SIGTERM;
- `netsim.dev/create-error`: a CreateContainerError message (never start);
- `netsim.dev/startup-seconds`: how long after a start the startup probe
  begins to pass; `netsim.dev/live-seconds`: how long after a start the
  liveness probe keeps passing (absent: for ever) — prober.py;
- `netsim.dev/poststart-seconds`, `netsim.dev/poststart-exit-code`: how long
  a container's postStart hook runs (an exec `sleep N` or the sleep action
  is read from the spec) and how an exec hook exits (an httpGet hook with a
  non-zero code finds nothing listening).

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

A postStart hook runs right after the container starts, inside kuberuntime's
startContainer, so the pod worker is blocked meanwhile: the status the kubelet
last wrote stays (ContainerCreating on the first run) until the hook is done,
and probes begin only then. A failing hook makes startContainer kill the
container at once (killContainer, with its preStop hook and the pod's grace
period) and fail with PostStartHookError, the waiting reason of the next sync;
the container restarts like any other that exited (shouldRestartOnFailure),
so the first failure restarts at once and shows PostStartHookError while the
new run's hook runs, later ones wait out the back-off (CrashLoopBackOff).
A container that would exit during its own hook is not emulated (FieldError).
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
                      "prestop-seconds", "startup-seconds", "live-seconds", "poststart-seconds", "poststart-exit-code")
HOOK_HANDLERS = ("exec", "httpGet", "sleep")   # LifecycleHandler's actions the kubelet's handler runner runs


@dataclass(frozen=True, slots=True)
class PostStart:
    """A container's postStart hook as netsim runs it: how long it takes, and its exit code (non-zero: it fails)."""

    seconds: float
    exit_code: int = 0

    @property
    def fails(self) -> bool:
        """True when the hook fails, so the kubelet kills the container (startContainer's ErrPostStartHook)."""
        return self.exit_code != 0


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
    poststart: PostStart | None = None   # the container's postStart hook (None: it has none, or pod-wide)

    @classmethod
    def of(cls, annotations, containers: list[dict], container: str | None = None, tmpfs: int = 0) -> Behaviour:
        """The behaviour the annotations describe, for one container when `container` names it
        (its `netsim.dev/<container>.<key>` before the pod-wide key), with `tmpfs` bytes of memory-backed
        emptyDir charged to its memory cgroup; FieldError naming a bad annotation."""
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
        if memory is not None or tmpfs:
            used = Quantity.parse(memory or "0") + Quantity.parse(str(tmpfs))
            mine = [c for c in containers if container is None or c.get("name") == container]
            limits = [((c.get("resources") or {}).get("limits") or {}).get("memory") for c in mine]
            oom = any(limit is not None and used > Quantity.parse(str(limit)) for limit in limits)
        poststart = None
        spec = next((c for c in containers if c.get("name") == container), None) if container is not None else None
        hook = ((spec or {}).get("lifecycle") or {}).get("postStart")
        if hook:
            key = f"metadata.annotations[{key_of('poststart-exit-code')}]"
            actions = [a for a in hook if a in HOOK_HANDLERS]
            if len(actions) != 1:
                raise FieldError(f"a postStart hook with {', '.join(sorted(hook)) or 'no action'} is not emulated "
                                 f"(one of {', '.join(HOOK_HANDLERS)})",
                                 f"spec.containers[{container}].lifecycle.postStart")
            poststart = PostStart(hook_seconds(spec, annotations, "postStart", "poststart-seconds"),
                                  code("poststart-exit-code"))
            if poststart.fails and actions == ["sleep"]:
                raise FieldError("a sleep hook cannot fail", key)
            run = number("run-seconds", None)
            ends_by_itself = run is not None or oom
            if ends_by_itself and (run or 0.0) < poststart.seconds:
                raise FieldError(f"the container exits during its {poststart.seconds:g}s postStart hook, "
                                 "which netsim does not emulate", f"metadata.annotations[{key_of('run-seconds')}]")
        return cls(number("start-seconds", 0.0), number("init-seconds", 0.0), code("init-exit-code"),
                   number("ready-seconds", 0.0), number("run-seconds", None), code("exit-code"), oom,
                   number("shutdown-seconds", 0.0), annotations.get(key_of("create-error"), ""),
                   number("startup-seconds", 0.0), number("live-seconds", None), poststart)

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
    why the kubelet killed it, when it did: a failed probe ("startup", "liveness") or "poststart" hook."""

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
    `next_change` is when this answer next changes (inf when never);
    `shown` is when a running container first shows in the status (after its
    postStart hook; inf when the hook fails) and `before` what the status
    shows until then (module docstring): "ContainerCreating" on the first
    run, "CrashLoopBackOff" after a back-off, "PostStartHookError" right
    after a failed hook, "Terminated" (the last run's state) otherwise.
    """

    state: str
    restarts: int
    since: float
    last: Run | None
    runs: tuple[Run, ...]
    next_change: float
    backoff: float = 0.0
    shown: float = -math.inf
    before: str = ""


def restarts_after(policy: str, exit_code: int) -> bool:
    """Whether kubelet restarts a container that exited with `exit_code` under restartPolicy `policy`."""
    return policy == "Always" or (policy == "OnFailure" and exit_code != 0)


def probe_run(behaviour: Behaviour, container: dict, begun: float) -> RunProbes:
    """What the startup and liveness probes make of the run of `container` started at `begun` (prober.py);
    with a postStart hook they begin when it is done, and never run when it fails."""
    natural = begun + (behaviour.run_seconds or 0.0) if behaviour.exits else math.inf
    hook = behaviour.poststart
    if hook is not None and hook.fails:
        return RunProbes(math.inf, math.inf, "", ())
    origin = begun + (hook.seconds if hook is not None else 0.0)
    return run_probes(container, origin, natural, behaviour.startup_seconds, behaviour.live_seconds)


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
    before = "ContainerCreating"   # what the status shows while this run's postStart hook runs
    hook = behaviour.poststart
    while True:
        natural = begun + (behaviour.run_seconds or 0.0) if behaviour.exits else math.inf
        probes = probe_run(behaviour, container or {}, begun)
        shown = begun + hook.seconds if hook is not None else begun
        if hook is not None and hook.fails:   # startContainer kills it: killContainer with the pod's grace period
            ended, code = killed_exit(shown, grace, prestop, behaviour.shutdown_seconds)
            reason, killed_by, shown = "Error", "poststart", math.inf
        elif probes.killed < natural:
            ended, code = killed_exit(probes.killed, probes.kill_grace(grace), prestop, behaviour.shutdown_seconds)
            reason, killed_by = "Error", probes.killed_by
        else:
            ended, killed_by = natural, ""
            code, reason = behaviour.exit_status()
        if now < ended:
            change = shown if now < shown < ended else ended
            return ContainerPhase("running", len(runs), begun, runs[-1] if runs else None, tuple(runs), change,
                                  shown=shown, before=before)
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
        before = ("CrashLoopBackOff" if wait else "PostStartHookError" if killed_by == "poststart" else "Terminated")


def prestop_seconds(container: dict, annotations) -> float:
    """How long a container's preStop hook runs: `sleep N` (exec or the sleep action), else the annotation."""
    return hook_seconds(container, annotations, "preStop", "prestop-seconds")


def hook_seconds(container: dict, annotations, which: str, key_name: str) -> float:
    """How long the container's `which` hook (preStop, postStart) runs: `sleep N` (exec or the sleep action),
    else the annotation `key_name` (its per-container form first); 0 without the hook."""
    hook = ((container.get("lifecycle") or {}).get(which)) or {}
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
        key = f"{ANNOTATION_PREFIX}{container.get('name')}.{key_name}"
        key = key if key in annotations else ANNOTATION_PREFIX + key_name
        raw = annotations.get(key, "0")
        try:
            return float(raw)
        except ValueError:
            raise FieldError(f"must be a number of seconds, got {raw!r}", f"metadata.annotations[{key}]") from None
    return 0.0


def poststart_failure(container: dict, pod_ident: str, ip: str, exit_code: int) -> str:
    """The message of a failed postStart hook, as the kubelet's handler runner words it (handlers.go Run):
    an exec hook's command exited non-zero (netsim has no output, so message ""), an httpGet hook found
    nothing listening. `pod_ident` is format.Pod: name_namespace(uid)."""
    hook = (container.get("lifecycle") or {}).get("postStart") or {}
    name = container.get("name", "")
    if "exec" in hook:
        command = [str(w) for w in (hook["exec"] or {}).get("command") or []]
        return (f'Exec lifecycle hook ([{" ".join(command)}]) for Container "{name}" in Pod "{pod_ident}" failed - '
                f"error: command '{' '.join(command)}' exited with {exit_code}: , message: \"\"")
    if "httpGet" in hook:
        h = hook["httpGet"] or {}
        port = h.get("port")
        if isinstance(port, str) and not port.isdigit():
            port = next((p.get("containerPort") for p in container.get("ports") or [] if p.get("name") == port), port)
        host = h.get("host") or ip
        path = h.get("path") or "/"
        scheme = str(h.get("scheme") or "HTTP").lower()
        return (f'HTTP lifecycle hook ({path}) for Container "{name}" in Pod "{pod_ident}" failed - error: '
                f'Get "{scheme}://{host}:{port}{path}": dial tcp {host}:{port}: connect: connection refused')
    raise FieldError("only exec and httpGet hooks can fail", f"spec.containers[{name}].lifecycle.postStart")


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
