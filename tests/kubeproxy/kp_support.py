"""Test helpers for tests/kubeproxy: golden files, canonical sorting, live iptables round trips.

`canonical_sort` is an independent re-implementation of proxier_test.go
`sortIPTablesRules` over plain text (the package's own ordering lives in
netsim.kubeproxy.rules); tests use it to put real iptables-save output and
kube-proxy's expected outputs into the same order as the renderer.
"""

from __future__ import annotations

import difflib
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parent
DATA_DIR = TESTS_DIR / "data"
GOLDEN_DIR = TESTS_DIR.parent / "golden" / "kubeproxy"
BUILTINS = {"INPUT", "FORWARD", "OUTPUT", "PREROUTING", "POSTROUTING"}


def parse(text: str) -> dict[str, tuple[list[str], dict[str, list[str]]]]:
    """table → (chain lines in order, chain → its -A lines in order). Comments are skipped."""
    tables: dict[str, tuple[list[str], dict[str, list[str]]]] = {}
    cur = None
    for line in text.splitlines():
        if not line or line.startswith("#") or line == "COMMIT":
            continue
        if line.startswith("*"):
            cur = tables.setdefault(line[1:], ([], {}))
        elif line.startswith(":"):
            cur[0].append(line)
            cur[1].setdefault(line[1:].split()[0], [])
        else:
            chain = line.split()[1]
            cur[1].setdefault(chain, []).append(line)
    return tables


def _comment(line: str) -> str | None:
    args = shlex.split(line)
    for i, a in enumerate(args[:-1]):
        if a == "--comment":
            return args[i + 1]
    return None


def _svc_name(line: str) -> str:
    c = _comment(line) or ""
    cut = [i for i in (c.find(" "), c.find(":")) if i >= 0]
    return c[: min(cut)] if cut else c


def _chain_key(name: str) -> tuple[int, str]:
    if name == "KUBE-NODEPORTS":
        return (0, "")
    if name == "KUBE-SERVICES":
        return (1, "")
    return (2 if name.startswith("KUBE-") else 3, name)


def canonical_sort(text: str) -> str:
    """Order iptables-save text as sortIPTablesRules does."""
    out = []
    for table in sorted(parse(text)):
        decls, rules = parse(text)[table]
        chains = sorted(rules, key=_chain_key)
        decl_of = {d[1:].split()[0]: d for d in decls}
        out.append(f"*{table}")
        out += [decl_of[c] for c in chains if c in decl_of]
        for c in chains:
            lines = rules[c]
            if c in ("KUBE-SERVICES", "KUBE-NODEPORTS"):
                lines = sorted(lines, key=lambda l: (1, "") if "must be the last rule" in (_comment(l) or "")
                               else (0, _svc_name(l)))
            out += lines
        out.append("COMMIT")
    return "\n".join(out) + "\n"


def without_node_extras(text: str) -> str:
    """Drop what kube-proxy's sync does not write itself: built-in chains and their jumps,
    the canary chains and the mangle table (so the text compares with proxier_test.go's)."""
    out = []
    skip = False
    for line in text.splitlines():
        if line.startswith("*"):
            skip = line == "*mangle"
        if skip:
            continue
        if line.startswith(":"):
            name = line[1:].split()[0]
            if name in BUILTINS or name == "KUBE-PROXY-CANARY":
                continue
        if line.startswith("-A ") and line.split()[1] in BUILTINS:
            continue
        out.append(line)
    return "\n".join(out) + "\n"


def tables_by_name(text: str) -> dict[str, str]:
    """Split iptables-save text into one block per table (table order differs between backends)."""
    blocks: dict[str, list[str]] = {}
    cur: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        if line.startswith("*"):
            cur = blocks.setdefault(line[1:], [])
        if cur is not None:
            cur.append(line)
    return {k: "\n".join(v) + "\n" for k, v in blocks.items()}


def diff(expected: str, actual: str, expected_name: str = "expected", actual_name: str = "actual") -> str:
    return "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True), expected_name, actual_name))


def assert_text_equal(expected: str, actual: str, what: str) -> None:
    if expected != actual:
        raise AssertionError(f"{what} differs:\n{diff(expected, actual)}\n--- whole output ---\n{actual}")


# --- live iptables (root, netns) -------------------------------------------------------

_counter = [0]


def live_skip_reason(backend: str = "nft") -> str | None:
    """Why a live iptables round trip cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root to create a network namespace"
    tool = "iptables-nft-restore" if backend == "nft" else "iptables-legacy-restore"
    if shutil.which(tool) is None or shutil.which("ip") is None:
        return f"{tool} or ip(8) not installed"
    return None


# Creates nfacct counter objects (nfnetlink_acct, NFNL_MSG_ACCT_NEW) in the current network
# namespace; `-m nfacct` rules only load once their counter exists (kube-proxy's nfacct.Ensure).
_NFACCT_ADD = r"""
import os, socket, struct, sys
for name in sys.argv[1:]:
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)  # NETLINK_NETFILTER
    s.bind((0, 0))
    value = name.encode() + b"\0"
    attr = struct.pack("=HH", 4 + len(value), 1) + value  # NFACCT_NAME
    attr += b"\0" * (-len(attr) % 4)
    body = struct.pack("=BBH", socket.AF_UNSPEC, 0, 0) + attr
    s.send(struct.pack("=IHHII", 16 + len(body), 7 << 8, 0x1 | 0x4 | 0x400, 1, 0) + body)
    err = struct.unpack("=i", s.recv(4096)[16:20])[0]
    if err:
        raise OSError(-err, os.strerror(-err), name)
"""


def iptables_round_trip(text: str, backend: str = "nft", nfacct_counters: tuple[str, ...] = ()) -> str:
    """Load `text` with iptables-restore in a scratch netns and return iptables-save's output
    (header comments dropped). `nfacct_counters` are created first. The namespace is named
    nskp-<pid>-<n> and always removed."""
    _counter[0] += 1
    ns = f"nskp-{os.getpid()}-{_counter[0]}"
    restore, save = (("iptables-nft-restore", "iptables-nft-save") if backend == "nft"
                     else ("iptables-legacy-restore", "iptables-legacy-save"))
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        if nfacct_counters:
            subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", _NFACCT_ADD, *nfacct_counters],
                           check=True, capture_output=True)
        loaded = subprocess.run(["ip", "netns", "exec", ns, restore], input=text, text=True,
                                capture_output=True)
        if loaded.returncode:
            raise AssertionError(f"{restore} refused the text: {loaded.stderr}\n{text}")
        got = subprocess.run(["ip", "netns", "exec", ns, save], text=True, check=True,
                             capture_output=True).stdout
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=True)
    return "".join(l + "\n" for l in got.splitlines() if not l.startswith("#"))
