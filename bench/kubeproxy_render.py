"""Time to render one node's full kube-proxy ruleset, and for the kernel to load that same text.

Run: .venv/bin/python bench/kubeproxy_render.py [--services 1000 10000] [--endpoints 10] [--repeat 3]

For each size: N ClusterIP+NodePort services, each with E ready endpoints spread over
three nodes, rendered for one node (netsim.kubeproxy.render: kube-proxy's iptables-restore
input), then netsim.netfilter's parse of that text and its normalization (the iptables-save
view), timed apart; each repeat starts with parse_network's address cache empty, as a first
load does.
Where root and iptables-restore are available, the same text is loaded with
`iptables-restore` (nf_tables and legacy backends, each in its own scratch network namespace
nskpbench-<pid>-<n>, always deleted). With more than 1,000 endpoints kube-proxy switches to
large-cluster mode (no per-endpoint comments), as here. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import time

from netsim.kubeproxy import EndpointInfo, LocalDetector, Protocol, ProxyConfig, ServicePortInfo, render
from netsim.netfilter import parse_ruleset
from netsim.netfilter.ruleset import parse_network

NODES = ("node-a", "node-b", "node-c")


def inputs(services: int, endpoints: int):
    ports, eps = [], {}
    for i in range(services):
        svc = ServicePortInfo(namespace=f"ns{i % 50}", name=f"svc{i}", port_name="http", protocol=Protocol.TCP,
                              cluster_ip=f"10.96.{i // 250}.{i % 250 + 1}", port=80, node_port=30000 + i % 2700)
        ports.append(svc)
        eps[svc.name_string] = tuple(
            EndpointInfo(ip=f"10.{64 + (i * endpoints + k) // 65000}.{(i * endpoints + k) // 250 % 260 % 256}."
                            f"{(i * endpoints + k) % 250 + 1}", port=8080, node_name=NODES[k % 3])
            for k in range(endpoints))
    config = ProxyConfig(node_name="node-a", node_ip="172.18.0.2", node_addresses=("127.0.0.1", "172.18.0.2"),
                         local_detector=LocalDetector.cluster_cidr("10.0.0.0/8"))
    return config, ports, eps


def best(repeat: int, fn):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def load_times(repeat: int, text: str) -> tuple[float, float]:
    """Best (parse, normalize-and-print) times over `repeat` cold runs of the same text."""
    parses, normalizes = [], []
    for _ in range(repeat):
        parse_network.cache_clear()
        start = time.perf_counter()
        ruleset = parse_ruleset(text)
        parsed = time.perf_counter()
        str(ruleset.normalized())
        parses.append(parsed - start)
        normalizes.append(time.perf_counter() - parsed)
        del ruleset
    return min(parses), min(normalizes)


_counter = [0]


def kernel_load(text: str, backend: str) -> float | str:
    tool = f"iptables-{backend}-restore"
    if os.geteuid() != 0 or shutil.which(tool) is None or shutil.which("ip") is None:
        return f"skipped ({tool} needs root and ip(8))"
    _counter[0] += 1
    ns = f"nskpbench-{os.getpid()}-{_counter[0]}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        start = time.perf_counter()
        done = subprocess.run(["ip", "netns", "exec", ns, tool], input=text, text=True, capture_output=True)
        elapsed = time.perf_counter() - start
        if done.returncode:
            return f"failed: {done.stderr.strip()}"
        return elapsed
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=True)


def fmt(value) -> str:
    return f"{value * 1000:9.1f} ms" if isinstance(value, float) else value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--endpoints", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for n in args.services:
        config, ports, eps = inputs(n, args.endpoints)
        repeat = args.repeat if n <= 2000 else 1
        render_time, text = best(repeat, lambda: render(config, ports, eps))
        parse_time, normalize_time = load_times(repeat, text)
        lines = text.count("\n")
        print(f"{n:6d} services x {args.endpoints} endpoints: {lines} lines, {len(text) / 1e6:.1f} MB")
        print(f"    render (kube-proxy's restore input)      {fmt(render_time)}")
        print(f"    parse                                    {fmt(parse_time)}")
        print(f"    normalize (iptables-save view)           {fmt(normalize_time)}")
        print(f"    parse + normalize                        {fmt(parse_time + normalize_time)}")
        for backend in ("nft", "legacy"):
            print(f"    kernel: iptables-{backend}-restore{' ' * (18 - len(backend))}{fmt(kernel_load(text, backend))}")


if __name__ == "__main__":
    main()
