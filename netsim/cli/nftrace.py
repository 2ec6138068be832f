"""`netsim iptables-trace` and `netsim conntrack -L`: netfilter on its own, and a node's connection table.

`iptables-trace` loads a saved ruleset (a pasted `iptables-save` of any Linux
machine) and runs one packet through the hooks the kernel would: arriving on
`--in IFACE`, PREROUTING, then INPUT when the (possibly DNATed) destination
is one of `--local-ip`, else FORWARD and POSTROUTING out of `--out`; sent
locally (`--local`), OUTPUT then POSTROUTING. Routing is the user's to say,
since a ruleset alone has no routes. `conntrack -L --node NAME [FOLDER]` runs
a scenario folder's steps (as `netsim run` does, without captures) and
lists that node's tracked connections in `conntrack -L`'s format.
"""

from __future__ import annotations

import argparse
import json
import sys
from ipaddress import ip_address
from pathlib import Path

from netsim.errors import InputError
from netsim.netfilter.hooks import Hook, Verdict
from netsim.packet import Packet, Proto, TcpFlag

PROTOCOLS = {"tcp": Proto.TCP, "udp": Proto.UDP, "sctp": Proto.SCTP, "icmp": Proto.ICMP}


def register(sub) -> None:
    """`netsim iptables-trace`, `netsim conntrack -L`."""
    trace = sub.add_parser("iptables-trace", help="trace one packet through a saved iptables ruleset")
    trace.add_argument("--rules", required=True, metavar="FILE", help="iptables-save output of any machine")
    trace.add_argument("--src", required=True, metavar="IP")
    trace.add_argument("--dst", required=True, metavar="IP")
    trace.add_argument("--proto", default="tcp", choices=sorted(PROTOCOLS))
    trace.add_argument("--sport", type=int, default=40000)
    trace.add_argument("--dport", type=int, default=0)
    where = trace.add_mutually_exclusive_group(required=True)
    where.add_argument("--in", dest="in_iface", metavar="IFACE", help="the packet arrives on this interface")
    where.add_argument("--local", action="store_true", help="the packet is sent by this machine")
    trace.add_argument("--out", dest="out_iface", metavar="IFACE", help="the interface it leaves by (FORWARD/OUTPUT)")
    trace.add_argument("--local-ip", action="append", default=[], metavar="IP",
                       help="an address of this machine (repeatable): decides INPUT vs FORWARD")
    trace.add_argument("--seed", type=int, default=0, help="seed of the statistic match's draws")
    trace.add_argument("-o", "--output", choices=("text", "json"), default="text")
    trace.set_defaults(handler=_trace)

    ct = sub.add_parser("conntrack", help="a node's tracked connections after a scenario's traffic (conntrack -L)")
    ct.add_argument("-L", "--dump", action="store_true", required=True, help="list the connection table")
    ct.add_argument("--node", required=True, metavar="NAME")
    ct.add_argument("path", nargs="?", help="a scenario folder (default: cluster/quickstart)")
    ct.add_argument("--topology", metavar="FILE")
    ct.add_argument("--seed", type=int, default=None)
    ct.set_defaults(handler=_conntrack)


def _address(text: str, flag: str):
    try:
        return ip_address(text)
    except ValueError:
        raise InputError(f"{flag}: not an IP address: {text!r}") from None


def _trace(args: argparse.Namespace) -> int:
    from netsim.netfilter.engine import NetfilterEngine
    from netsim.sim.rng import Random

    path = Path(args.rules)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise InputError(f"{path}: cannot read: {err.strerror}") from None
    engine = NetfilterEngine(text, rng=Random(args.seed).child("iptables-trace").generator, clock=lambda: 0.0)
    src, dst = _address(args.src, "--src"), _address(args.dst, "--dst")
    proto = PROTOCOLS[args.proto]
    packet = Packet(src, dst, proto, args.sport, args.dport,
                    tcp_flags=TcpFlag.SYN if proto == Proto.TCP else 0, icmp_type=8 if proto == Proto.ICMP else 0)
    local = frozenset(_address(a, "--local-ip") for a in args.local_ip)
    if args.local:
        plan = [(Hook.OUTPUT, None, args.out_iface), (Hook.POSTROUTING, None, args.out_iface)]
    else:
        plan = [(Hook.PREROUTING, args.in_iface, None)]
    hops = []
    verdict = Verdict.ACCEPT
    while plan:
        hook, in_iface, out_iface = plan.pop(0)
        result = engine.run_hook(hook, packet, in_iface=in_iface, out_iface=out_iface, local_addresses=local)
        hops.append((hook, in_iface, out_iface, result))
        verdict = result.verdict
        if verdict is not Verdict.ACCEPT:
            break
        if hook is Hook.PREROUTING:
            plan = ([(Hook.INPUT, args.in_iface, None)] if packet.dst in local else
                    [(Hook.FORWARD, args.in_iface, args.out_iface), (Hook.POSTROUTING, None, args.out_iface)])
    if args.output == "json":
        json.dump(_as_json(hops, verdict, packet), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for hook, in_iface, out_iface, result in hops:
            where = " ".join(x for x in (f"in={in_iface}" if in_iface else "", f"out={out_iface}" if out_iface else "")
                             if x)
            print(f"{hook.value} {where}".rstrip() + f": {result.verdict.value}"
                  + (f" ({result.reason})" if result.reason else ""))
            for step in result.trace:
                print(f"    {step}")
        print(f"verdict: {verdict.value}; the packet as it leaves: {_describe(packet)}")
    return 0


def _describe(packet: Packet) -> str:
    from netsim.netfilter.trace import describe

    return describe(packet)


def _as_json(hops, verdict: Verdict, packet: Packet) -> dict:
    return {
        "hooks": [{"hook": hook.value, "in": in_iface, "out": out_iface, "verdict": result.verdict.value,
                   "reason": result.reason, "trace": [str(step) for step in result.trace]}
                  for hook, in_iface, out_iface, result in hops],
        "verdict": verdict.value,
        "packet": _describe(packet),
    }


def _conntrack(args: argparse.Namespace) -> int:
    from netsim.api.errors import NotFound
    from netsim.api.topology import load_topology
    from netsim.cli.inputs import DEFAULT_TOPOLOGY, QUICKSTART, project_path
    from netsim.verify.runner import build_emulator, run_steps
    from netsim.verify.scenario import load_scenario

    scenario = load_scenario(Path(args.path) if args.path else project_path(QUICKSTART))
    topology = load_topology(args.topology or scenario.topology or project_path(DEFAULT_TOPOLOGY))
    seed = args.seed if args.seed is not None else (scenario.seed or 0)
    emulator = build_emulator(scenario, topology, seed)
    for _ in run_steps(scenario, emulator, show=0):
        pass
    node = emulator.cluster.store.try_get("Node", args.node)
    if node is None:
        names = ", ".join(n.name for n in emulator.cluster.store.list("Node"))
        raise NotFound(f'nodes "{args.node}" not found (nodes: {names})')
    engine = emulator.network.host(args.node).netfilter
    listing = engine.conntrack_listing()  # type: ignore[union-attr]
    sys.stdout.write(listing)
    print(f"conntrack v1.4.7 (conntrack-tools): {listing.count(chr(10))} flow entries have been shown.",
          file=sys.stderr)
    return 0
