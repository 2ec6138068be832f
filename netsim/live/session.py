"""`LiveSession`: one live run from start to removal — registry, namespaces, rules, applications, capture.

Entering a session checks the machine (LiveUnavailable, exit 2, when it
cannot), removes stale runs by their registry, registers a new run, and
builds the world from the emulator's `Network` and each node's ruleset;
leaving it — normally, on an exception, on Ctrl-C or on SIGTERM (which the
CLI turns into SystemExit) — stops the socket thread and deletes every
namespace of the run, then its registry entry. A failure while building
removes what was built before the error is raised.
"""

from __future__ import annotations

import signal
import threading
import time

from netsim.dataplane.network import Network
from netsim.live import registry
from netsim.live.apps import AppLog, start_apps
from netsim.live.capture import Capture, start_capture
from netsim.live.errors import LiveError
from netsim.live.loop import SocketLoop
from netsim.live.realize import World, realize


SETTLE = 0.002  # seconds for frames in flight through the namespaces when a client's socket returns


class LiveSession:
    """A context manager owning one live run (module docstring)."""

    def __init__(self, network: Network, rulesets: dict[str, str], scenario: str = "",
                 capture: bool = True) -> None:
        self.network = network
        self.rulesets = rulesets
        self.scenario = scenario
        self.want_capture = capture
        self.record: registry.RunRecord | None = None
        self.world: World | None = None
        self.loop: SocketLoop | None = None
        self.apps: AppLog = AppLog()
        self.capture: Capture = Capture()
        self.stale_removed: list[str] = []
        self.used_ports: set[tuple[str, int]] = set()  # (sender host, source port) the kernel has used

    def __enter__(self) -> LiveSession:
        registry.check_available()
        self.stale_removed = registry.clean_stale()
        self.record = registry.new_run(self.scenario)
        try:
            self.world = realize(self.network, self.rulesets, self.record)
            self.loop = SocketLoop()
            self.loop.start()
            self.apps = start_apps(self.world, self.loop)
            if self.want_capture:
                self.capture = start_capture(self.world, self.loop)
        except BaseException:
            self.close()
            raise
        return self

    def settle(self, accepted_after: int | None = None, timeout: float = 1.0) -> None:
        """Wait until the socket thread has read every frame of the last connection.

        Frames still inside the kernel when the client's socket returns (the
        handshake's last ACK crossing the namespaces) have no completion to
        observe, so the thread is drained after `SETTLE` seconds; when the
        client connected, it also waits until the server's accept shows in
        the application log (more than `accepted_after` arrivals).
        """
        assert self.loop is not None
        deadline = time.monotonic() + timeout
        time.sleep(SETTLE)
        self.loop.drain()
        while (accepted_after is not None and len(self.apps.arrivals) <= accepted_after
               and time.monotonic() < deadline):
            time.sleep(SETTLE)
            self.loop.drain()

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop the applications and remove every namespace of the run (idempotent).

        A second Ctrl-C or SIGTERM while removing is ignored, so removal is
        never cut short (from the main thread, where Python runs handlers).
        """
        saved = {}
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                saved[signum] = signal.signal(signum, signal.SIG_IGN)
        try:
            self._close()
        finally:
            for signum, handler in saved.items():
                signal.signal(signum, handler)

    def _close(self) -> None:
        loop, self.loop = self.loop, None
        errors = []
        if loop is not None:
            loop.stop()
            errors = loop.errors
        if self.record is not None:
            self.record.remove()
            self.record = None
        if errors:
            raise LiveError(f"the live socket thread failed: {errors[0]!r}") from errors[0]
