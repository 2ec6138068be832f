"""`netsim exec POD [-c CONTAINER] [-n NS] -- cat /etc/resolv.conf`: a file of a pod's containers, as kubectl exec shows it.

Only `cat /etc/resolv.conf` is emulated: the file kubelet forms for the pod
(netsim/kubelet/resolvconf.py), the same in every container. Any other
command is refused with a message naming it.
"""

from __future__ import annotations

import argparse
import sys

from netsim.cli.options import add_cluster_options, cluster_inputs

EMULATED = ("cat", "/etc/resolv.conf")


def register(sub) -> None:
    """`netsim exec`."""
    parser = sub.add_parser("exec", help="run `cat /etc/resolv.conf` in a pod's container")
    parser.add_argument("pod", metavar="POD")
    parser.add_argument("-c", "--container", metavar="CONTAINER", help="container name (default: the first)")
    parser.add_argument("-n", "--namespace", default="default", metavar="NS")
    parser.add_argument("command", nargs=argparse.REMAINDER, metavar="-- COMMAND")
    add_cluster_options(parser)
    parser.set_defaults(handler=_exec)


def exec_in_pod(store, topology, pod_name: str, namespace: str, container: str | None,
                command: list[str]) -> str:
    """The output of `command` in the pod's container; NetsimError for anything netsim cannot run."""
    from netsim.api.errors import NotFound
    from netsim.errors import InputError, NotImplementedFeature
    from netsim.kubelet.resolvconf import pod_resolv_conf

    command = command[1:] if command[:1] == ["--"] else command
    if not command:
        raise InputError("you must specify at least one command for the container")
    pod = store.try_get("Pod", pod_name, namespace)
    if pod is None:
        raise NotFound(f'pods "{pod_name}" not found')
    names = [c.name for c in pod.containers]
    if container is not None and container not in names:
        raise NotFound(f"container {container} is not valid for pod {pod_name}")
    if pod.phase != "Running":
        raise InputError(f"cannot exec into a container in a completed pod; current phase is {pod.phase}"
                         if pod.phase in ("Succeeded", "Failed") else
                         f"pod {namespace}/{pod_name} is {pod.phase}: its containers are not running")
    if tuple(command) != EMULATED:
        raise NotImplementedFeature(f"netsim exec emulates only `cat /etc/resolv.conf`; asked to run "
                                    f"`{' '.join(command)}`")
    return pod_resolv_conf(pod, topology)[0]


def _exec(args: argparse.Namespace) -> int:
    cluster = cluster_inputs(args).build()
    sys.stdout.write(exec_in_pod(cluster.store, cluster.topology, args.pod, args.namespace, args.container,
                                 list(args.command)))
    return 0
