"""netsim's pytest plugin: fixtures that build an emulated cluster from files, for routing regression tests.

Registered as the `pytest11` entry point `netsim` (or `-p netsim.verify.pytest_plugin`):

    import pytest

    @pytest.mark.netsim("cluster/quickstart")
    def test_web_is_reached(netsim_cluster):
        t = netsim_cluster.trace("pod/default/client", "svc/default/web:80")
        assert t.delivered_to.matches("app=web")

    def test_two_builds(netsim_build):
        probe = netsim_build("manifests/", topology="topologies/kind.yaml", seed=3)

Relative paths resolve against the test file's folder, then the rootdir.
`netsim_topology` in the ini file sets the default topology. When a test
fails, the hop-by-hop trace of every netsim check that failed in it is
attached to the report as a "netsim trace" section.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from netsim.verify.probe import ClusterProbe, ProbeInputError


def pytest_addoption(parser) -> None:
    """The `netsim_topology` ini option."""
    parser.addini("netsim_topology", "default topology file for netsim fixtures (relative to the rootdir)",
                  default="")


def pytest_configure(config) -> None:
    """Declare the `netsim` marker."""
    config.addinivalue_line("markers", "netsim(*paths, topology=None, seed=None): the manifest files, folders or "
                                       "scenario the netsim_cluster fixture builds")


def _resolve(request, path: str | Path) -> Path:
    """A path as written in a test: absolute, else beside the test file, else under the rootdir."""
    path = Path(path)
    if path.is_absolute():
        return path
    beside = Path(request.path).parent / path
    return beside if beside.exists() else Path(request.config.rootpath) / path


def _topology(request, topology):
    if topology is not None:
        return _resolve(request, topology)
    ini = request.config.getini("netsim_topology")
    return Path(request.config.rootpath) / ini if ini else None


@pytest.fixture
def netsim_build(request):
    """A factory: `netsim_build(*paths, topology=None, seed=None)` -> ClusterProbe (closed after the test)."""
    built: list[ClusterProbe] = []

    def build(*paths, topology=None, seed=None) -> ClusterProbe:
        probe = ClusterProbe.load(*[_resolve(request, p) for p in paths], topology=_topology(request, topology),
                                  seed=seed)
        built.append(probe)
        request.node.stash.setdefault(_PROBES, []).append(probe)
        return probe

    yield build
    for probe in built:
        probe.close()


@pytest.fixture
def netsim_cluster(request, netsim_build) -> ClusterProbe:
    """The cluster the test's `@pytest.mark.netsim(paths..., topology=, seed=)` names."""
    marker = request.node.get_closest_marker("netsim")
    if marker is None or not marker.args:
        raise ProbeInputError("netsim_cluster needs @pytest.mark.netsim('path/to/manifests', ...) on the test")
    return netsim_build(*marker.args, topology=marker.kwargs.get("topology"), seed=marker.kwargs.get("seed"))


_PROBES = pytest.StashKey[list]()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Attach the traces of the netsim checks that failed to a failed test's report."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    for probe in item.stash.get(_PROBES, []):
        for verdict, trace in probe.failures:
            report.sections.append(("netsim trace", f"{verdict.message}\n\n{trace.format()}"))
