"""Entering network namespaces from this process, and running iproute2 and iptables inside them.

`inside(name)` moves the calling thread into `/run/netns/NAME` with setns(2)
and back on exit: sockets created there stay in that namespace for good,
which is how the echo servers, the ARP responders, the capture sockets and
the clients of netsim/live/ all live in one process. setns(2) changes only
the calling thread, so other threads are not disturbed. pyroute2's
`netns.pushns` does the same, but in 0.9 it is wrapped for mocking and
creates the namespace when it is missing; a ten-line ctypes call that never
creates anything is clearer here.

`ip -n NS -batch -` applies one host's whole configuration in one process,
in the iproute2 syntax the dataplane's docstrings are written in (each
`Host` method names the `ip` command it mirrors), and `iptables-restore`
runs under `ip netns exec` because iptables has no namespace option.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
from contextlib import contextmanager
from pathlib import Path

from netsim.live.errors import LiveError

NETNS_DIR = Path("/run/netns")
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise LiveError(f"setns: {os.strerror(err)}")


@contextmanager
def inside(name: str):
    """Run the block with the calling thread in network namespace `name` (never creates it)."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open(NETNS_DIR / name, os.O_RDONLY)
    except OSError as err:
        os.close(home)
        raise LiveError(f"network namespace {name}: {err.strerror}") from None
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(home)
    finally:
        os.close(target)
        os.close(home)


def run(command: list[str], *, stdin: str | None = None, what: str = "") -> str:
    """Run a command; LiveError with its stderr when it fails."""
    proc = subprocess.run(command, input=stdin, capture_output=True, text=True)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip()
        raise LiveError(f"{what or ' '.join(command)}: {detail} (exit {proc.returncode})")
    return proc.stdout


def ip_batch(ns: str, lines: list[str], *, tool: str = "ip", what: str = "") -> None:
    """`ip -n NS -batch -` (or `bridge -n NS -batch -`) with `lines`; stops at the first error."""
    if lines:
        run([tool, "-n", ns, "-batch", "-"], stdin="".join(line + "\n" for line in lines), what=what)


def exec_in(ns: str, command: list[str], *, stdin: str | None = None, what: str = "") -> str:
    """`ip netns exec NS COMMAND`."""
    return run(["ip", "netns", "exec", ns, *command], stdin=stdin, what=what)


def sysctl(ns: str, key: str, value: str | int) -> None:
    """Write a per-namespace sysctl, `key` slash-separated (net/ipv4/conf/flannel.1/proxy_arp).

    /proc/sys/net shows the namespace of the task that opens it, so the file
    is opened with the thread inside `ns`.
    """
    with inside(ns):
        path = Path("/proc/sys") / key
        try:
            path.write_text(f"{value}\n")
        except OSError as err:
            raise LiveError(f"{ns}: sysctl {key}={value}: {err.strerror}") from None


def exists(name: str) -> bool:
    """True when /run/netns/NAME exists."""
    return (NETNS_DIR / name).exists()


def add(name: str) -> None:
    """`ip netns add NAME`."""
    run(["ip", "netns", "add", name])


def delete(name: str) -> None:
    """`ip netns del NAME` (the links inside go with it); nothing when it is already gone.

    Two starts may clean the same stale run at once: losing that race is not an error.
    """
    if exists(name):
        try:
            run(["ip", "netns", "del", name])
        except LiveError:
            if exists(name):
                raise
