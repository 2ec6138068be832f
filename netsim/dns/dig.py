"""Messages printed the way dig (BIND 9.18) prints them: header, sections, columns, footer.

Records use BIND's default master-file style (lib/dns/masterdump.c): the
TTL at column 24, class at 32, type at 40, data at 48, tab width 8; a
field that would start at or past its column is put one space after the
previous one (indent(): `to = max(to, from + 1)`, tabs up to the last tab
stop, then spaces). Questions skip the TTL column (`;name.<tabs>IN<tab>A`).
"""

from __future__ import annotations

import datetime as _dt

from netsim.dns.message import SOA, SRV, Message, Record, RRType

TTL_COLUMN, CLASS_COLUMN, TYPE_COLUMN, RDATA_COLUMN = 24, 32, 40, 48
TAB = 8
VERSION = "9.18 (netsim)"


def _indent(column: int, to: int) -> tuple[str, int]:
    """BIND's indent(): the whitespace from `column` to `to`, and the new column."""
    to = max(to, column + 1)
    tabs = to // TAB - column // TAB
    if tabs > 0:
        return "\t" * tabs + " " * (to - (to // TAB) * TAB), to
    return " " * (to - column), to


def rdata_text(record: Record) -> str:
    """The record's data in presentation format."""
    data = record.data
    if isinstance(data, SOA):
        return f"{data.mname} {data.rname} {data.serial} {data.refresh} {data.retry} {data.expire} {data.minimum}"
    if isinstance(data, SRV):
        return f"{data.priority} {data.weight} {data.port} {data.target}"
    if record.type is RRType.TXT:
        return " ".join(f'"{s}"' for s in data)  # type: ignore[union-attr]
    return str(data)


def record_line(record: Record) -> str:
    """One resource record as dig prints it."""
    out, col = record.name, len(record.name)
    for text, to in ((str(record.ttl), TTL_COLUMN), ("IN", CLASS_COLUMN), (record.type.name, TYPE_COLUMN),
                     (rdata_text(record), RDATA_COLUMN)):
        pad, col = _indent(col, to)
        out += pad + text
        col += len(text)
    return out


def question_line(name: str, type_: RRType) -> str:
    """A question as dig prints it."""
    out, col = ";" + name, len(name) + 1
    for text, to in (("IN", CLASS_COLUMN), (type_.name, TYPE_COLUMN)):
        pad, col = _indent(col, to)
        out += pad + text
        col += len(text)
    return out


def when_text(seconds: float) -> str:
    """dig's WHEN line's date (`Mon Jan 01 00:00:00 UTC 2024`)."""
    t = _dt.datetime.fromtimestamp(int(seconds), _dt.timezone.utc)
    return t.strftime("%a %b %d %H:%M:%S UTC %Y")


def format_answer(reply: Message, *, command: str, server: str, port: int = 53, proto: str = "UDP",
                  when: float, size: int, query_ms: int = 0, server_given: bool = False,
                  query_rd: bool = True) -> str:
    """The whole dig output for one reply."""
    additional = len(reply.additional) + (reply.edns_udp_size is not None)
    lines = ["", f"; <<>> DiG {VERSION} <<>> {command}"]
    if server_given:
        lines.append("; (1 server found)")
    lines += [";; global options: +cmd", ";; Got answer:",
              f";; ->>HEADER<<- opcode: QUERY, status: {reply.rcode.name}, id: {reply.id}",
              f";; flags: {reply.flags_text}; QUERY: {len(reply.question)}, ANSWER: {len(reply.answer)}, "
              f"AUTHORITY: {len(reply.authority)}, ADDITIONAL: {additional}"]
    if query_rd and not reply.ra:
        lines.append(";; WARNING: recursion requested but not available")
    lines.append("")
    if reply.edns_udp_size is not None:
        lines += [";; OPT PSEUDOSECTION:",
                  f"; EDNS: version: 0, flags:{' do' if reply.edns_do else ''}; udp: {reply.edns_udp_size}"]
    lines.append(";; QUESTION SECTION:")
    lines += [question_line(q.name, q.type) for q in reply.question]
    lines.append("")
    for title, records in (("ANSWER", reply.answer), ("AUTHORITY", reply.authority),
                           ("ADDITIONAL", reply.additional)):
        if records:
            lines.append(f";; {title} SECTION:")
            lines += [record_line(r) for r in records]
            lines.append("")
    lines += [f";; Query time: {query_ms} msec", f";; SERVER: {server}#{port}({server}) ({proto})",
              f";; WHEN: {when_text(when)}", f";; MSG SIZE  rcvd: {size}", ""]
    return "\n".join(lines) + "\n"


def format_no_answer(*, command: str, server: str, port: int = 53, tries: int, server_given: bool = False,
                     reason: str = "timed out") -> str:
    """dig's output when no server answered."""
    lines = [f";; communications error to {server}#{port}: {reason}"] * tries
    lines += ["", f"; <<>> DiG {VERSION} <<>> {command}"]
    if server_given:
        lines.append("; (1 server found)")
    lines += [";; global options: +cmd", ";; no servers could be reached", ""]
    return "\n".join(lines) + "\n"
