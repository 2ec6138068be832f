"""Runs and their registry: which namespaces a live run made, so that exactly those are removed.

Names, written once here: a run's id is `<pid in hex><counter>` of the
process that starts it; its namespaces are `nsl-<run id>-<n>` (n = 0, 1, ...
in the order the run builds them: hosts in sorted name order, then the L2
segments), short because namespace names end up in `ip` output and in
interface link-netns columns. The links of a run live only inside its
namespaces (nothing is created in the root namespace), and each carries the
alias `nsl-<run id>` so `ip -d link` shows whose it is.

The registry is one JSON file per run in /run/netsim-live/: the owner's pid
and process start time, and the namespaces with the host each stands for.
A namespace is recorded *before* it is created, so a run killed at any point
(SIGKILL included) leaves a registry that names everything it may have made.
A run is stale when its owner process is gone (or the pid now belongs to a
different process: the start time differs); the next start removes every
stale run's namespaces by the registry, never by matching names.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path

from netsim.live import netns
from netsim.live.errors import LiveError, LiveUnavailable

REGISTRY_DIR = Path("/run/netsim-live")
PREFIX = "nsl"
_counter = count()


def check_available() -> None:
    """LiveUnavailable (exit 2) unless this process can build live runs."""
    if os.name != "posix" or not Path("/proc/self/ns/net").exists():
        raise LiveUnavailable("live runs need Linux network namespaces")
    if os.geteuid() != 0:
        raise LiveUnavailable("live runs need root (creating network namespaces); run as root")
    for tool in ("ip", "bridge", "iptables-restore"):
        if shutil.which(tool) is None:
            raise LiveUnavailable(f"live runs need `{tool}` (iproute2, iptables) on PATH")
    if not Path("/proc/sys/net/bridge/bridge-nf-call-iptables").exists():
        raise LiveUnavailable("live runs need br_netfilter (Kubernetes does too): modprobe br_netfilter")


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks (field 22 of /proc/PID/stat), None when it is gone (or a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    return None if fields[0] in ("Z", "X") else fields[19]


@dataclass
class RunRecord:
    """One run's registry entry: owner process and the namespaces it made, name -> host."""

    run_id: str
    pid: int
    started: str
    namespaces: dict[str, str] = field(default_factory=dict)
    scenario: str = ""

    @property
    def path(self) -> Path:
        """The registry file."""
        return REGISTRY_DIR / f"{self.run_id}.json"

    def save(self) -> None:
        """Write the entry atomically (write, fsync, rename)."""
        REGISTRY_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w") as out:
            json.dump({"run": self.run_id, "pid": self.pid, "started": self.started, "scenario": self.scenario,
                       "namespaces": self.namespaces}, out, indent=1, sort_keys=True)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)

    def alive(self) -> bool:
        """True when the owner process still runs (same pid, same start time)."""
        return _start_time(self.pid) == self.started

    def namespace_for(self, host: str) -> str:
        """Record (and return) the next namespace name, for `host`, before it is created."""
        name = f"{PREFIX}-{self.run_id}-{len(self.namespaces)}"
        self.namespaces[name] = host
        self.save()
        return name

    def remove(self) -> list[str]:
        """Delete every namespace of the run, then the entry; returns the namespaces that existed."""
        gone = [name for name in sorted(self.namespaces) if netns.exists(name)]
        for name in gone:
            netns.delete(name)
        self.path.unlink(missing_ok=True)
        return gone


def new_run(scenario: str = "") -> RunRecord:
    """A fresh run owned by this process, registered before anything is created."""
    pid = os.getpid()
    record = RunRecord(f"{pid:x}{next(_counter)}", pid, _start_time(pid) or "", scenario=scenario)
    record.save()
    return record


def load(path: Path) -> RunRecord | None:
    """Read one registry file; None when it is gone (another start removed it meanwhile)."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
        return RunRecord(data["run"], int(data["pid"]), str(data["started"]), dict(data["namespaces"]),
                         data.get("scenario", ""))
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise LiveError(f"{path}: not a netsim live registry entry ({err})") from None


def runs() -> list[RunRecord]:
    """Every registered run, by id."""
    if not REGISTRY_DIR.is_dir():
        return []
    found = [load(p) for p in REGISTRY_DIR.glob("*.json")]
    return sorted((r for r in found if r is not None), key=lambda r: r.run_id)


def clean_stale() -> list[str]:
    """Remove the runs whose owner is gone; returns the namespaces removed."""
    removed = []
    for record in runs():
        if not record.alive():
            removed += record.remove()
    return removed


def stop(record: RunRecord, timeout: float = 10.0) -> list[str]:
    """End a run: ask a live owner to tear down (SIGTERM), then remove whatever is left."""
    if record.alive() and record.pid != os.getpid():
        os.kill(record.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while record.alive() and time.monotonic() < deadline:
            time.sleep(0.05)
    return record.remove()
