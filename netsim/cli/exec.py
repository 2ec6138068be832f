"""`netsim exec POD [-c CONTAINER] [-n NS] -- COMMAND`: what a command shows in a pod's container, as kubectl exec does.

Emulated commands, over what netsim knows of the container (kubelet/podenv.py
for the environment, kubelet/podfiles.py for the mounts and their files):
`env`, `printenv [NAME...]`, `hostname`, `cat PATH...`, `ls [-l] [-a] [PATH...]`,
`df [-h] [-T] [PATH...]`. Output follows GNU coreutils (cli/coreutils.py). A
command that fails in the container (a missing file) prints its stderr and
`command terminated with exit code N`, and netsim exits with N as kubectl
does. Any other command, and any path in the image's own files, is refused
with a NetsimError naming it. kubectl's own refusals are kept: a completed
pod, a pod without a node, an unknown container, and a container that is
not running (kubelet's `container not found`).
"""

from __future__ import annotations

import argparse
import posixpath
import sys
from dataclasses import dataclass

from netsim.cli.options import add_cluster_options, cluster_inputs

PROGRAMS = ("cat", "df", "env", "hostname", "ls", "printenv")


@dataclass(frozen=True, slots=True)
class ExecResult:
    """A command's stdout, stderr and exit code in the container."""

    stdout: str
    stderr: str = ""
    code: int = 0


def register(sub) -> None:
    """`netsim exec`."""
    parser = sub.add_parser("exec", help="run env, cat, ls, df or hostname in a pod's container")
    parser.add_argument("pod", metavar="POD")
    _add_options(parser)
    parser.add_argument("command", nargs=argparse.REMAINDER, metavar="-- COMMAND")
    parser.set_defaults(handler=_exec)


def _add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--container", metavar="CONTAINER", help="container name (default: the first)")
    parser.add_argument("-n", "--namespace", default="default", metavar="NS")
    add_cluster_options(parser)


def _options_after_pod(args: argparse.Namespace) -> argparse.Namespace:
    """Flags written between POD and `--` (kubectl takes them anywhere before it): parsed into `args`."""
    command = list(args.command)
    if "--" not in command or command[0] == "--":
        return args
    cut = command.index("--")
    late = argparse.ArgumentParser(prog="netsim exec", add_help=False)
    _add_options(late)
    late.parse_args(command[:cut], namespace=args)
    args.command = command[cut:]
    return args


class _Container:
    """One running container as the commands see it: pod, container spec, mounts (built on first use)."""

    def __init__(self, store, topology, pod, container: dict, seed: int) -> None:
        self.store, self.topology, self.pod, self.container, self.seed = store, topology, pod, container, seed
        self._mounts = None

    @property
    def mounts(self):
        """The container's mounts (kubelet/podfiles.py), in /proc/self/mounts order."""
        from netsim.kubelet.podfiles import container_mounts
        if self._mounts is None:
            self._mounts = container_mounts(self.store, self.pod, self.container["name"], self.topology, self.seed)
        return self._mounts

    def environment(self):
        """The process environment `env` prints (kubelet/podenv.py)."""
        from netsim.kubelet.podenv import ConfigError, process_env
        from netsim.errors import NotImplementedFeature
        try:
            return process_env(self.store, self.pod, self.container, self.topology.cluster_domain)
        except ConfigError as err:   # the object went away after the start: the started container kept its env
            raise NotImplementedFeature(f"the container's environment can no longer be made ({err}); netsim does "
                                        f"not keep a started container's environment") from None

    def find(self, path: str):
        """(mount, entry) at an absolute path; ImageFilesystem when it lies in the image's files."""
        from netsim.kubelet.podfiles import ImageFilesystem, lookup
        mount, entry, known = lookup(self.mounts, path)
        if not known:
            raise ImageFilesystem(f"{path}: the container image's filesystem is not emulated (netsim knows the "
                                  f"volumes, /etc/hosts, /etc/hostname and /etc/resolv.conf)")
        return mount, entry


def run_in_pod(store, topology, pod_name: str, namespace: str, container: str | None, command: list[str],
               seed: int = 0) -> ExecResult:
    """What `kubectl exec POD -- COMMAND` prints; NetsimError where kubectl refuses or netsim cannot run it."""
    from netsim.api.errors import NotFound
    from netsim.errors import InputError, NotImplementedFeature

    command = command[1:] if command[:1] == ["--"] else command
    if not command:
        raise InputError("you must specify at least one command for the container")
    pod = store.try_get("Pod", pod_name, namespace)
    if pod is None:
        raise NotFound(f'pods "{pod_name}" not found')
    specs = list(pod.spec.get("containers") or [])
    names = [c["name"] for c in specs]
    if container is not None and container not in names:
        raise NotFound(f"container {container} is not valid for pod {pod_name}")
    if pod.phase in ("Succeeded", "Failed"):
        raise InputError(f"cannot exec into a container in a completed pod; current phase is {pod.phase}")
    if not pod.node_name:
        raise InputError(f"pod {pod_name} does not have a host assigned")
    notice = ""
    if container is None:
        container = pod.annotations.get("kubectl.kubernetes.io/default-container") or names[0]
        if len(names) > 1:
            notice = f'Defaulted container "{container}" out of: {", ".join(names)}\n'
    state = next((s.get("state") or {} for s in pod.status.get("containerStatuses") or []
                  if s.get("name") == container), {})
    if "running" not in state:
        raise InputError(f'unable to upgrade connection: container not found ("{container}")')
    program = command[0]
    if program not in PROGRAMS:
        raise NotImplementedFeature(f"netsim exec emulates {', '.join(PROGRAMS)}; asked to run `{' '.join(command)}`")
    box = _Container(store, topology, pod, next(c for c in specs if c["name"] == container), seed)
    result = _PROGRAMS[program](box, command[1:])
    return ExecResult(result.stdout, notice + result.stderr, result.code)


def exec_in_pod(store, topology, pod_name: str, namespace: str, container: str | None,
                command: list[str], seed: int = 0) -> str:
    """The standard output of `command` in the pod's container (run_in_pod without stderr and exit code)."""
    return run_in_pod(store, topology, pod_name, namespace, container, command, seed).stdout


# the programs --------------------------------------------------------------------------------
def _flags(args: list[str], allowed: str, program: str) -> tuple[set[str], list[str]]:
    """Short options (bundled, `-la`) and operands; NotImplementedFeature for an option netsim does not emulate."""
    from netsim.errors import NotImplementedFeature
    flags, operands = set(), []
    for arg in args:
        if arg.startswith("-") and len(arg) > 1 and arg != "--":
            for ch in arg[1:]:
                if ch not in allowed:
                    raise NotImplementedFeature(f"`{program} -{ch}` is not emulated (options: "
                                                f"{', '.join('-' + c for c in allowed)})")
                flags.add(ch)
        elif arg != "--":
            operands.append(arg)
    return flags, operands


def _env(box: _Container, args: list[str]) -> ExecResult:
    from netsim.errors import NotImplementedFeature
    if args:
        raise NotImplementedFeature(f"`env {' '.join(args)}` is not emulated: only `env` alone prints the environment")
    return ExecResult("".join(f"{v.name}={v.value}\n" for v in box.environment()))


def _printenv(box: _Container, args: list[str]) -> ExecResult:
    _, names = _flags(args, "", "printenv")
    env = {v.name: v.value for v in box.environment()}
    if not names:
        return ExecResult("".join(f"{k}={v}\n" for k, v in env.items()))
    out = "".join(f"{env[n]}\n" for n in names if n in env)
    return ExecResult(out, "", 0 if all(n in env for n in names) else 1)


def _hostname(box: _Container, args: list[str]) -> ExecResult:
    from netsim.errors import NotImplementedFeature
    from netsim.kubelet.podenv import kernel_hostname
    if args:
        raise NotImplementedFeature(f"`hostname {' '.join(args)}` is not emulated")
    return ExecResult(kernel_hostname(box.pod, box.topology.cluster_domain) + "\n")


def _absolute(path: str) -> str:
    return posixpath.normpath(path if path.startswith("/") else "/" + path)   # the working directory: / (unknown)


def _follow(mount, entry):
    from netsim.kubelet.podfiles import resolve_link
    while entry is not None and entry.kind == "link":
        entry = resolve_link(mount.root, entry)
    return entry


def _cat(box: _Container, args: list[str]) -> ExecResult:
    _, paths = _flags(args, "", "cat")
    out, err, code = [], [], 0
    for path in paths:
        mount, entry = box.find(_absolute(path))
        entry = _follow(mount, entry)
        if entry is None:
            err.append(f"cat: {path}: No such file or directory\n")
            code = 1
        elif entry.kind == "dir":
            err.append(f"cat: {path}: Is a directory\n")
            code = 1
        else:
            out.append(entry.content)
    return ExecResult("".join(out), "".join(err), code)


def _ls(box: _Container, args: list[str]) -> ExecResult:
    from netsim.cli.coreutils import long_listing, mode_string
    from netsim.kubelet.podfiles import mount_for
    flags, paths = _flags(args, "la1", "ls")
    long, every = "l" in flags, "a" in flags
    now = box.store.clock()
    group = str((box.pod.spec.get("securityContext") or {}).get("fsGroup", "root"))
    out, err, code = [], [], 0

    def row(entry, name, mount, fstype):
        links = 2 + sum(1 for c in entry.children if c.kind == "dir") if entry.kind == "dir" else 1
        owner_group = group if mount.volume else "root"   # SetVolumeOwnership gives a volume to fsGroup
        return (mode_string(entry.kind, entry.mode), links, "root", owner_group, entry.size(fstype), mount.mtime,
                name, entry.target if entry.kind == "link" else "")

    listings = []
    for path in paths or ["/"]:
        absolute = _absolute(path)
        mount, entry = box.find(absolute)
        shown = _follow(mount, entry) if entry is not None and (not long or path.endswith("/")) else entry
        if entry is None:
            err.append(f"ls: cannot access '{path}': No such file or directory\n")
            code = 2
            continue
        listings.append((path, absolute, mount, entry, shown))
    for i, (path, absolute, mount, entry, shown) in enumerate(listings):
        fstype = mount.fstype
        if shown is None or shown.kind != "dir":
            out.append(long_listing([row(entry, path, mount, fstype)], now, None) if long else f"{path}\n")
            continue
        if len(listings) > 1:
            out.append(("\n" if i else "") + f"{path}:\n")
        children = sorted(shown.children, key=lambda e: e.name.encode())
        if not every:
            children = [c for c in children if not c.name.startswith(".")]
        if not long:
            names = ([".", ".."] if every else []) + [c.name for c in children]
            out.append("".join(f"{n}\n" for n in names))
            continue
        rows = [row(c, c.name, mount, fstype) for c in children]
        total = sum(c.blocks(fstype) for c in children)
        if every:
            parent_mount = mount_for(box.mounts, posixpath.dirname(absolute))
            dot = row(shown, ".", mount, fstype)
            # the parent directory usually lies in the image; shown as an overlay directory of the image
            dotdot = ("drwxr-xr-x", 1, "root", "root", 4096, parent_mount.mtime, "..", "")
            rows = [dot, dotdot] + rows
            total += shown.blocks(fstype) + 4
        out.append(long_listing(rows, now, total))
    return ExecResult("".join(out), "".join(err), code)


def _df(box: _Container, args: list[str]) -> ExecResult:
    from netsim.cli.coreutils import dedupe, df_table
    from netsim.kubelet.podfiles import mount_for
    flags, paths = _flags(args, "hT", "df")
    if paths:
        rows = [mount_for(box.mounts, _absolute(p)) for p in paths]
    else:
        rows = dedupe(box.mounts)
    return ExecResult(df_table(rows, "h" in flags, "T" in flags))


_PROGRAMS = {"cat": _cat, "df": _df, "env": _env, "hostname": _hostname, "ls": _ls, "printenv": _printenv}


def _exec(args: argparse.Namespace) -> int:
    args = _options_after_pod(args)
    inputs = cluster_inputs(args)
    cluster = inputs.build()
    result = run_in_pod(cluster.store, cluster.topology, args.pod, args.namespace, args.container,
                        list(args.command), getattr(cluster, "seed", 0))
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    if result.code:
        sys.stderr.write(f"command terminated with exit code {result.code}\n")
    return result.code
