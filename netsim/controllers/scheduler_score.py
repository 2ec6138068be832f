"""Scoring as the default profile does it, and selectHost's random pick among the best nodes.

Each score plugin of the default profile gives every feasible node 0..100 (after its
NormalizeScore); the framework multiplies by the plugin's weight and sums
(frameworkImpl.RunScorePlugins). The plugins and weights are those of
pkg/scheduler/apis/config/v1/default_plugins.go, in SCORE_PLUGINS below. A plugin whose
PreScore returns Skip contributes nothing to any node. With a single feasible node the
scheduler skips scoring altogether.

selectHost walks the nodes with the highest total and keeps each tied node with probability
1/(ties seen so far) (reservoir sampling), drawing from the scheduler's seeded generator;
netsim walks them in node-name order (kube-scheduler's order comes from a heap over a
parallel filter pass, so no order is more faithful than another).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from netsim.api.objects import Pod
from netsim.controllers import scheduler_affinity, scheduler_spread
from netsim.controllers.scheduler_nodes import node_selector_term_matches, tolerates
from netsim.controllers.scheduler_snapshot import NodeInfo, Snapshot, pod_requests

MAX_NODE_SCORE = 100
SCORED_RESOURCES = ("cpu", "memory")    # NodeResourcesFitArgs / BalancedAllocationArgs resources, weight 1 each
MB = 1024 * 1024
IMAGE_MIN_THRESHOLD = 23 * MB           # imagelocality minThreshold
IMAGE_MAX_CONTAINER_THRESHOLD = 1000 * MB   # imagelocality maxContainerThreshold

Scores = dict[str, int]


def default_normalize(raw: Scores, reverse: bool = False) -> Scores:
    """helper.DefaultNormalizeScore: scale so the highest is 100 (reverse: the highest becomes 0)."""
    top = max(raw.values(), default=0)
    if top == 0:
        return {k: MAX_NODE_SCORE if reverse else 0 for k in raw}
    return {k: MAX_NODE_SCORE - v * MAX_NODE_SCORE // top if reverse else v * MAX_NODE_SCORE // top
            for k, v in raw.items()}


def taint_toleration(pod: Pod, feasible: list[NodeInfo], snapshot: Snapshot) -> Scores:
    """TaintToleration: fewer untolerated PreferNoSchedule taints score higher (reverse-normalized)."""
    raw = {info.name: sum(1 for t in info.node.taints if t.effect == "PreferNoSchedule"
                          and not tolerates(pod, t.key, t.value, t.effect)) for info in feasible}
    return default_normalize(raw, reverse=True)


def node_affinity(pod: Pod, feasible: list[NodeInfo], snapshot: Snapshot) -> Scores | None:
    """NodeAffinity: the summed weights of the preferred terms a node matches (skipped without any)."""
    preferred = (((pod.spec.get("affinity") or {}).get("nodeAffinity") or {})
                 .get("preferredDuringSchedulingIgnoredDuringExecution") or [])
    if not preferred:
        return None
    raw = {info.name: sum(int(p.get("weight", 0)) for p in preferred if int(p.get("weight", 0))
                          and node_selector_term_matches(p.get("preference") or {}, info.node))
           for info in feasible}
    return default_normalize(raw)


def _least_requested(requested: int, capacity: int) -> int:
    if capacity == 0 or requested > capacity:
        return 0
    return (capacity - requested) * MAX_NODE_SCORE // capacity


def least_allocated(pod: Pod, feasible: list[NodeInfo], snapshot: Snapshot) -> Scores:
    """NodeResourcesFit (LeastAllocated): the free share of cpu and memory after the pod, counting
    non-zero requests, averaged with weights 1; a resource the node has none of is left out."""
    want = pod_requests(pod, nonzero=True)
    out = {}
    for info in feasible:
        total = weights = 0
        for name in SCORED_RESOURCES:
            capacity = info.allocatable(name)
            if capacity == 0:
                continue
            total += _least_requested(info.nonzero.get(name, 0) + want.get(name, 0), capacity)
            weights += 1
        out[info.name] = total // weights if weights else 0
    return out


def balanced_allocation(pod: Pod, feasible: list[NodeInfo], snapshot: Snapshot) -> Scores | None:
    """NodeResourcesBalancedAllocation: (1 − the standard deviation of the cpu and memory fractions
    requested, the pod's actual requests included) × 100; skipped for a pod that requests neither."""
    want = pod_requests(pod)
    if not any(want.get(name, 0) for name in SCORED_RESOURCES):
        return None                  # PreScore skips best-effort pods (kubernetes#129138)
    out = {}
    for info in feasible:
        fractions = []
        for name in SCORED_RESOURCES:
            capacity = info.allocatable(name)
            if capacity == 0:
                continue
            fractions.append(min((info.requested.get(name, 0) + want.get(name, 0)) / capacity, 1.0))
        std = 0.0
        if len(fractions) == 2:
            std = abs((fractions[0] - fractions[1]) / 2)
        elif len(fractions) > 2:
            mean = sum(fractions) / len(fractions)
            std = (sum((f - mean) ** 2 for f in fractions) / len(fractions)) ** 0.5
        out[info.name] = int((1 - std) * MAX_NODE_SCORE)
    return out


def _normalized_image(name: str) -> str:
    """imagelocality normalizedImageName: a name without a tag gets ":latest"."""
    return name + ":latest" if name.rfind(":") <= name.rfind("/") else name


def image_locality(pod: Pod, feasible: list[NodeInfo], snapshot: Snapshot) -> Scores:
    """ImageLocality: the sizes of the pod's images a node already has (node status.images), scaled by
    how many nodes have each. netsim's own nodes report no images, so every node scores 0 there;
    a node loaded from a real cluster's dump with status.images is scored as kube-scheduler would."""
    sizes: dict[str, dict[str, int]] = {}        # node -> image name -> size
    holders: dict[str, int] = {}
    for info in snapshot.nodes():
        mine: dict[str, int] = {}
        for image in info.node.status.get("images") or ():
            for name in image.get("names") or ():
                mine[name] = int(image.get("sizeBytes", 0))
        sizes[info.name] = mine
        for name in mine:
            holders[name] = holders.get(name, 0) + 1
    total_nodes = len(snapshot.infos)
    containers = list(pod.spec.get("initContainers") or ()) + list(pod.spec.get("containers") or ())
    out = {}
    for info in feasible:
        total = 0
        for c in containers:
            image = _normalized_image(c.get("image", ""))
            if image in sizes.get(info.name, {}):
                total += int(sizes[info.name][image] * (holders[image] / total_nodes))
        ceiling = IMAGE_MAX_CONTAINER_THRESHOLD * len(containers)
        total = min(max(total, IMAGE_MIN_THRESHOLD), ceiling)
        out[info.name] = MAX_NODE_SCORE * (total - IMAGE_MIN_THRESHOLD) // (ceiling - IMAGE_MIN_THRESHOLD)
    return out


@dataclass(frozen=True, slots=True)
class ScorePlugin:
    """A score plugin of the default profile: its name, weight, and the function giving normalized scores."""

    name: str
    weight: int
    score: Callable[[Pod, list[NodeInfo], Snapshot], Scores | None]


# The default profile's score plugins, in its order (default_plugins.go MultiPoint), with their weights.
# VolumeBinding's Score needs the StorageCapacityScoring feature gate (alpha, off): its PreScore skips.
SCORE_PLUGINS = (
    ScorePlugin("TaintToleration", 3, taint_toleration),
    ScorePlugin("NodeAffinity", 2, node_affinity),
    ScorePlugin("NodeResourcesFit", 1, least_allocated),
    ScorePlugin("PodTopologySpread", 2, scheduler_spread.score),
    ScorePlugin("InterPodAffinity", 2, scheduler_affinity.score),
    ScorePlugin("NodeResourcesBalancedAllocation", 1, balanced_allocation),
    ScorePlugin("ImageLocality", 1, image_locality),
)


def plugin_scores(pod: Pod, feasible: list[NodeInfo], snapshot: Snapshot) -> dict[str, Scores]:
    """Each plugin's normalized scores (before weights), skipped plugins left out."""
    out = {}
    for plugin in SCORE_PLUGINS:
        scores = plugin.score(pod, feasible, snapshot)
        if scores is not None:
            out[plugin.name] = scores
    return out


def total_scores(pod: Pod, feasible: list[NodeInfo], snapshot: Snapshot) -> Scores:
    """Each node's weighted sum over the plugins (the framework's TotalScore)."""
    weights = {p.name: p.weight for p in SCORE_PLUGINS}
    totals = {info.name: 0 for info in feasible}
    for name, scores in plugin_scores(pod, feasible, snapshot).items():
        for node, value in scores.items():
            totals[node] += weights[name] * value
    return totals


def select_host(totals: Scores, rng) -> str:
    """selectHost: the highest total; among ties each later node replaces the pick with probability 1/count."""
    best = max(totals.values())
    chosen, count = "", 0
    for name, value in totals.items():
        if value != best:
            continue
        count += 1
        if count == 1 or int(rng.integers(0, count)) == 0:
            chosen = name
    return chosen
