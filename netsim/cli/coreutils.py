"""GNU coreutils' output formats for the commands `netsim exec` runs: df's table and -h sizes, ls's long listing.

df (src/df.c): columns Filesystem (at least 14 wide, left), Type (4, left,
with -T), Size or 1K-blocks, Used, Avail or Available (5, right), Use% (4,
right), Mounted on (left, never padded), one space between; sizes rounded
up (human_ceiling); Use% = ceil(used·100 / (used + avail)), `-` when both are
0; entries of one device shown once, at the place of its first mount, under
the mount point nearest the root (filter_mount_list, with real devices
— a `/` in the name — winning over virtual ones). df -h (human_autoscale,
base 1024): one decimal, rounded up, below 10 (`3.9G`, `4.0G`), whole numbers
from 10 (`59G`), suffixes K M G T P E, plain bytes below 1024.
ls: one name a line (the output is not a terminal under `kubectl exec`
without -t), names in byte order (the C locale: no LANG in the container);
-l prints mode, links, owner, group, size, `%b %e %H:%M` (or `%b %e  %Y` for
a time more than six months from now), name and link target, after `total`
(1K blocks).
"""

from __future__ import annotations

import datetime as dt
import math
import stat
from collections.abc import Sequence

SUFFIXES = "KMGTPE"
SIX_MONTHS = 31556952 // 2   # ls: a Gregorian year's half


def human(n: int) -> str:
    """df -h's size: autoscaled by 1024, rounded up, one decimal below 10."""
    if n < 1024:
        return str(n)
    exponent = 0
    value = float(n)
    while value >= 1024 and exponent < len(SUFFIXES):
        value /= 1024
        exponent += 1
    scaled = n / 1024 ** exponent
    if int(scaled) < 10:
        tenths = math.ceil(scaled * 10 - 1e-9)
        if tenths < 100:
            return f"{tenths // 10}.{tenths % 10}{SUFFIXES[exponent - 1]}"
        scaled = 10.0
    whole = math.ceil(scaled - 1e-9)
    if whole >= 1024 and exponent < len(SUFFIXES):
        return f"1.0{SUFFIXES[exponent]}"
    return f"{whole}{SUFFIXES[exponent - 1]}"


def percent(used: int, available: int) -> str:
    """df's Use%: ceil(used·100 / (used + avail)); `-` when there is nothing."""
    total = used + available
    if total == 0:
        return "-"
    return f"{-(-used * 100 // total)}%"


def dedupe(rows: Sequence) -> list:
    """filter_mount_list: one row per device, kept where the device first appears, showing the best mount."""
    chosen: dict[str, object] = {}
    order: list[str] = []
    for row in rows:
        seen = chosen.get(row.device)
        if seen is None:
            chosen[row.device] = row
            order.append(row.device)
        elif ("/" in row.source and "/" not in seen.source) or len(seen.path) > len(row.path):
            chosen[row.device] = row
    return [chosen[d] for d in order]


def df_table(rows: Sequence, human_sizes: bool, show_type: bool) -> str:
    """df's table for `rows` (Mount-like: source, fstype, size, used, available, path)."""
    def size(n: int) -> str:
        return human(n) if human_sizes else str(-(-n // 1024))

    header = ["Filesystem"] + (["Type"] if show_type else []) + (
        ["Size", "Used", "Avail"] if human_sizes else ["1K-blocks", "Used", "Available"]) + ["Use%", "Mounted on"]
    minimum = [14] + ([4] if show_type else []) + [5, 5, 5, 4, 0]
    left = [True] + ([True] if show_type else []) + [False, False, False, False, True]
    table = [header]
    for r in rows:
        table.append([r.source] + ([r.fstype] if show_type else []) +
                     [size(r.size), size(r.used), size(r.available), percent(r.used, r.available), r.path])
    widths = [max([minimum[i]] + [len(row[i]) for row in table]) for i in range(len(header))]
    lines = []
    for row in table:
        cells = []
        for i, cell in enumerate(row):
            if i == len(row) - 1:
                cells.append(cell)
            else:
                cells.append(cell.ljust(widths[i]) if left[i] else cell.rjust(widths[i]))
        lines.append(" ".join(cells))
    return "\n".join(lines) + "\n"


def mode_string(kind: str, mode: int) -> str:
    """ls's ten-character mode: type letter, then rwx triples with s/t for setuid, setgid, sticky."""
    kind_bit = {"dir": stat.S_IFDIR, "link": stat.S_IFLNK, "file": stat.S_IFREG}[kind]
    return stat.filemode(kind_bit | mode)


def ls_time(when: float, now: float) -> str:
    """ls -l's time column: `%b %e %H:%M`, or `%b %e  %Y` when more than six months from now."""
    moment = dt.datetime.fromtimestamp(int(when), tz=dt.timezone.utc)
    day = f"{moment.day:>2}"
    if abs(now - when) > SIX_MONTHS:
        return f"{moment.strftime('%b')} {day}  {moment.year}"
    return f"{moment.strftime('%b')} {day} {moment.strftime('%H:%M')}"


def long_listing(rows: Sequence[tuple[str, int, str, str, int, float, str, str]], now: float,
                 total: int | None) -> str:
    """ls -l lines from (mode string, links, owner, group, size, mtime, name, link target) rows."""
    links_w = max((len(str(r[1])) for r in rows), default=1)
    owner_w = max((len(r[2]) for r in rows), default=1)
    group_w = max((len(r[3]) for r in rows), default=1)
    size_w = max((len(str(r[4])) for r in rows), default=1)
    out = [f"total {total}"] if total is not None else []
    for mode, links, owner, group, size, mtime, name, target in rows:
        line = (f"{mode} {str(links).rjust(links_w)} {owner.ljust(owner_w)} {group.ljust(group_w)} "
                f"{str(size).rjust(size_w)} {ls_time(mtime, now)} {name}")
        out.append(line + (f" -> {target}" if target else ""))
    return "\n".join(out) + "\n"
