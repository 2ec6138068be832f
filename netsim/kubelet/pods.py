"""The lifecycle of pods on one node, on the simulated clock: start, readiness, restarts, termination.

A pod bound to this node is admitted when the kubelet first sees it: once its
volumes are mounted (volumemount.py: FailedMount retries while a ConfigMap,
Secret or key is missing or a claim is not bound) the
sandbox comes up after `start-seconds` (ContainerCreating meanwhile) with
its address from the node's IPAM (the node's own with hostNetwork) and
resolv.conf formed (resolvconf.py records kubelet's DNSConfigForming
warnings, as GetPodDNS does); init containers run one after another, then
the containers start; each becomes ready when its readiness probe first
passes (each probe that fails before is an Unhealthy event, counted as the
recorder counts repeats); an exiting container restarts under restartPolicy with kubelet's
back-off (lifecycle.py). The status written follows kubelet's
generateAPIPodStatus: phase, the five conditions with lastTransitionTime,
container statuses with state and lastState.

Node-pressure eviction: when the node's memory.available (capacity minus
the pods' `netsim.dev/memory`) falls below kubelet's evictionHard 100Mi,
the eviction manager evicts one pod per 10s monitoring period, ranked as
rankMemoryPressure does (usage above requests, priority, usage): phase
Failed, reason Evicted, its message and an Evicted event. While the
threshold was met within the last evictionPressureTransitionPeriod (5m),
the kubelet posts the node condition MemoryPressure True
(KubeletHasInsufficientMemory, and a NodeHasInsufficientMemory event),
then False again (KubeletHasSufficientMemory), as setters.go's
MemoryPressureCondition writes them; the node lifecycle controller taints
the node from that condition. Before that signal, each pass runs
localStorageEviction: a running pod whose emptyDir holds more than its
sizeLimit, or whose disk-backed emptyDirs hold more than its containers'
ephemeral-storage limits, is evicted with kubelet's message (usage from
`netsim.dev/volume-usage`); a `medium: Memory` emptyDir's usage counts in
the pod's memory.

Termination follows the seed's sequence: once the pod has a
deletionTimestamp the kubelet records Killing, runs each container's preStop
hook, then sends SIGTERM; a container exits `shutdown-seconds` later, or is
SIGKILLed (exit 137) when the grace period runs out (two more seconds when
preStop used it all, as killContainer's minimumGracePeriodInSeconds). When
every container has stopped the kubelet removes the pod (a delete with grace
0). A pod whose containers never started goes at once.

Admission (admission.py): a pod the kubelet first sees is checked by its
admit handlers; one they refuse (a pod bound with spec.nodeName under
MemoryPressure, or one that does not fit) is rejected as rejectPod does:
phase Failed, the handler's reason, "Pod was rejected: " + its message, a
Warning event. An evicted pod gets the condition DisruptionTarget (True,
TerminationByKubelet, the eviction message) first in its list, where
generateAPIPodStatus copies it, before the kubelet-owned conditions.

`reconcile(store, now)` returns the next instant at which something on this
node changes by itself (inf when nothing will), for the cluster to wake it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from netsim.api.objects import Pod
from netsim.api.quantity import Quantity
from netsim.api.store import Store
from netsim.api.topology import Topology
from netsim.errors import NotImplementedFeature
from netsim.kubelet.admission import eviction_admit, resource_admit
from netsim.kubelet.configwait import REASON as CONFIG_ERROR, ConfigGate
from netsim.kubelet.ipam import HostLocalIpam
from netsim.kubelet.lifecycle import (DEFAULT_GRACE_SECONDS, Behaviour, ContainerPhase, container_phase, killed_exit,
                                      poststart_failure, probe_run, prestop_seconds, pull_phase)
from netsim.kubelet.podfiles import volume_usage
from netsim.kubelet.prober import Probe, failure_message, readiness
from netsim.kubelet.resolvconf import record_dns_warnings
from netsim.kubelet.volumemount import VolumeGate, report_volumes_in_use
from netsim.sim.clock import rfc3339

COMPONENT = "kubelet"
EVICTION_THRESHOLD = Quantity.parse("100Mi")   # kubelet evictionHard default memory.available<100Mi
EVICTION_INTERVAL = 10.0                       # evictionMonitoringPeriod
PRESSURE_TRANSITION = 300.0                    # evictionPressureTransitionPeriod
# (status, reason, message, event) of the MemoryPressure condition, as kubelet's setters.go writes it
MEMORY_PRESSURE = {True: ("True", "KubeletHasInsufficientMemory", "kubelet has insufficient memory available",
                          "NodeHasInsufficientMemory"),
                   False: ("False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available",
                           "NodeHasSufficientMemory")}
CONDITION_ORDER = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")
DISRUPTION_TARGET = "DisruptionTarget"
KUBELET_CONDITIONS = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady")   # PodConditionsByKubelet


@dataclass(slots=True)
class PodRuntime:
    """What the kubelet remembers of one admitted pod: when it was admitted, events sent, termination start."""

    admitted: float
    address: str = ""
    reported: set = field(default_factory=set)
    stopping: float | None = None
    written: object = None      # the status last sent (the status manager sends only changes)
    adopted: bool = False       # a pod that was already running (a dump): its status is left as given
    config: ConfigGate = field(default_factory=ConfigGate)   # CreateContainerConfigError retries (configwait.py)
    volumes: VolumeGate = field(default_factory=VolumeGate)  # FailedMount retries (volumemount.py)
    rejected: bool = False      # refused by an admit handler (admission.py): never runs here


class Kubelet:
    """One node's kubelet: runs the pods the scheduler bound to it, on the simulated clock."""

    def __init__(self, node_name: str, node_ip: str, ipam: HostLocalIpam, topology: Topology | None = None) -> None:
        self.node_name = node_name
        self.node_ip = node_ip
        self.ipam = ipam
        self.topology = topology   # clusterDNS, clusterDomain and the node's resolv.conf (resolvconf.py)
        self.pods: dict[str, PodRuntime] = {}
        self._pressure_since: float | None = None   # when the eviction manager last evicted under pressure
        self._pressure_seen: float | None = None    # when the eviction manager last saw the threshold met

    def reconcile(self, store: Store, now: float | None = None) -> float:
        """One pass over this node's pods; returns when the next change is due (inf: none)."""
        now = store.clock() if now is None else now
        due = math.inf
        seen = set()
        for pod in store.list("Pod", where=lambda p: p.node_name == self.node_name):
            seen.add(pod.uid)
            due = min(due, self._sync(store, pod, now))  # type: ignore[arg-type]
        for uid in [u for u in self.pods if u not in seen]:
            del self.pods[uid]
        report_volumes_in_use(store, self.node_name)   # volumemount.py: what the attach/detach controller must keep
        if not self._local_storage_eviction(store, now):   # localStorageEviction ends the pass when it evicts
            due = min(due, self._eviction(store, now))
        return min(due, self._memory_pressure(store, now))

    def resync(self) -> None:
        """Forget what was last sent, so the next pass writes every pod's status (a restarted kubelet)."""
        for rt in self.pods.values():
            rt.written = None

    # node-pressure eviction -----------------------------------------------------------------
    def _eviction(self, store: Store, now: float) -> float:
        """The eviction manager's memory signal: below memory.available<100Mi, evict one pod per 10s pass."""
        node = store.try_get("Node", self.node_name)
        if node is None:
            return math.inf
        capacity = Quantity.parse(str((node.status.get("capacity") or {}).get("memory", "0")))
        running = [p for p in store.list("Pod", where=lambda p: p.node_name == self.node_name)
                   if p.phase == "Running" and not p.deletion_timestamp]
        usage = {p.uid: _memory_use(p) for p in running}
        available = capacity - sum(usage.values(), Quantity.parse("0"))
        if not running or available >= EVICTION_THRESHOLD:
            self._pressure_since = None
            return math.inf
        self._pressure_seen = now
        if self._pressure_since is not None and now < self._pressure_since + EVICTION_INTERVAL:
            return self._pressure_since + EVICTION_INTERVAL
        self._pressure_since = now
        victim = min(running, key=lambda p: _eviction_rank(p, usage[p.uid]))
        request = _memory_request(victim)
        container = (victim.spec.get("containers") or [{}])[0].get("name", "")
        message = (f"The node was low on resource: memory. Threshold quantity: 100Mi, available: "
                   f"{available.value() // 1024}Ki. Container {container} was using {usage[victim.uid].value() // 1024}Ki, "
                   f"request is {request if request.value() else '0'}, has larger consumption of memory. ")
        self._evict(store, victim, message, now)
        return now + EVICTION_INTERVAL

    def _evict(self, store: Store, victim: Pod, message: str, now: float) -> None:
        """evictPod: phase Failed, reason Evicted with the message, containers unready, the DisruptionTarget
        condition (reason TerminationByKubelet, PodDisruptionConditions), an Evicted event."""
        def evicted(d: dict) -> None:
            status = d["status"]
            status.update(phase="Failed", reason="Evicted", message=message)
            for c in status.get("containerStatuses") or []:
                c["ready"] = False
            conditions = [c for c in status.get("conditions") or [] if c.get("type") != DISRUPTION_TARGET]
            for cond in conditions:
                if cond.get("type") in ("Ready", "ContainersReady") and cond.get("status") == "True":
                    cond.update(status="False", lastTransitionTime=rfc3339(now))
            conditions.insert(0, {"type": DISRUPTION_TARGET, "status": "True", "lastProbeTime": None,
                                  "lastTransitionTime": rfc3339(now), "reason": "TerminationByKubelet",
                                  "message": message})
            status["conditions"] = conditions

        store.update(victim.evolve(evicted))
        store.record_event(victim, "Warning", "Evicted", message, COMPONENT, self.node_name)
        rt = self.pods.get(victim.uid)
        if rt is not None:
            rt.reported.add("done")
        self.ipam.release(f"{victim.namespace}/{victim.name}")

    def _local_storage_eviction(self, store: Store, now: float) -> bool:
        """localStorageEviction: evict each running pod whose emptyDir outgrew its sizeLimit (emptyDirLimitEviction)
        or whose ephemeral storage outgrew its containers' limits (podEphemeralStorageLimitEviction)."""
        evicted = False
        for pod in store.list("Pod", where=lambda p: p.node_name == self.node_name):
            if pod.phase == "Running" and not pod.deletion_timestamp:
                message = local_storage_violation(pod)  # type: ignore[arg-type]
                if message is not None:
                    self._evict(store, pod, message, now)  # type: ignore[arg-type]
                    evicted = True
        return evicted

    def _memory_pressure(self, store: Store, now: float) -> float:
        """Post the node's MemoryPressure condition (module docstring); returns when it next turns False."""
        node = store.try_get("Node", self.node_name)
        if node is None:
            return math.inf
        pressure = self._pressure_seen is not None and now < self._pressure_seen + PRESSURE_TRANSITION
        status, reason, message, event = MEMORY_PRESSURE[pressure]
        current = node.condition("MemoryPressure")
        if (current.status if current is not None else "False") != status:
            stamp = rfc3339(now)

            def post(d: dict) -> None:
                conditions = d.setdefault("status", {}).setdefault("conditions", [])
                entry = next((c for c in conditions if c.get("type") == "MemoryPressure"), None)
                if entry is None:
                    entry = {"type": "MemoryPressure"}
                    conditions.insert(0, entry)   # kubelet's order: MemoryPressure, DiskPressure, PIDPressure, Ready
                entry.update(status=status, lastHeartbeatTime=stamp, lastTransitionTime=stamp, reason=reason,
                             message=message)

            node = store.update(node.evolve(post))
            store.record_event(node, "Normal", event, f"Node {self.node_name} status is now: {event}", COMPONENT,
                               self.node_name)
        return self._pressure_seen + PRESSURE_TRANSITION if pressure else math.inf

    # one pod ---------------------------------------------------------------------------
    def _sync(self, store: Store, pod: Pod, now: float) -> float:
        owner = f"{pod.namespace}/{pod.name}"
        rt = self.pods.get(pod.uid)
        if rt is None:
            rt = self.pods[pod.uid] = self._admit(pod, owner, now)
            if not rt.adopted and not pod.deletion_timestamp and pod.phase == "Pending":
                refused = self._can_admit(store, pod, now)
                if refused is not None:
                    self._reject(store, pod, rt, *refused)
                    return math.inf
        if rt.rejected and not pod.deletion_timestamp:
            return math.inf
        if pod.deletion_timestamp:
            return self._terminate(store, pod, rt, owner, now)
        if rt.adopted or pod.phase in ("Succeeded", "Failed") and "done" in rt.reported:
            return math.inf
        behaviour = Behaviour.of(pod.annotations, list(pod.spec.get("containers") or []))
        mounting = rt.volumes.observe(store, pod, rt.admitted, now)   # the sandbox waits for the volumes
        sandbox = mounting.ready + behaviour.start_seconds
        if now >= sandbox and not rt.address:
            rt.address = self._address(pod, owner)
            if self.topology is not None:
                record_dns_warnings(store, pod, self.topology, self.node_name)   # the sandbox's resolv.conf
        rt.config.observe(store, pod)
        status, due, events = self._status(pod, rt, behaviour, sandbox, now)
        signature = (repr(status), rt.address)
        if signature != rt.written:
            rt.written = signature
            self._write(store, pod, status, now)
        for key, type_, reason, message in [*mounting.events, *events]:
            if key not in rt.reported:
                rt.reported.add(key)
                store.record_event(pod, type_, reason, message, COMPONENT, self.node_name)
        if status["phase"] in ("Succeeded", "Failed"):
            rt.reported.add("done")
        return min(due, mounting.due)

    def _pressure_conditions(self, now: float) -> tuple[str, ...]:
        """The eviction manager's node conditions (nodeConditions): MemoryPressure while the threshold was met
        within the transition period; netsim's eviction manager has no other signal."""
        seen = self._pressure_seen
        return ("MemoryPressure",) if seen is not None and now < seen + PRESSURE_TRANSITION else ()

    def _can_admit(self, store: Store, pod: Pod, now: float) -> tuple[str, str] | None:
        """canAdmitPod: the first admit handler's (reason, message) refusing `pod`, else None (admission.py)."""
        refused = eviction_admit(pod, self._pressure_conditions(now))
        node = store.try_get("Node", self.node_name)
        if refused is None and node is not None:
            admitted = [p for p in store.list("Pod", where=lambda p: p.node_name == self.node_name)
                        if p.uid != pod.uid and p.uid in self.pods and not self.pods[p.uid].rejected
                        and p.phase not in ("Succeeded", "Failed")]
            refused = resource_admit(pod, node, admitted)  # type: ignore[arg-type]
        return refused

    def _reject(self, store: Store, pod: Pod, rt: PodRuntime, reason: str, message: str) -> None:
        """rejectPod: a Warning event with the reason and message; phase Failed, the reason and
        "Pod was rejected: " + message (the conditions the kubelet does not own are kept)."""
        rt.rejected = True
        rt.reported.add("done")
        store.record_event(pod, "Warning", reason, message, COMPONENT, self.node_name)
        stamp = rfc3339(rt.admitted)

        def rejected(d: dict) -> None:
            status = d.setdefault("status", {})
            status.update(phase="Failed", reason=reason, message="Pod was rejected: " + message)
            status["conditions"] = [c for c in status.get("conditions") or []
                                    if c.get("type") not in KUBELET_CONDITIONS]
            status.setdefault("startTime", stamp)

        store.update(store.get("Pod", pod.name, pod.namespace).evolve(rejected))

    def _unpullable(self) -> tuple[str, ...]:
        return self.topology.unpullable_images if self.topology is not None else ()

    def _admit(self, pod: Pod, owner: str, now: float) -> PodRuntime:
        if pod.phase == "Running" and pod.status.get("containerStatuses"):
            if pod.pod_ip and not pod.host_network:
                self.ipam.reserve(pod.pod_ip, owner)   # a pod that was running before (a dump)
            return PodRuntime(now, pod.pod_ip or "", adopted=True)
        return PodRuntime(now)

    def _address(self, pod: Pod, owner: str) -> str:
        if pod.host_network:
            return self.node_ip
        if pod.pod_ip:
            self.ipam.reserve(pod.pod_ip, owner)
            return pod.pod_ip
        return str(self.ipam.allocate(owner))

    def _status(self, pod: Pod, rt: PodRuntime, b: Behaviour, sandbox: float, now: float):
        """(status, next change, events due) of a pod that is not being deleted."""
        spec = pod.spec
        policy = spec.get("restartPolicy", "Always")
        containers = list(spec.get("containers") or [])
        inits = list(spec.get("initContainers") or [])
        events: list[tuple] = []
        due = math.inf
        ident = f"{pod.name}_{pod.namespace}({pod.uid})"
        stamp = rfc3339

        # init containers, one after another
        init_statuses, initialized, init_failed = [], True, False
        cursor = sandbox
        if now < sandbox:
            due = min(due, sandbox)
        init_behaviour = Behaviour(run_seconds=b.init_seconds, exit_code=b.init_exit_code)
        init_policy = "Never" if policy == "Never" else "OnFailure"
        for i, c in enumerate(inits):
            entry = {"name": c["name"], "image": c.get("image", ""), "imageID": "", "ready": False,
                     "restartCount": 0, "started": False, "lastState": {}}
            if now < cursor or not initialized:
                entry["state"] = {"waiting": {"reason": "PodInitializing"}}
                initialized = False
                init_statuses.append(entry)
                continue
            phase = container_phase(init_behaviour, init_policy, cursor, now)
            self._start_events(events, c, cursor, phase, ident, stamp, prefix="init")
            entry.update(self._container_state(phase, c, ident, stamp))
            entry["ready"] = phase.state == "terminated" and phase.last.exit_code == 0
            init_statuses.append(entry)
            due = min(due, phase.next_change)
            if phase.state == "terminated" and phase.last.exit_code == 0:
                cursor = phase.last.finished
                continue
            initialized = False
            init_failed = phase.state == "terminated"
        main_start = cursor if initialized else math.inf

        statuses, all_ready, finished = [], True, []
        config_waiting = creating = False
        for c in containers:
            entry = {"name": c["name"], "image": c.get("image", ""), "imageID": "", "ready": False,
                     "restartCount": 0, "started": False, "lastState": {}}
            if now < main_start:
                reason = "PodInitializing" if inits else "ContainerCreating"
                entry["state"] = {"waiting": {"reason": reason}}
                all_ready = False
                statuses.append(entry)
                continue
            if c.get("image", "") in self._unpullable():
                reason, change, attempts = pull_phase(main_start, now)
                message = (f'Back-off pulling image "{c.get("image", "")}"' if reason == "ImagePullBackOff"
                           else f'failed to pull and unpack image "{c.get("image", "")}": not found')
                entry["state"] = {"waiting": {"reason": reason, "message": message}}
                for n in range(attempts):
                    events.append((("pulling", c["name"], n), "Normal", "Pulling", f'Pulling image "{c.get("image")}"'))
                    events.append((("pullfail", c["name"], n), "Warning", "Failed",
                                   f'Failed to pull image "{c.get("image")}": {message if reason == "ErrImagePull" else "not found"}'))
                    events.append((("errpull", c["name"], n), "Warning", "Failed", "Error: ErrImagePull"))
                if reason == "ImagePullBackOff":
                    events.append((("pullbackoff", c["name"], attempts), "Normal", "BackOff",
                                   f'Back-off pulling image "{c.get("image")}"'))
                    events.append((("errbackoff", c["name"], attempts), "Warning", "Failed", "Error: ImagePullBackOff"))
                due = min(due, change)
                all_ready = False
                statuses.append(entry)
                continue
            cb = Behaviour.of(pod.annotations, containers, c["name"], tmpfs_charge(pod))   # its own behaviour
            if cb.create_error:
                entry["state"] = {"waiting": {"reason": "CreateContainerError", "message": cb.create_error}}
                events.append((("failed", c["name"]), "Warning", "Failed", f"Error: {cb.create_error}"))
                all_ready = False
                statuses.append(entry)
                continue
            grace = float(spec.get("terminationGracePeriodSeconds", DEFAULT_GRACE_SECONDS))
            gate = rt.config.gate(c, main_start, now)
            if gate.waiting:   # configwait.py: a required ConfigMap, Secret or key is missing
                entry["state"] = {"waiting": {"reason": CONFIG_ERROR, "message": gate.message}}
                events.extend(gate.events)
                due, all_ready, config_waiting = min(due, gate.retry), False, True
                statuses.append(entry)
                continue
            phase = container_phase(cb, policy, gate.start, now, c, grace, prestop_seconds(c, pod.annotations))
            self._start_events(events, c, gate.start, phase, ident, stamp)
            due = min(due, self._hook_events(events, c, cb, phase, now))
            hidden = phase.state == "running" and now < phase.shown   # its postStart hook holds the pod worker
            if hidden:
                entry.update(self._hidden_state(phase, c, cb, ident, rt.address, stamp))
                creating = creating or phase.before == "ContainerCreating"
            else:
                entry.update(self._container_state(phase, c, ident, stamp))
            due = min(due, phase.next_change, self._probe_events(events, c, cb, phase, policy, now, rt.address))
            if phase.state == "running" and not hidden:
                started_at = probe_run(cb, c, phase.since).started
                ready_at, _ = readiness(c, phase.since, started_at, cb.ready_seconds)
                entry["started"] = now >= started_at
                entry["ready"] = now >= ready_at
            elif phase.state == "terminated":
                finished.append(phase.last.exit_code)
            all_ready = all_ready and entry["ready"]
            statuses.append(entry)

        if init_failed:
            pod_phase = "Failed"
        elif main_start == math.inf or now < main_start or config_waiting or creating or any(
                "waiting" in (s.get("state") or {}) and not (s.get("lastState") or {}).get("terminated")
                for s in statuses):
            pod_phase = "Pending"   # getPhase: a container waiting that never ran keeps the pod Pending
        elif len(finished) == len(containers) and containers:
            pod_phase = "Succeeded" if all(code == 0 for code in finished) else "Failed"
        else:
            pod_phase = "Running"

        unready = [s["name"] for s in statuses if not s["ready"]]
        conditions = {
            "PodReadyToStartContainers": now >= sandbox,
            "Initialized": initialized and (not inits or now >= main_start),
            "ContainersReady": all_ready and bool(containers),
            "Ready": all_ready and bool(containers),
            "PodScheduled": True,
        }
        reasons = {}
        if not conditions["Initialized"]:
            pending = [s["name"] for s in init_statuses if not s["ready"]]
            reasons["Initialized"] = ("ContainersNotInitialized", f"containers with incomplete status: [{' '.join(pending)}]")
        if not conditions["Ready"]:
            if pod_phase in ("Succeeded", "Failed"):
                reasons["Ready"] = reasons["ContainersReady"] = ("PodCompleted", "")
            else:
                message = f"containers with unready status: [{' '.join(unready)}]"
                reasons["Ready"] = ("ContainersNotReady", message)
                reasons["ContainersReady"] = ("ContainersNotReady", message)
        status = {"phase": pod_phase, "conditions": conditions, "reasons": reasons,
                  "containerStatuses": statuses, "initContainerStatuses": init_statuses,
                  "started": now >= sandbox}
        return status, due, events

    @staticmethod
    def _probe_events(events: list, c: dict, b: Behaviour, phase: ContainerPhase, policy: str, now: float,
                      ip: str) -> float:
        """The prober's events of every run so far (an Unhealthy per failed startup, liveness or readiness
        probe, a Killing per probe kill); returns when the next probe result or kill is due (inf: none)."""
        due = math.inf
        runs = [(i, r.started, r.finished) for i, r in enumerate(phase.runs)]
        if phase.state == "running":
            runs.append((phase.restarts, phase.since, math.inf))
        name = c["name"]
        for index, begun, ended in runs:
            probes = probe_run(b, c, begun)
            ready_at, unready = readiness(c, begun, probes.started, b.ready_seconds)
            failed = list(probes.failures) + [(t, None) for t in unready if t < ended]   # probes end with the run
            for t, probe in sorted(failed, key=lambda f: f[0]):
                if t > now:
                    due = min(due, t)
                    break
                message = failure_message(probe, c, ip) if probe is not None else _readiness_failure(c, ip)
                kind = probe.kind if probe is not None else "readiness"
                events.append((("unhealthy", name, index, kind, t), "Warning", "Unhealthy", message))
            if probes.killed <= now:
                message = f"Container {name} failed {probes.killed_by} probe"
                events.append((("probe-kill", name, index), "Normal", "Killing",
                               message + (", will be restarted" if policy != "Never" else "")))
            for t in (probes.started, ready_at, probes.killed):
                if now < t <= ended:
                    due = min(due, t)
        return due

    @staticmethod
    def _hook_events(events: list, c: dict, b: Behaviour, phase: ContainerPhase, now: float) -> float:
        """startContainer's events of each failed postStart hook so far: FailedPostStartHook (the message
        withheld, "so that secrets won't leak") and the Killing that follows; returns when the next is due."""
        hook = b.poststart
        if hook is None or not hook.fails:
            return math.inf
        begins = [r.started for r in phase.runs] + ([phase.since] if phase.state == "running" else [])
        for index, begun in enumerate(begins):
            if now < begun + hook.seconds:
                return begun + hook.seconds
            events.append((("poststart", c["name"], index), "Warning", "FailedPostStartHook", "PostStartHook failed"))
            events.append((("poststart-kill", c["name"], index), "Normal", "Killing", "FailedPostStartHook"))
        return math.inf

    @staticmethod
    def _hidden_state(phase: ContainerPhase, c: dict, b: Behaviour, ident: str, ip: str, stamp) -> dict:
        """What the status shows of a container whose postStart hook is running: what the sync that started
        it wrote (lifecycle.ContainerPhase.before), the exited instance's restartCount and lastState."""
        last = phase.last
        def terminated(run) -> dict:
            return {"terminated": {"exitCode": run.exit_code, "reason": run.reason,
                                   "startedAt": stamp(run.started), "finishedAt": stamp(run.finished)}}
        if last is None:
            return {"state": {"waiting": {"reason": "ContainerCreating"}}, "restartCount": 0, "lastState": {}}
        restarts = phase.restarts - 1
        if phase.before == "Terminated":
            previous = phase.runs[-2] if len(phase.runs) > 1 else None
            return {"state": terminated(last), "restartCount": restarts,
                    "lastState": terminated(previous) if previous else {}}
        if phase.before == "PostStartHookError":
            hook = b.poststart
            message = poststart_failure(c, ident, ip, hook.exit_code if hook is not None else 0)
        else:
            wait = int(phase.since - last.finished)
            message = f"back-off {wait}s restarting failed container={c['name']} pod={ident}"
        return {"state": {"waiting": {"reason": phase.before, "message": message}}, "restartCount": restarts,
                "lastState": terminated(last)}

    @staticmethod
    def _start_events(events: list, c: dict, first: float, phase: ContainerPhase, ident: str, stamp,
                      prefix: str = "") -> None:
        name = c["name"]
        image = c.get("image", "")
        starts = 1 + phase.restarts if phase.state == "running" else len(phase.runs)
        for n in range(starts):
            events.append(((prefix, "pulled", name, n), "Normal", "Pulled",
                           f'Container image "{image}" already present on machine'))
            events.append(((prefix, "created", name, n), "Normal", "Created", f"Created container {name}"))
            events.append(((prefix, "started", name, n), "Normal", "Started", f"Started container {name}"))
        if phase.state == "backoff" and phase.backoff:
            events.append(((prefix, "backoff", name, phase.restarts), "Warning", "BackOff",
                           f"Back-off restarting failed container {name} in pod {ident}"))

    @staticmethod
    def _container_state(phase: ContainerPhase, c: dict, ident: str, stamp) -> dict:
        def terminated(run) -> dict:
            return {"terminated": {"exitCode": run.exit_code, "reason": run.reason,
                                   "startedAt": stamp(run.started), "finishedAt": stamp(run.finished)}}
        last = terminated(phase.last) if phase.last is not None and phase.state != "terminated" else {}
        if phase.state == "running":
            return {"state": {"running": {"startedAt": stamp(phase.since)}}, "started": True,
                    "restartCount": phase.restarts, "lastState": last}
        if phase.state == "backoff":
            message = f"back-off {int(phase.backoff)}s restarting failed container={c['name']} pod={ident}"
            # the waiting status keeps the exited instance's restartCount (convertToAPIContainerStatuses)
            return {"state": {"waiting": {"reason": "CrashLoopBackOff", "message": message}},
                    "restartCount": phase.restarts - 1, "lastState": last}
        previous = phase.runs[-2] if len(phase.runs) > 1 else None
        return {"state": terminated(phase.last), "restartCount": phase.restarts,
                "lastState": terminated(previous) if previous else {}}

    def _write(self, store: Store, pod: Pod, computed: dict, now: float) -> None:
        stamp = rfc3339(now)
        old = {c.type: c for c in pod.conditions}
        scheduled = next((c for c in pod.status.get("conditions") or [] if c.get("type") == "PodScheduled"), None)

        def change(d: dict) -> None:
            status = d.setdefault("status", {})
            status["phase"] = computed["phase"]
            conditions = []
            for type_ in CONDITION_ORDER:
                if type_ == "PodScheduled" and scheduled is not None:
                    conditions.append(dict(scheduled))
                    continue
                value = "True" if computed["conditions"][type_] else "False"
                before = old.get(type_)
                entry = {"type": type_, "status": value, "lastProbeTime": None,
                         "lastTransitionTime": before.last_transition_time
                         if before is not None and before.status == value else stamp}
                reason, message = computed["reasons"].get(type_, ("", ""))
                if reason:
                    entry["reason"] = reason
                if message:
                    entry["message"] = message
                conditions.append(entry)
            status["conditions"] = conditions
            status["hostIP"] = self.node_ip
            status["hostIPs"] = [{"ip": self.node_ip}]
            rt = self.pods[pod.uid]
            if rt.address:
                status["podIP"] = rt.address
                status["podIPs"] = [{"ip": rt.address}]
            status.setdefault("startTime", rfc3339(rt.admitted))
            status["containerStatuses"] = computed["containerStatuses"]
            if computed["initContainerStatuses"]:
                status["initContainerStatuses"] = computed["initContainerStatuses"]

        store.update(pod.evolve(change))

    # termination -------------------------------------------------------------------------
    def _terminate(self, store: Store, pod: Pod, rt: PodRuntime, owner: str, now: float) -> float:
        """The termination sequence (module docstring); returns when it next moves."""
        started = [s for s in pod.status.get("containerStatuses") or [] if (s.get("state") or {}).get("running")]
        if rt.stopping is None:
            rt.stopping = now
            for s in started:
                store.record_event(pod, "Normal", "Killing", f"Stopping container {s['name']}", COMPONENT,
                                   self.node_name)
            pod = store.get("Pod", pod.name, pod.namespace)  # type: ignore[assignment]
        grace = float(pod.metadata.get("deletionGracePeriodSeconds") or 0)
        containers = list(pod.spec.get("containers") or [])
        by_name = {c["name"]: c for c in containers}
        exits = []
        for s in started:
            hook = prestop_seconds(by_name.get(s["name"], {}), pod.annotations)
            shutdown = Behaviour.of(pod.annotations, containers, s["name"]).shutdown_seconds
            exits.append(killed_exit(rt.stopping, grace, hook, shutdown)[0])
        done_at = max(exits, default=now)
        if now < done_at:
            return done_at
        self.ipam.release(owner)
        del self.pods[pod.uid]
        store.delete("Pod", pod.name, pod.namespace, grace_period=0)
        return math.inf

    def stop_times(self, pod: Pod) -> float | None:
        """When this kubelet began terminating `pod` (None when it has not)."""
        rt = self.pods.get(pod.uid)
        return None if rt is None else rt.stopping


def _memory_use(pod: Pod) -> Quantity:
    """The pod's working set: each container's netsim.dev/<container>.memory or netsim.dev/memory (0: none), plus
    what its `medium: Memory` emptyDirs hold (tmpfs pages are charged to the memory cgroup of whoever wrote them)."""
    total = Quantity.parse("0")
    for c in pod.spec.get("containers") or []:
        raw = pod.annotations.get(f"netsim.dev/{c.get('name')}.memory", pod.annotations.get("netsim.dev/memory"))
        total = total + (Quantity.parse(raw) if raw else Quantity.parse("0"))
    memory = [v["name"] for v in pod.spec.get("volumes") or [] if (v.get("emptyDir") or {}).get("medium") == "Memory"]
    used = volume_usage(pod) if memory else {}
    for name in memory:
        total = total + Quantity.parse(used.get(name, 0))
    return total


def tmpfs_charge(pod: Pod) -> int:
    """Bytes of the pod's `medium: Memory` emptyDirs charged to its container's memory cgroup (0: none).

    tmpfs pages are charged to the cgroup of the process that first wrote them
    and stay charged after it exits (moved to the pod's cgroup). In a pod with
    one container and no init containers that is the container's cgroup, and
    the pod's limit is the container's, so every run of it counts the volume
    against its memory limit (OOMKilled above it). With several containers
    which one wrote the pages, and whether a restarted container still feels
    them, is not known: NotImplementedFeature when a memory limit makes it matter.
    """
    memory = [v["name"] for v in pod.spec.get("volumes") or [] if (v.get("emptyDir") or {}).get("medium") == "Memory"]
    used = volume_usage(pod) if memory else {}
    total = sum(used.get(name, 0) for name in memory)
    containers = list(pod.spec.get("containers") or [])
    if not total or (len(containers) == 1 and not pod.spec.get("initContainers")):
        return total
    everyone = containers + list(pod.spec.get("initContainers") or [])
    if any(((c.get("resources") or {}).get("limits") or {}).get("memory") is not None for c in everyone):
        raise NotImplementedFeature(f"Pod {pod.namespace}/{pod.name}: which container's memory cgroup a "
                                    "medium: Memory emptyDir is charged to, with several containers and a memory "
                                    "limit, is not emulated")
    return total


def local_storage_violation(pod: Pod) -> str | None:
    """The eviction message when the pod outgrew its local-storage limits, else None (localStorageEviction's order):
    an emptyDir using more than its sizeLimit, then the pod's ephemeral storage (its disk-backed emptyDirs; netsim
    has no container writable layers or logs) above the sum of its containers' ephemeral-storage limits."""
    def limits(key: str) -> list[Quantity]:
        return [Quantity.parse(str(x)) for c in pod.spec.get(key) or []
                if (x := ((c.get("resources") or {}).get("limits") or {}).get("ephemeral-storage")) is not None]

    regular, inits = limits("containers"), limits("initContainers")
    sized = any((v.get("emptyDir") or {}).get("sizeLimit") for v in pod.spec.get("volumes") or [])
    if not (sized or regular or inits):
        return None
    used = volume_usage(pod)
    for v in pod.spec.get("volumes") or []:
        limit = (v.get("emptyDir") or {}).get("sizeLimit") if "emptyDir" in v else None
        if limit is not None and v.get("name") in used:
            size = Quantity.parse(str(limit))
            if size.sign() > 0 and used[v["name"]] > size.value():
                return f'Usage of EmptyDir volume "{v["name"]}" exceeds the limit "{size.canonical()}". '
    if not regular and not inits:
        return None
    total = max([sum(regular, Quantity.parse("0")), *inits])   # PodLimits: the sum, or an init container's if larger
    disk = sum(used.get(v.get("name"), 0) for v in pod.spec.get("volumes") or []
               if "emptyDir" in v and (v.get("emptyDir") or {}).get("medium") != "Memory")
    if disk > total.value():
        return f"Pod ephemeral local storage usage exceeds the total limit of containers {total.canonical()}. "
    return None


def _memory_request(pod: Pod) -> Quantity:
    total = Quantity.parse("0")
    for c in pod.containers:
        if "memory" in c.requests:
            total = total + Quantity.parse(c.requests["memory"])
    return total


def _eviction_rank(pod: Pod, usage: Quantity) -> tuple:
    """rankMemoryPressure: usage above requests first, then lower priority, then more usage above requests."""
    over = (usage - _memory_request(pod)).value()
    return (0 if over > 0 else 1, int(pod.spec.get("priority", 0) or 0), -over, pod.namespace, pod.name)


def _readiness_failure(container: dict, ip: str) -> str:
    """The Unhealthy message of a readiness probe that finds nothing listening yet."""
    probe = Probe.of(container, "readiness")
    return failure_message(probe, container, ip) if probe is not None else ""
