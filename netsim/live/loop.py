"""One thread that serves every socket of a live run: echo servers, ARP responders, capture sockets.

Sockets are opened by the caller inside their namespaces (netns.inside) and
handed to `SocketLoop.add` with a callback run in the loop's thread when the
socket is readable. `stop()` wakes the thread through a pipe and joins it.
"""

from __future__ import annotations

import os
import selectors
import threading
from typing import Callable


class SocketLoop:
    """A selector loop in a daemon thread; callbacks take the ready socket."""

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = os.pipe()
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._lock = threading.Lock()
        self._stopping = False
        self._drain_requests: list[threading.Event] = []
        self._thread = threading.Thread(target=self._run, name="netsim-live", daemon=True)
        self.errors: list[BaseException] = []

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def add(self, sock, callback: Callable) -> None:
        """Serve `sock`: `callback(sock)` whenever it is readable."""
        with self._lock:
            self._selector.register(sock, selectors.EVENT_READ, callback)
        os.write(self._wake_w, b"x")

    def remove(self, sock) -> None:
        """Stop serving `sock` (the caller closes it)."""
        with self._lock:
            try:
                self._selector.unregister(sock)
            except (KeyError, ValueError):
                pass

    def drain(self, timeout: float = 5.0) -> None:
        """Return once the thread has served everything readable now (every queued frame read)."""
        done = threading.Event()
        with self._lock:
            self._drain_requests.append(done)
        os.write(self._wake_w, b"x")
        done.wait(timeout)

    def _serve(self, timeout: float) -> int:
        ready = self._selector.select(timeout=timeout)
        served = 0
        for key, _ in ready:
            if key.data is None:
                os.read(self._wake_r, 4096)
                continue
            served += 1
            try:
                key.data(key.fileobj)
            except OSError:
                self.remove(key.fileobj)
                key.fileobj.close()
            except BaseException as err:  # reported by stop(), never swallowed
                self.errors.append(err)
        return served

    def _run(self) -> None:
        while not self._stopping:
            self._serve(1.0)
            with self._lock:
                requests, self._drain_requests = self._drain_requests, []
            if requests:
                while self._serve(0):
                    pass
                for done in requests:
                    done.set()

    def stop(self) -> None:
        """Stop the thread and close every socket it served."""
        self._stopping = True
        os.write(self._wake_w, b"x")
        if self._thread.is_alive():
            self._thread.join()
        for key in list(self._selector.get_map().values()):
            if key.data is not None:
                key.fileobj.close()
        self._selector.close()
        os.close(self._wake_r)
        os.close(self._wake_w)
