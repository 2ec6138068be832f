"""`netsim describe KIND NAME`: kubectl describe's text for one object, laid out as describe.go lays it out.

KIND is any name kubectl accepts for the kinds described here (`pvc`,
`persistentvolumeclaims`, `ns`, `no`, `deploy`, `svc`, `cj`, `pdb`, `cm`, ...; also
`KIND/NAME`). As kubectl, a NAME that matches no object describes every
object of the kind whose name starts with it, and is NotFound only when
none does. One module per family: pod (with the container, volume and
pod-template text), storage, namespace, node, workloads, service, batch
(Job, CronJob), policy (PodDisruptionBudget), config (ConfigMap, Secret),
endpoints (Endpoints, EndpointSlice);
text holds the tab writer and the shared pieces.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from netsim.api.errors import FieldError, NotFound
from netsim.api.kinds import resolve_resource
from netsim.cli.describe import batch, config, endpoints, namespace, node, policy, service, storage, workloads
from netsim.cli.describe.pod import describe_pod
from netsim.cli.describe.text import tabwrite
from netsim.cli.options import add_cluster_options, cluster_inputs
from netsim.errors import NotImplementedFeature

__all__ = ["DESCRIBERS", "describe", "describe_pod", "register", "tabwrite"]


def _pod(store, obj, now: float) -> str:
    return describe_pod(store, obj.name, obj.namespace, now)


# kind -> describer(store, object, now) returning kubectl's text.
DESCRIBERS: dict[str, Callable[..., str]] = {
    "ConfigMap": config.describe_configmap,
    "CronJob": batch.describe_cronjob,
    "DaemonSet": workloads.describe_daemonset,
    "Deployment": workloads.describe_deployment,
    "EndpointSlice": endpoints.describe_endpointslice,
    "Endpoints": endpoints.describe_endpoints,
    "Job": batch.describe_job,
    "Namespace": namespace.describe_namespace,
    "Node": node.describe_node,
    "PersistentVolume": storage.describe_pv,
    "PersistentVolumeClaim": storage.describe_pvc,
    "Pod": _pod,
    "PodDisruptionBudget": policy.describe_pdb,
    "ReplicaSet": workloads.describe_replicaset,
    "Secret": config.describe_secret,
    "Service": service.describe_service,
    "ServiceAccount": service.describe_serviceaccount,
    "StatefulSet": workloads.describe_statefulset,
    "StorageClass": storage.describe_storageclass,
}


def register(sub) -> None:
    """`netsim describe KIND NAME` (or `KIND/NAME`)."""
    parser = sub.add_parser("describe", help="show one object in detail (kubectl describe)")
    parser.add_argument("kind", metavar="KIND",
                        help="pod, pvc, pv, sc, ns, node, deploy, rs, sts, ds, svc, sa, job, cj, pdb, cm, secret, ep, "
                             "endpointslice (or KIND/NAME)")
    parser.add_argument("name", metavar="NAME", nargs="?")
    parser.add_argument("-n", "--namespace", default="default")
    add_cluster_options(parser)
    parser.set_defaults(handler=_command)


def _command(args) -> int:
    kind, name = args.kind, args.name
    if name is None:
        kind, _, name = kind.partition("/")
        if not name:
            raise FieldError("expected KIND NAME or KIND/NAME (pvc data, node/kind-worker)", "describe")
    cluster = cluster_inputs(args).build()
    sys.stdout.write(describe(cluster.store, kind, name, args.namespace, cluster.clock.now()))
    return 0


def describe(store, resource: str, name: str, namespace: str, now: float) -> str:
    """What `kubectl describe RESOURCE NAME -n NAMESPACE` prints: the object, else each whose name starts so."""
    info = resolve_resource(resource)
    describer = DESCRIBERS.get(info.kind)
    if describer is None:
        raise NotImplementedFeature(f"describe: no describer for {info.resource} in netsim yet "
                                    f"(described: {', '.join(sorted(DESCRIBERS))})")
    ns = namespace if info.namespaced else ""
    obj = store.try_get(info.kind, name, ns)
    if obj is not None:
        return describer(store, obj, now)
    matches = [o for o in store.list(info.kind, ns) if o.name.startswith(name)]
    if not matches:
        raise NotFound(f'{info.resource} "{name}" not found')
    return "".join(describer(store, o, now) + "\n" for o in matches)
