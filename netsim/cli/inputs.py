"""Where a command's cluster comes from: `-f` files, a state folder, or the quickstart.

With `-f`, the command is one-shot: it builds the cluster from those files
(and `--topology`, default topologies/three-node.yaml) and keeps nothing.
Without `-f`, a state folder (`--state`, default ./.netsim) made by `netsim
up` is replayed when it exists; otherwise the quickstart is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from netsim.api.apply import apply_manifests
from netsim.api.load import Manifest, load_text
from netsim.api.topology import Topology, load_topology_text
from netsim.emulator import state as st
from netsim.emulator.cluster import Cluster

DEFAULT_STATE = ".netsim"
QUICKSTART = "cluster/quickstart"
DEFAULT_TOPOLOGY = "topologies/three-node.yaml"


def project_path(relative: str) -> Path:
    """A path of the netsim project: under the working directory if there, else beside the package."""
    here = Path(relative)
    if here.exists():
        return here
    return Path(__file__).resolve().parents[2] / relative


@dataclass(frozen=True, slots=True)
class Inputs:
    """The inputs of one cluster, whichever way they were given."""

    state: st.ClusterState
    folder: Path | None  # the state folder to write back to, None for one-shot

    @property
    def topology(self) -> Topology:
        return load_topology_text(self.state.topology.text, self.state.topology.path)

    def manifests(self) -> tuple[Manifest, ...]:
        """Every manifest object of the inputs, in file order."""
        return tuple(m for s in self.state.manifests for m in load_text(s.text, s.path))

    def build(self) -> Cluster:
        """The cluster: inputs applied and settled, then the journal replayed."""
        cluster = Cluster.build(self.topology, self.manifests(), seed=self.state.seed)
        for entry in self.state.journal:
            replay(cluster, entry)
        return cluster


def resolve(files: list[str] | None, topology: str | None, seed: int | None, state_dir: str | None) -> Inputs:
    """The inputs a command works on (see the module docstring for the order)."""
    if files or topology:
        return Inputs(fresh(files or [str(project_path(QUICKSTART))], topology, seed), None)
    folder = Path(state_dir or DEFAULT_STATE)
    if (folder / st.STATE_FILE).exists() or state_dir:
        return Inputs(st.load(folder), folder)
    return Inputs(fresh([str(project_path(QUICKSTART))], None, seed), None)


def fresh(files: list[str], topology: str | None, seed: int | None) -> st.ClusterState:
    """New inputs from files on disk."""
    topo_path = topology or str(project_path(DEFAULT_TOPOLOGY))
    (topo_source,) = st.read_sources([topo_path])
    state = st.ClusterState(topo_source, st.read_sources(files), seed or 0)
    load_topology_text(state.topology.text, state.topology.path)  # fail early on a bad topology
    return state


def replay(cluster: Cluster, entry: dict) -> None:
    """Apply one journal entry to a built cluster."""
    if entry.get("command") == "apply":
        manifests = load_text(entry["text"], entry["source"])
        apply_manifests(cluster.store, manifests)
        cluster.settle()
        return
    from netsim.emulator.journal import replay as replay_entry   # the workload commands (issue #8)

    replay_entry(cluster, entry)
