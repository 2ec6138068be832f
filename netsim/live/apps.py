"""The applications of a live run: the emulator's own applications behind real sockets, and user-space ARP responders.

Each `Host.bindings()` entry of the emulator's network becomes a socket in
that host's namespace, bound to the same (protocol, address or any, port),
served by the same application object: what the socket reads is handed to
the app's `receive` as a packet record (src, dst, ports and payload as the
kernel delivered them), and the payloads of the packets it answers with are
written back. So an `EchoApp` echoes and the cluster DNS server answers
with CoreDNS's logic, in the kernel as in the emulator. The transport is
the kernel's: TCP listens and accepts (the SYN-ACK is the kernel's, as a
real server's is; the app sees each read as one PSH/ACK segment); UDP
answers each datagram. Nothing listens where nothing is bound, so the
kernel answers RST or port unreachable as the emulator's stack does.

`Host.arp_announcements` (what MetalLB's speaker answers from a raw socket)
become AF_PACKET sockets on that NIC answering ARP requests for those
addresses with the NIC's MAC, as the speaker does.

`AppLog` records, per accepted connection or datagram, the host and the peer
address and port the server saw: the endpoint each connection reached.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from ipaddress import IPv4Address

from netsim.dataplane.apps import App
from netsim.errors import NotImplementedFeature
from netsim.live import netns
from netsim.live.loop import SocketLoop
from netsim.live.realize import World
from netsim.packet import Packet, Proto, TcpFlag
from netsim.packet.arp import ArpFrame, ArpOp
from netsim.packet.errors import PacketError
from netsim.packet.wire import decode_arp, encode_arp

ETH_P_ARP = 0x0806
IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)


@dataclass(frozen=True, slots=True)
class Arrival:
    """An echo server got a connection (TCP) or a datagram (UDP): where, from whom, on which port."""

    host: str
    proto: int
    peer: str
    peer_port: int
    local: str
    local_port: int


@dataclass
class AppLog:
    """What the live applications saw, in order."""

    arrivals: list[Arrival] = field(default_factory=list)


def start_apps(world: World, loop: SocketLoop) -> AppLog:
    """Open every echo server and ARP responder of `world` and serve them on `loop`."""
    log = AppLog()
    for name in sorted(world.network.hosts):
        host = world.network.hosts[name]
        ns = world.ns(name)
        for proto, address, port, app in host.bindings():
            with netns.inside(ns):
                sock = _listen(proto, address, port)
            if proto == Proto.TCP:
                loop.add(sock, _acceptor(name, app, log, loop))
            else:
                loop.add(sock, _datagrams(name, app, log))
        for iface, addresses in sorted(host.arp_announcements.items()):
            with netns.inside(ns):
                raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP))
                raw.bind((iface, ETH_P_ARP))
            loop.add(raw, _arp_responder(host.interface(iface).mac, frozenset(addresses)))
    return log


def _listen(proto: int, address: IPv4Address | None, port: int) -> socket.socket:
    kind = {Proto.TCP: socket.SOCK_STREAM, Proto.UDP: socket.SOCK_DGRAM}.get(Proto(proto))
    if kind is None:
        raise NotImplementedFeature(f"live: echo servers for protocol {proto} are not realized")
    sock = socket.socket(socket.AF_INET, kind)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((str(address) if address else "0.0.0.0", port))
    if kind == socket.SOCK_STREAM:
        sock.listen(512)
    else:
        sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
    sock.setblocking(False)
    return sock


def _record(peer: str, peer_port: int, local: str, local_port: int, proto: int, payload: bytes) -> Packet:
    """The packet record an application gets for what its socket read."""
    packet = Packet(IPv4Address(peer), IPv4Address(local), proto, peer_port, local_port, payload=payload)
    if proto == Proto.TCP:
        packet.tcp_flags = int(TcpFlag.PSH | TcpFlag.ACK)
    return packet


def _answers(app: App, host: str, packet: Packet) -> list[bytes]:
    """The payloads the application answers `packet` with."""
    return [p.payload for p in app.receive(packet, host) if p.proto == packet.proto and p.payload]


def _acceptor(host: str, app: App, log: AppLog, loop: SocketLoop):
    def accept(listener: socket.socket) -> None:
        conn, (peer, peer_port) = listener.accept()
        local, local_port = conn.getsockname()
        log.arrivals.append(Arrival(host, int(Proto.TCP), peer, peer_port, local, local_port))
        conn.setblocking(False)
        loop.add(conn, _stream(host, app, loop, peer, peer_port, local, local_port))
    return accept


def _stream(host: str, app: App, loop: SocketLoop, peer: str, peer_port: int, local: str, local_port: int):
    def serve(conn: socket.socket) -> None:
        data = conn.recv(65536)
        if not data:
            loop.remove(conn)
            conn.close()
            return
        for payload in _answers(app, host, _record(peer, peer_port, local, local_port, Proto.TCP, data)):
            conn.sendall(payload)
    return serve


def _datagrams(host: str, app: App, log: AppLog):
    def serve(sock: socket.socket) -> None:
        data, ancdata, _, (peer, peer_port) = sock.recvmsg(65536, socket.CMSG_SPACE(12))
        local, local_port = sock.getsockname()
        for level, kind, value in ancdata:  # struct in_pktinfo: ifindex, spec_dst, addr (the datagram's dst)
            if level == socket.IPPROTO_IP and kind == IP_PKTINFO and len(value) >= 12:
                local = str(IPv4Address(value[8:12]))
        log.arrivals.append(Arrival(host, int(Proto.UDP), peer, peer_port, local, local_port))
        for payload in _answers(app, host, _record(peer, peer_port, local, local_port, Proto.UDP, data)):
            sock.sendto(payload, (peer, peer_port))
    return serve


def _arp_responder(mac: str, addresses: frozenset[IPv4Address]):
    def answer(raw: socket.socket) -> None:
        frame = raw.recv(2048)
        try:
            arp = decode_arp(frame)
        except PacketError:
            return
        if arp.op == ArpOp.REQUEST and arp.target_ip in addresses:
            raw.send(encode_arp(ArpFrame.reply(mac, arp.target_ip, arp.sender_mac, arp.sender_ip)))
    return answer
