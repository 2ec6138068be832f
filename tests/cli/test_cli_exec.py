"""`netsim exec`: coreutils' formats, the emulated commands, kubectl's refusals and exit codes."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from netsim.api.load import load_paths, load_text
from netsim.api.topology import load_topology
from netsim.cli.coreutils import dedupe, df_table, human, ls_time, percent
from netsim.cli.exec import exec_in_pod, run_in_pod
from netsim.cli.main import main
from netsim.emulator.cluster import Cluster
from netsim.errors import InputError, NotImplementedFeature
from netsim.kubelet.podfiles import ImageFilesystem

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY_FILE = ROOT / "topologies/three-node.yaml"
DATA = ROOT / "tests/scenarios/data/pod-config"
GI = 1024 ** 3


@pytest.mark.parametrize("n, text", [
    (0, "0"), (1000, "1000"), (1024, "1.0K"), (12 * 1024, "12K"), (4097, "4.1K"),
    (int(3.81 * GI), "3.9G"), (4 * GI, "4.0G"), (int(9.96 * GI), "10G"), (59 * GI - 1, "59G"),
    (1024 ** 4 - 1, "1.0T"), (64 * 1024 ** 2, "64M"), (200 * GI, "200G"),
])
def test_human_sizes_round_up_as_df_h(n: int, text: str) -> None:
    assert human(n) == text


def test_use_percent_is_rounded_up_and_dash_for_nothing() -> None:
    assert percent(1, 1000) == "1%" and percent(197, 0) == "100%" and percent(0, 0) == "-"


def row(source, fstype, size, used, path, device=None, reserved=0):
    return SimpleNamespace(source=source, fstype=fstype, size=size, used=used, path=path, device=device or source,
                           available=max(0, size - used - reserved))


def test_df_table_layout_matches_the_seeds_example() -> None:
    rows = [row("overlay", "overlay", 59 * GI, 36 * GI, "/", reserved=3 * GI),
            row("tmpfs", "tmpfs", 64 * 1024 ** 2, 0, "/dev", "t1"),
            row("/dev/vda1", "ext4", 59 * GI, 36 * GI, "/etc/hosts", reserved=3 * GI)]
    assert df_table(rows, True, False) == (
        "Filesystem      Size  Used Avail Use% Mounted on\n"
        "overlay          59G   36G   20G  65% /\n"
        "tmpfs            64M     0   64M   0% /dev\n"
        "/dev/vda1        59G   36G   20G  65% /etc/hosts\n")
    assert df_table(rows[:1], False, True).splitlines()[0] == (
        "Filesystem     Type    1K-blocks     Used Available Use% Mounted on")


def test_dedupe_keeps_one_line_per_device_at_its_first_place_with_the_shortest_mount_point() -> None:
    rows = [row("/dev/vda1", "ext4", 1, 0, "/etc/hostname"), row("shm", "tmpfs", 1, 0, "/dev/shm"),
            row("/dev/vda1", "ext4", 1, 0, "/etc/hosts"), row("/dev/vda1", "ext4", 1, 0, "/etc/resolv.conf")]
    assert [r.path for r in dedupe(rows)] == ["/etc/hosts", "/dev/shm"]


def test_ls_time_shows_the_year_for_old_files() -> None:
    assert ls_time(1704067200, 1704067200 + 60) == "Jan  1 00:00"
    assert ls_time(1704067200, 1704067200 + 200 * 86400) == "Jan  1  2024"


@pytest.fixture(scope="module")
def cluster() -> Cluster:
    return Cluster.build(load_topology(TOPOLOGY_FILE), load_paths([DATA / "config.yaml"]))


def run(cluster: Cluster, command: str, pod: str = "web"):
    return run_in_pod(cluster.store, cluster.topology, pod, "default", None, ["--", *command.split()], cluster.seed)


def test_ls_lists_the_keys_and_ls_la_the_atomic_writer_entries(cluster: Cluster) -> None:
    assert run(cluster, "ls /etc/config").stdout == "LOG_LEVEL\ngame.properties\n"
    lines = run(cluster, "ls -la /etc/config").stdout.splitlines()
    assert lines[0] == "total 12"
    assert lines[1].startswith("drwxrwxrwx 3 root root 4096 Jan  1 00:00 .") and lines[2].endswith(" ..")
    stamp = lines[3].split()[-1]
    assert lines[3].startswith("drwxr-xr-x 2 root root 4096") and stamp.startswith("..2024_01_01_00_00_00.")
    assert lines[4].endswith(f"..data -> {stamp}")
    assert lines[6] == "lrwxrwxrwx 1 root root   22 Jan  1 00:00 game.properties -> ..data/game.properties"


def test_cat_env_printenv_hostname(cluster: Cluster) -> None:
    assert run(cluster, "cat /etc/config/LOG_LEVEL").stdout == "debug"
    assert run(cluster, "cat /etc/secret/db/password").stdout == "s3cr3t"
    assert run(cluster, "hostname").stdout == "web\n"
    env = run(cluster, "env").stdout.splitlines()
    assert env[0].startswith("PATH=") and env[1] == "HOSTNAME=web" and env[-1] == "HOME=/root"
    assert "GREETING=level=debug user=admin svc=" + cluster.store.get("Service", "web", "default").spec["clusterIP"] \
        in env
    missing = run(cluster, "printenv HOSTNAME NOPE")
    assert (missing.stdout, missing.code) == ("web\n", 1)


def test_a_failing_command_reports_stderr_and_its_exit_code(cluster: Cluster) -> None:
    result = run(cluster, "cat /etc/config/nope /etc/config")
    assert result.code == 1 and result.stderr == ("cat: /etc/config/nope: No such file or directory\n"
                                                  "cat: /etc/config: Is a directory\n")


def test_df_of_a_path_shows_the_mount_it_lies_on(cluster: Cluster) -> None:
    out = run(cluster, "df -h /etc/config/LOG_LEVEL /cache").stdout.splitlines()
    assert out[1].split() == ["/dev/vda1", "100G", "0", "95G", "0%", "/etc/config"]
    assert out[2].split() == ["tmpfs", "64M", "0", "64M", "0%", "/cache"]


def test_what_netsim_does_not_know_is_refused_by_name(cluster: Cluster) -> None:
    with pytest.raises(ImageFilesystem, match="/usr/bin: the container image's filesystem is not emulated"):
        run(cluster, "ls /usr/bin")
    with pytest.raises(NotImplementedFeature, match="asked to run `ps aux`"):
        run(cluster, "ps aux")
    with pytest.raises(NotImplementedFeature, match="`ls -R` is not emulated"):
        run(cluster, "ls -R /etc/config")


def test_a_container_that_is_not_running_is_kubelets_container_not_found() -> None:
    text = ("apiVersion: v1\nkind: Pod\nmetadata: {name: waiting}\nspec:\n  containers:\n  - name: app\n"
            "    image: nginx:1.25\n    env:\n    - name: X\n      valueFrom: {secretKeyRef: {name: none, key: k}}\n")
    cluster = Cluster.build(load_topology(TOPOLOGY_FILE), load_text(text, "w.yaml"), horizon=0)
    with pytest.raises(InputError, match=r'^unable to upgrade connection: container not found \("app"\)$'):
        exec_in_pod(cluster.store, cluster.topology, "waiting", "default", None, ["env"])


def test_two_containers_default_to_the_first_with_kubectls_notice() -> None:
    text = ("apiVersion: v1\nkind: Pod\nmetadata: {name: two}\nspec:\n  containers:\n"
            "  - {name: a, image: x}\n  - {name: b, image: x}\n")
    cluster = Cluster.build(load_topology(TOPOLOGY_FILE), load_text(text, "t.yaml"), horizon=0)
    result = run(cluster, "hostname", pod="two")
    assert result.stderr == 'Defaulted container "a" out of: a, b\n' and result.stdout == "two\n"


def test_the_cli_exits_with_the_commands_code_and_2_for_netsim_errors(capsys) -> None:
    base = ["exec", "--topology", str(TOPOLOGY_FILE), "-f", str(DATA / "config.yaml"), "web", "--"]
    assert main(base + ["cat", "/etc/config/LOG_LEVEL"]) == 0
    assert capsys.readouterr().out == "debug"
    assert main(base + ["cat", "/etc/config/nope"]) == 1
    assert capsys.readouterr().err.endswith("command terminated with exit code 1\n")
    assert main(base + ["top"]) == 2
    assert capsys.readouterr().err.startswith("error: netsim exec emulates cat, df, env")


def test_flags_may_follow_the_pod_name_as_kubectl_takes_them(capsys) -> None:
    late = ["exec", "web", "--topology", str(TOPOLOGY_FILE), "-f", str(DATA / "config.yaml"), "--",
            "cat", "/etc/config/LOG_LEVEL"]
    assert main(late) == 0
    assert capsys.readouterr().out == "debug"
    with pytest.raises(SystemExit) as stopped:
        main(["exec", "web", "--bogus", "--", "ls"])
    assert stopped.value.code == 2 and "unrecognized arguments: --bogus" in capsys.readouterr().err
