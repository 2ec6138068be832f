"""CreateContainerConfigError: a container whose config kubelet cannot make waits, and kubelet retries on its syncs.

kuberuntime startContainer pulls the image (a `Pulled` event), then
generateContainerConfig; when that fails (a required ConfigMap, Secret or
key of podenv.py is missing) it records a Warning `Failed` event
`Error: <message>` and the container waits with reason
CreateContainerConfigError and that message. The pod worker requeues a
pod whose sync failed after backOffPeriod (10s; real kubelet adds up to
50% jitter, netsim does not), so each retry records the pair again (the
recorder counts them), and the container starts at the first retry after
the object appears. A container that has started keeps running; its
config is made again only on a restart, which netsim does not re-check.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from netsim.api.objects import Pod
from netsim.api.store import Store
from netsim.kubelet.podenv import ConfigError, container_env

RETRY_SECONDS = 10.0     # kubelet.go backOffPeriod: the pod worker's requeue after a failed sync
REASON = "CreateContainerConfigError"


@dataclass(slots=True)
class _Wait:
    """One container's history: when its config first failed, the last message, when it starts."""

    first: float
    message: str = ""
    start: float | None = None


@dataclass(frozen=True, slots=True)
class Gate:
    """What the kubelet does with one container now: wait (with events, retry time) or start at `start`."""

    waiting: bool
    start: float = 0.0
    message: str = ""
    retry: float = math.inf
    events: tuple = ()


@dataclass(slots=True)
class ConfigGate:
    """Per pod: the containers' config errors seen at the last sync, and each container's waiting history."""

    errors: dict = field(default_factory=dict)
    waits: dict = field(default_factory=dict)

    def observe(self, store: Store, pod: Pod) -> None:
        """Try to make each container's environment now (kubelet does on every sync); keep the errors."""
        self.errors = {}
        for c in pod.spec.get("containers") or []:
            if c.get("name") in self.waits and self.waits[c["name"]].start is not None:
                continue
            try:
                container_env(store, pod, c)
            except ConfigError as err:
                self.errors[c.get("name")] = str(err)

    def gate(self, container: dict, first_try: float, now: float) -> Gate:
        """Whether `container`, due to start at `first_try`, waits at `now`; the events its retries recorded."""
        name = container["name"]
        wait = self.waits.get(name)
        error = self.errors.get(name)
        if wait is None:
            if error is None:
                self.waits[name] = _Wait(first_try, start=first_try)
                return Gate(False, start=first_try)
            wait = self.waits[name] = _Wait(first_try, error)
        if wait.start is None:
            if error is not None:
                wait.message = error
                tries = int((now - wait.first) // RETRY_SECONDS) + 1
                return Gate(True, message=error, retry=wait.first + tries * RETRY_SECONDS,
                            events=self._events(container, error, tries))
            tries = math.ceil((now - wait.first) / RETRY_SECONDS - 1e-9)
            wait.start = wait.first + max(tries, 1) * RETRY_SECONDS
        if now < wait.start:
            tries = int((wait.start - wait.first) // RETRY_SECONDS)
            return Gate(True, message=wait.message, retry=wait.start,
                        events=self._events(container, wait.message, tries))
        return Gate(False, start=wait.start)

    @staticmethod
    def _events(container: dict, message: str, tries: int) -> tuple:
        """(key, type, reason, message) per failed try: Pulled, then Failed `Error: <message>`."""
        name, image = container["name"], container.get("image", "")
        out = []
        for n in range(tries):
            out.append((("config", "pulled", name, n), "Normal", "Pulled",
                        f'Container image "{image}" already present on machine'))
            out.append((("config", "failed", name, n), "Warning", "Failed", f"Error: {message}"))
        return tuple(out)
