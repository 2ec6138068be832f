"""What a container's filesystem holds where netsim knows it: the volumes, the files kubelet and containerd write.

`container_mounts(...)` lists the container's mounts in /proc/self/mounts
order: the overlay root, /dev (tmpfs 64M) and /dev/shm (shm 64M, containerd's
defaults), the container's volumeMounts, /etc/hosts (kubelet),
/etc/hostname and /etc/resolv.conf (containerd), /dev/termination-log —
stably sorted by path depth as containerd's WithMounts does — then runc's
masked directories /proc/acpi and /sys/firmware (tmpfs). Pseudo file
systems df never shows (proc, sysfs, devpts, mqueue, cgroup2) are left out.

Volume contents, as the volume plugins write them:
- configMap, secret, downwardAPI, projected: kubelet's AtomicWriter layout —
  the files in a timestamped directory `..YYYY_MM_DD_HH_MM_SS.<n>`, a
  `..data` link to it, and one link per top-level name into `..data`;
  items pick keys (key → path, mode), defaultMode applies to the rest
  (0644); a Secret's data decoded; downwardAPI labels and annotations in
  fieldpath.FormatMap's `key="value"` lines. configMap sits on the node's
  disk; the others are tmpfs (a memory-backed emptyDir underneath).
- emptyDir: empty; medium Memory is tmpfs sized as calculateEmptyDirMemorySize
  (the node's allocatable memory, the pod's memory limit when every container
  has one, sizeLimit when smaller); on disk otherwise.
- hostPath, local and PVC-backed volumes: their contents are unknown to
  netsim, so an empty directory; the space they use comes from the pod
  annotation `netsim.dev/volume-usage` (JSON: volume name → quantity).
A subPath mounts that entry of the volume. `<n>`, a random number in the
real writer, is derived from the pod's uid and the volume name.

Sizes: the node's disk is `/dev/vda1`, ext4, with the Node's
ephemeral-storage capacity and `netsim.dev/disk-used` (a Node annotation,
default 0) used; the overlay root, hostPath, local volumes, configMap and
disk emptyDirs are on it. A PVC-backed volume is its bound PV: the PV's
fsType (ext4 by default), a device of its own (`/dev/vdb`, `/dev/vdc`, … in
the pod's volume order; `server:path` for NFS) of the PV's capacity.

ext4 as df sees it (statfs): Size is the device's blocks less the file
system's overhead, Avail leaves out the blocks reserved for root and the
kernel's reserve (ext4_calculate_resv_clusters: 2% of the blocks, at most
4096). The overhead is what mke2fs lays out, as the kernel counts it
(ext4_calculate_overhead): per block group of 32768 blocks, two bitmaps and
an inode table (an inode per inode_ratio 16384 bytes, 256 bytes each, a
group's inodes rounded to fill whole blocks); in group 0, 1 and the powers
of 3, 5 and 7 (sparse_super) a superblock, the group descriptors (32 bytes
each) and the reserved GDT blocks that let resize2fs grow the file system
1024-fold (at most 1024 blocks); the journal, sized by the file system's
block count as ext2fs_default_journal_size of e2fsprogs 1.42.9 does (the
Amazon Linux 2 nodes of the seed; 1.43 and later grow it to 1 GiB and turn
on 64bit, so a 200Gi volume shows 196G instead of 197G). A trailing group
too small for its own metadata plus 50 blocks is dropped, as mke2fs does.
Below 512 MiB mke2fs.conf's "small" type applies (1 KiB blocks, 128-byte
inodes, inode_ratio 4096). A PV's file system is made by kubelet's
formatAndMount (mount-utils: `mkfs.ext4 -F -m0`), so nothing is reserved for
root and its Size is that of a fresh mkfs; the node's disk was made by the
OS installer with mke2fs's default 5% reserve, and the Node's
ephemeral-storage capacity already is its df Size (cadvisor's statfs), so
only the reserve is derived for it. Measured with e2fsprogs 1.47 emulating
1.42.9 (`-J size=128 -O ^64bit,^metadata_csum,^orphan_file`) on a 200 GiB
loop device: overhead 870543 blocks, df -B1 Size 211182620672 (197G),
Size − Used − Avail = 16 MiB. Not modelled: the handful of blocks a fresh
file system's root directory and lost+found take (24K), other fsTypes'
overhead (xfs, btrfs: Size is the capacity).
Paths under no mount are the image's, which netsim does not have.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from netsim.api.errors import FieldError
from netsim.api.objects import Pod
from netsim.api.quantity import Quantity
from netsim.api.store import Store
from netsim.api.topology import Topology
from netsim.errors import NotImplementedFeature
from netsim.kubelet.etchosts import hostname_file, hosts_file
from netsim.kubelet.podenv import field_value, host_ip, resource_value, secret_data
from netsim.kubelet.resolvconf import pod_resolv_conf
from netsim.kubelet.satoken import service_account_token

NODE_DISK = "/dev/vda1"
DEV_TMPFS = 64 * 1024 * 1024         # containerd: /dev is tmpfs size=65536k
SHM_SIZE = 64 * 1024 * 1024          # containerd: defaultShmSize
BLOCK = 4096
ROOT_RESERVE_PERCENT = 5             # mke2fs -m default: the node's disk (PVs are made with -m0)
RESV_CLUSTERS_MAX = 4096             # ext4_calculate_resv_clusters: min(blocks / 50, 4096)
# mke2fs.conf: (type, below this many bytes) -> (block size, inode size, inode_ratio)
MKE2FS_TYPES = ((512 * 1024 ** 2, (1024, 128, 4096)),   # "small" (1.42.9's mke2fs.conf)
                (float("inf"), (4096, 256, 16384)))     # [defaults]
# ext2fs_default_journal_size, e2fsprogs 1.42.9: (blocks below, journal blocks); module docstring for 1.43+
JOURNAL_BLOCKS = ((2048, 0), (32768, 1024), (256 * 1024, 4096), (512 * 1024, 8192), (1024 * 1024, 16384),
                  (float("inf"), 32768))
GROUP_DESC_SIZE = 32                 # ext2_group_desc without the 64bit feature
DEFAULT_MODE = 0o644                 # SetDefaults_*VolumeSource defaultMode 420
USAGE_ANNOTATION = "netsim.dev/volume-usage"
DISK_USED_ANNOTATION = "netsim.dev/disk-used"
MASKED_DIRECTORIES = ("/proc/acpi", "/sys/firmware")   # containerd's masked paths that are directories
DATA_DIR = "..data"


class ImageFilesystem(NotImplementedFeature):
    """A path under no mount netsim knows: the container image's files are not emulated."""


class _Vanished(NotImplementedFeature):
    """A volume's object or key went away after the pod's volumes mounted (volumemount.py holds the sandbox until
    they do): kubelet's remounts fail with FailedMount and the container keeps the files last written."""

    def __init__(self, pod: Pod, volume: str, error: str) -> None:
        super().__init__(f"Pod {pod.namespace}/{pod.name}: volume {volume!r}: {error} — it was there when the volume "
                         f"mounted; kubelet keeps the files it last wrote, which netsim does not")


@dataclass(frozen=True, slots=True)
class Entry:
    """One file-system entry: a file (content), a directory (children) or a symbolic link (target)."""

    name: str
    kind: str                       # "file", "dir" or "link"
    mode: int = 0o644
    content: str = ""
    target: str = ""
    children: tuple[Entry, ...] = ()

    def child(self, name: str) -> Entry | None:
        """The directory's entry of that name."""
        return next((c for c in self.children if c.name == name), None)

    def size(self, fstype: str) -> int:
        """st_size as ls -l shows it: bytes of a file, length of a link target, a directory's per file system."""
        if self.kind == "file":
            return len(self.content.encode("utf-8", errors="surrogateescape"))
        if self.kind == "link":
            return len(self.target)
        return (len(self.children) + 2) * 20 if fstype == "tmpfs" else BLOCK   # tmpfs: BOGO_DIRENT_SIZE per entry

    def blocks(self, fstype: str) -> int:
        """Allocated 1K blocks (ls -s, the `total` line): whole 4K pages; links and tmpfs directories take none."""
        if self.kind == "link" or (self.kind == "dir" and fstype == "tmpfs"):
            return 0
        size = self.size(fstype)
        return -(-size // BLOCK) * 4


@dataclass(frozen=True, slots=True)
class Mount:
    """One mount of the container: where, df's columns (source, type, sizes), and its files when known."""

    path: str
    source: str
    fstype: str
    device: str                     # same device → one df line (coreutils de-duplicates)
    size: int
    used: int
    reserved: int = 0
    root: Entry | None = None       # None: contents unknown beyond being a directory
    mtime: float = 0.0
    volume: str = ""

    @property
    def available(self) -> int:
        """df's Avail: what is left for a non-root user."""
        return max(0, self.size - self.used - self.reserved)


@dataclass(frozen=True, slots=True)
class Disk:
    """A block device's file system as df reports it: Size, Used, and what Avail leaves out (reserved)."""

    source: str
    fstype: str
    size: int
    used: int
    reserved: int = 0


def _sparse_super(group: int) -> bool:
    """Whether a block group holds a superblock backup: 0, 1 and the powers of 3, 5 and 7."""
    if group <= 1:
        return True
    for base in (3, 5, 7):
        n = base
        while n < group:
            n *= base
        if n == group:
            return True
    return False


def ext4_overhead(blocks: int, block_size: int = 4096, inode_size: int = 256, inode_ratio: int = 16384,
                  journal: bool = True) -> tuple[int, int]:
    """(blocks kept, overhead blocks) of a fresh mke2fs file system on `blocks` blocks (module docstring)."""
    per_group = 8 * block_size
    first = 1 if block_size == 1024 else 0
    per_desc_block = block_size // GROUP_DESC_SIZE
    inodes = blocks * block_size // inode_ratio   # from the device's size, kept when a last group is dropped
    while True:
        groups = -(-(blocks - first) // per_group)
        ipg = min(-(-inodes // groups), per_group)
        table = -(-ipg * inode_size // block_size)
        ipg = (table * block_size // inode_size) & ~7
        table = -(-ipg * inode_size // block_size)
        desc = -(-groups // per_desc_block)
        max_blocks = min(0xFFFFFFFF, blocks * 1024)
        growth_groups = -(-(max_blocks - first) // per_group)   # calc_reserved_gdt_blocks
        reserved_gdt = max(0, min(block_size // 4, -(-growth_groups // per_desc_block) - desc))
        remainder = (blocks - first) % per_group
        tail = 2 + table + ((1 + desc + reserved_gdt) if _sparse_super(groups - 1) else 0)
        if groups > 1 and remainder and remainder < tail + 50:
            blocks -= remainder   # mke2fs drops a last group too small to be worth its metadata
            continue
        break
    backups = sum(1 for g in range(groups) if _sparse_super(g))
    journal_blocks = next(j for below, j in JOURNAL_BLOCKS if blocks < below) if journal else 0
    return blocks, first + groups * (2 + table) + backups * (1 + desc + reserved_gdt) + journal_blocks


def formatted_disk(source: str, fstype: str, capacity: int, used: int, reserve_percent: int = 0) -> Disk:
    """A device of `capacity` bytes as mke2fs formats it (ext2/3/4; others take the whole capacity), df's view."""
    if fstype not in ("ext2", "ext3", "ext4"):
        return Disk(source, fstype, capacity, min(used, capacity))
    block_size, inode_size, ratio = next(t for below, t in MKE2FS_TYPES if capacity < below)
    blocks, overhead = ext4_overhead(capacity // block_size, block_size, inode_size, ratio, fstype != "ext2")
    size = (blocks - overhead) * block_size
    reserved = blocks * reserve_percent // 100 + min(blocks // 50, RESV_CLUSTERS_MAX)
    return Disk(source, fstype, size, min(used, size), reserved * block_size)


def _root_reserve(size: int) -> int:
    """Bytes Avail leaves out on an ext4 disk whose df Size is `size` (mke2fs -m 5 plus the kernel's reserve)."""
    kept = size // BLOCK
    blocks = kept
    for _ in range(8):   # the device's block count: kept blocks plus the overhead of that many
        blocks = kept + ext4_overhead(blocks)[1]
    return (blocks * ROOT_RESERVE_PERCENT // 100 + min(blocks // 50, RESV_CLUSTERS_MAX)) * BLOCK


def _bytes(raw: Any, where: str) -> int:
    try:
        return Quantity.parse(str(raw)).value()
    except FieldError as err:
        raise FieldError(err.problem, where) from None


def node_disk(store: Store, pod: Pod) -> Disk:
    """The node's root disk: ephemeral-storage capacity, `netsim.dev/disk-used` used."""
    node = store.try_get("Node", pod.node_name) if pod.node_name else None
    capacity = (node.status.get("capacity") or {}) if node is not None else {}
    size = _bytes(capacity.get("ephemeral-storage", "0"), f"Node {pod.node_name}: status.capacity[ephemeral-storage]")
    used = 0
    if node is not None and DISK_USED_ANNOTATION in node.annotations:
        used = _bytes(node.annotations[DISK_USED_ANNOTATION],
                      f"Node {node.name}: metadata.annotations[{DISK_USED_ANNOTATION}]")
    return Disk(NODE_DISK, "ext4", size, min(used, size), _root_reserve(size) if size else 0)


def _node_memory(store: Store, pod: Pod, which: str) -> int:
    node = store.try_get("Node", pod.node_name) if pod.node_name else None
    values = (node.status.get(which) or {}) if node is not None else {}
    return _bytes(values.get("memory", "0"), f"Node {pod.node_name}: status.{which}[memory]")


def volume_usage(pod: Pod) -> dict[str, int]:
    """The pod's `netsim.dev/volume-usage` annotation: volume name → bytes used."""
    raw = pod.annotations.get(USAGE_ANNOTATION)
    if not raw:
        return {}
    where = f"Pod {pod.namespace}/{pod.name}: metadata.annotations[{USAGE_ANNOTATION}]"
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as err:
        raise FieldError(f"must be a JSON object of volume name to quantity: {err.msg}", where) from None
    if not isinstance(data, dict):
        raise FieldError("must be a JSON object of volume name to quantity", where)
    names = {v.get("name") for v in pod.spec.get("volumes") or []}
    out = {}
    for name, value in data.items():
        if name not in names:
            raise FieldError(f"{name!r} is not one of the pod's volumes", where)
        out[name] = _bytes(value, f"{where}[{name}]")
    return out


def memory_volume_size(store: Store, pod: Pod, size_limit: Any = None) -> int:
    """calculateEmptyDirMemorySize: node allocatable memory, else the pod's memory limit, else sizeLimit (smallest)."""
    size = _node_memory(store, pod, "allocatable")
    limits = [((c.get("resources") or {}).get("limits") or {}).get("memory") for c in pod.spec.get("containers") or []]
    if limits and all(limits):
        pod_limit = sum(_bytes(x, f"Pod {pod.namespace}/{pod.name}: resources.limits.memory") for x in limits)
        if 0 < pod_limit <= size:
            size = pod_limit
    if size_limit:
        volume_limit = _bytes(size_limit, f"Pod {pod.namespace}/{pod.name}: emptyDir.sizeLimit")
        if 0 < volume_limit <= size:
            size = volume_limit
    return size


# AtomicWriter ----------------------------------------------------------------------------
def _tree(files: Mapping[str, tuple[str, int]], name: str = "") -> Entry:
    """A directory holding `files` (path → (content, mode)), nested paths as subdirectories (mode 0755)."""
    direct, nested = {}, {}
    for path, value in files.items():
        head, _, rest = path.partition("/")
        if rest:
            nested.setdefault(head, {})[rest] = value
        else:
            direct[head] = value
    children = [Entry(k, "file", mode=v[1], content=v[0]) for k, v in direct.items()]
    children += [_tree(sub, k) for k, sub in nested.items()]
    return Entry(name, "dir", mode=0o755, children=tuple(sorted(children, key=lambda e: e.name)))


def atomic_dir(files: Mapping[str, tuple[str, int]], stamp: str) -> Entry:
    """AtomicWriter's layout: the payload in `stamp`, `..data` → `stamp`, a link per top-level name."""
    payload = _tree(files, stamp)
    links = [Entry(c.name, "link", mode=0o777, target=f"{DATA_DIR}/{c.name}") for c in payload.children]
    data = Entry(DATA_DIR, "link", mode=0o777, target=stamp)
    return Entry("", "dir", mode=0o777, children=tuple(sorted([payload, data, *links], key=lambda e: e.name)))


def timestamp_dir(pod: Pod, volume: str, when: float) -> str:
    """`..2006_01_02_15_04_05.<n>`: os.MkdirTemp's name for the payload (n derived, not random: module docstring)."""
    moment = dt.datetime.fromtimestamp(int(when), tz=dt.timezone.utc)
    n = int.from_bytes(hashlib.sha256(f"{pod.uid}/{volume}".encode()).digest()[:4], "big")
    return moment.strftime("..%Y_%m_%d_%H_%M_%S.") + str(n)


def _mode(item: Mapping[str, Any], default: int) -> int:
    return int(item["mode"]) if item.get("mode") is not None else default


def _keyed_files(pod: Pod, kind: str, data: Mapping[str, str] | None, source: Mapping[str, Any], default: int,
                 volume: str) -> dict[str, tuple[str, int]]:
    """A ConfigMap's or Secret's files: every key, or the items (key → path); missing ones as kubelet decides."""
    name = source.get("name") or source.get("secretName", "")
    optional = bool(source.get("optional"))
    if data is None:
        if optional:
            return {}
        raise _Vanished(pod, volume, f'{kind.lower()} "{name}" not found')
    items = source.get("items")
    if not items:
        return {k: (v, default) for k, v in sorted(data.items())}
    out = {}
    for item in items:
        key = item.get("key", "")
        if key not in data:
            if optional:
                continue
            raise _Vanished(pod, volume, "configmap references non-existent config key: " + key if kind == "ConfigMap"
                            else "references non-existent secret key: " + key)
        out[item.get("path", key)] = (data[key], _mode(item, default))
    return out


def _configmap_data(store: Store, name: str, namespace: str) -> dict[str, str] | None:
    """data and binaryData (decoded) as the configMap volume plugin writes both (MakePayload)."""
    cm = store.try_get("ConfigMap", name, namespace)
    if cm is None:
        return None
    binary = {key: base64.b64decode(str(value)).decode("utf-8", errors="surrogateescape")
              for key, value in (cm.get("binaryData") or {}).items()}
    return {**(cm.get("data") or {}), **binary}


def _secret_data(store: Store, name: str, namespace: str) -> dict[str, str] | None:
    secret = store.try_get("Secret", name, namespace)
    return None if secret is None else secret_data(secret)


def _downward_files(store: Store, pod: Pod, items: list, default: int, container: Mapping[str, Any]) -> dict:
    out = {}
    for item in items or []:
        if "fieldRef" in item:
            value = field_value(store, pod, item["fieldRef"].get("fieldPath", ""), volume=True)
        elif "resourceFieldRef" in item:
            value = resource_value(store, pod, container, item["resourceFieldRef"])
        else:
            raise NotImplementedFeature(f"Pod {pod.namespace}/{pod.name}: downwardAPI item {item.get('path')!r} "
                                        f"has neither fieldRef nor resourceFieldRef")
        out[item.get("path", "")] = (value, _mode(item, default))
    return out


class _Volumes:
    """Builds each of the pod's volumes once: its mount (minus the path) and files."""

    def __init__(self, store: Store, pod: Pod, topology: Topology, seed: int, container: Mapping[str, Any]) -> None:
        self.store, self.pod, self.topology, self.seed, self.container = store, pod, topology, seed, container
        self.disk = node_disk(store, pod)
        self.usage = volume_usage(pod)
        self.started = _start_time(pod)
        self.block_devices = 0

    def mount(self, volume: Mapping[str, Any], path: str) -> Mount:
        """The volume mounted at `path` (subPath applied by the caller)."""
        name = volume.get("name", "")
        pod, store = self.pod, self.store
        where = f"Pod {pod.namespace}/{pod.name}: volume {name!r}"
        if "configMap" in volume or "secret" in volume or "downwardAPI" in volume or "projected" in volume:
            files = self._projected_files(volume, name)
            root = atomic_dir(files, timestamp_dir(pod, name, self.started))
            if "configMap" in volume:
                return self._on_disk(path, name, root)
            size = memory_volume_size(store, pod)
            root = Entry("", "dir", mode=0o1777, children=root.children)   # a tmpfs root: mode 1777
            used = sum(e.blocks("tmpfs") * 1024 for e in _walk(root))
            return Mount(path, "tmpfs", "tmpfs", f"tmpfs:{path}", size, min(size, used), root=root,
                         mtime=self.started, volume=name)
        if "emptyDir" in volume:
            spec = volume.get("emptyDir") or {}
            empty = Entry("", "dir", mode=0o777)
            if spec.get("medium") == "Memory":
                size = memory_volume_size(store, pod, spec.get("sizeLimit"))
                return Mount(path, "tmpfs", "tmpfs", f"tmpfs:{path}", size, min(size, self.usage.get(name, 0)),
                             root=Entry("", "dir", mode=0o1777), mtime=self.started, volume=name)
            return self._on_disk(path, name, empty)
        if "hostPath" in volume:
            return self._on_disk(path, name, Entry("", "dir", mode=0o755))
        if "persistentVolumeClaim" in volume:
            return self._claim(volume["persistentVolumeClaim"], path, name, where)
        kinds = sorted(k for k in volume if k != "name")
        raise NotImplementedFeature(f"{where}: {', '.join(kinds) or 'no source'} volumes are not emulated")

    def _on_disk(self, path: str, name: str, root: Entry) -> Mount:
        disk = self.disk
        return Mount(path, disk.source, disk.fstype, disk.source, disk.size, disk.used, disk.reserved, root=root,
                     mtime=self.started, volume=name)

    def _claim(self, claim: Mapping[str, Any], path: str, name: str, where: str) -> Mount:
        pvc = self.store.try_get("PersistentVolumeClaim", claim.get("claimName", ""), self.pod.namespace)
        if pvc is None:
            raise NotImplementedFeature(f'{where}: persistentvolumeclaim "{claim.get("claimName")}" not found '
                                        f"(the pod could not have started)")
        pv_name = pvc.spec.get("volumeName") or ""
        pv = self.store.try_get("PersistentVolume", pv_name) if pv_name else None
        if pv is None:
            raise NotImplementedFeature(f"{where}: PersistentVolumeClaim {pvc.namespace}/{pvc.name} is not bound "
                                        f"to a PersistentVolume (the pod could not have started)")
        capacity = _bytes((pv.spec.get("capacity") or {}).get("storage", "0"),
                          f"PersistentVolume {pv.name}: spec.capacity.storage")
        used = min(capacity, self.usage.get(name, 0))   # NFS; block devices below: their file system's Size
        empty = Entry("", "dir", mode=0o755)
        if "local" in pv.spec or "hostPath" in pv.spec:
            return self._on_disk(path, name, empty)
        if "nfs" in pv.spec:
            nfs = pv.spec["nfs"]
            source = f"{nfs.get('server', '')}:{nfs.get('path', '')}"
            return Mount(path, source, "nfs4", source, capacity, used, root=empty, mtime=self.started, volume=name)
        fstype = next((pv.spec[k].get("fsType") for k in pv.spec if isinstance(pv.spec[k], dict)
                       and pv.spec[k].get("fsType")), None) or "ext4"
        self.block_devices += 1
        device = "/dev/vd" + chr(ord("a") + self.block_devices)
        disk = formatted_disk(device, fstype, capacity, self.usage.get(name, 0))   # formatAndMount: mkfs -F -m0
        return Mount(path, device, fstype, device, disk.size, disk.used, disk.reserved, root=empty, mtime=self.started,
                     volume=name)

    def _projected_files(self, volume: Mapping[str, Any], name: str) -> dict[str, tuple[str, int]]:
        pod, store, ns = self.pod, self.store, self.pod.namespace
        if "configMap" in volume:
            src = volume["configMap"] or {}
            return _keyed_files(pod, "ConfigMap", _configmap_data(store, src.get("name", ""), ns), src,
                                int(src.get("defaultMode", DEFAULT_MODE)), name)
        if "secret" in volume:
            src = volume["secret"] or {}
            return _keyed_files(pod, "Secret", _secret_data(store, src.get("secretName", ""), ns), src,
                                int(src.get("defaultMode", DEFAULT_MODE)), name)
        if "downwardAPI" in volume:
            src = volume["downwardAPI"] or {}
            return _downward_files(store, pod, src.get("items"), int(src.get("defaultMode", DEFAULT_MODE)),
                                   self.container)
        src = volume["projected"] or {}
        default = int(src.get("defaultMode", DEFAULT_MODE))
        files: dict[str, tuple[str, int]] = {}
        for source in src.get("sources") or []:
            if "configMap" in source:
                s = source["configMap"]
                files.update(_keyed_files(pod, "ConfigMap", _configmap_data(store, s.get("name", ""), ns), s, default,
                                          name))
            elif "secret" in source:
                s = source["secret"]
                files.update(_keyed_files(pod, "Secret", _secret_data(store, s.get("name", ""), ns), s, default, name))
            elif "downwardAPI" in source:
                files.update(_downward_files(store, pod, source["downwardAPI"].get("items"), default, self.container))
            elif "serviceAccountToken" in source:
                s = source["serviceAccountToken"]
                token = service_account_token(store, pod, s, name, self.started, self.seed,
                                              self.topology.cluster_domain)
                files[s.get("path", "token")] = (token, default)
            else:
                kinds = sorted(source)
                raise NotImplementedFeature(f"Pod {ns}/{pod.name}: volume {name!r}: projected {', '.join(kinds)} "
                                            f"sources are not emulated")
        return files


def _walk(entry: Entry):
    yield entry
    for c in entry.children:
        yield from _walk(c)


def _start_time(pod: Pod) -> float:
    raw = pod.status.get("startTime") or pod.creation_timestamp
    if not raw:
        return 0.0
    return dt.datetime.strptime(raw, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc).timestamp()


def _sub_path(mount: Mount, sub: str, where: str) -> Mount:
    """The mount narrowed to one entry of the volume (subPath), following the AtomicWriter links."""
    entry = mount.root
    for part in [p for p in sub.split("/") if p]:
        if entry is None or entry.kind != "dir":
            entry = None
            break
        found = entry.child(part)
        if found is not None and found.kind == "link":
            found = resolve_link(mount.root, found)
        entry = found if found is not None else Entry(part, "dir", mode=0o755)   # kubelet creates a missing subPath
    if entry is None:
        raise NotImplementedFeature(f"{where}: subPath {sub!r} goes through a file")
    return Mount(mount.path, mount.source, mount.fstype, mount.device, mount.size, mount.used, mount.reserved,
                 root=entry, mtime=mount.mtime, volume=mount.volume)


def resolve_link(root: Entry | None, link: Entry) -> Entry | None:
    """The entry a link inside a volume's top directory points to (`..data/x` → the payload's x)."""
    entry = root
    for part in link.target.split("/"):
        if entry is None:
            return None
        nxt = entry.child(part)
        if nxt is not None and nxt.kind == "link":
            nxt = resolve_link(root, nxt)
        entry = nxt
    return entry


def _depth(path: str) -> int:
    return len([p for p in path.split("/") if p])


def container_mounts(store: Store, pod: Pod, container_name: str, topology: Topology, seed: int) -> tuple[Mount, ...]:
    """The container's mounts in /proc/self/mounts order (module docstring)."""
    container = next((c for c in pod.spec.get("containers") or [] if c.get("name") == container_name), None)
    if container is None:
        raise NotImplementedFeature(f"Pod {pod.namespace}/{pod.name}: no container {container_name!r}")
    volumes = {v.get("name"): v for v in pod.spec.get("volumes") or []}
    builder = _Volumes(store, pod, topology, seed, container)
    disk = builder.disk
    started = builder.started
    node_memory = _node_memory(store, pod, "capacity")

    def file_mount(path: str, content: str) -> Mount:
        name = posixpath.basename(path)
        return Mount(path, disk.source, disk.fstype, disk.source, disk.size, disk.used, disk.reserved,
                     root=Entry(name, "file", mode=0o644, content=content), mtime=started)

    domain = topology.cluster_domain
    cri: list[Mount] = [
        file_mount("/etc/hostname", hostname_file(pod, domain)),
        file_mount("/etc/resolv.conf", pod_resolv_conf(pod, topology)[0]),
        Mount("/dev/shm", "shm", "tmpfs", "shm", SHM_SIZE, 0, root=Entry("", "dir", mode=0o1777), mtime=started),
    ]
    kubelet: list[Mount] = []
    claimed = set()
    for vm in container.get("volumeMounts") or []:
        where = f"Pod {pod.namespace}/{pod.name}: container {container_name!r}: volumeMount {vm.get('name')!r}"
        volume = volumes.get(vm.get("name"))
        if volume is None:
            raise FieldError("not found in spec.volumes", where)
        path = posixpath.normpath(vm.get("mountPath", "/"))
        mount = builder.mount(volume, path)
        if vm.get("subPath") or vm.get("subPathExpr"):
            if vm.get("subPathExpr"):
                raise NotImplementedFeature(f"{where}: subPathExpr is not emulated")
            mount = _sub_path(mount, vm["subPath"], where)
        kubelet.append(mount)
        claimed.add(path)
    if "/etc/hosts" not in claimed:
        kubelet.append(file_mount("/etc/hosts", hosts_file(pod, domain, host_ip(store, pod))))
    if "/dev/termination-log" not in claimed:
        kubelet.append(file_mount(container.get("terminationMessagePath") or "/dev/termination-log", ""))
    extra = [m for m in cri if m.path not in claimed]
    ordered = sorted(extra + kubelet, key=lambda m: _depth(m.path))
    root = Mount("/", "overlay", "overlay", "overlay", disk.size, disk.used, disk.reserved, root=None, mtime=started)
    dev = Mount("/dev", "tmpfs", "tmpfs", "tmpfs:/dev", DEV_TMPFS, 0, root=None, mtime=started)
    masked = [Mount(p, "tmpfs", "tmpfs", f"tmpfs:{p}", node_memory // 2, 0, root=Entry("", "dir", mode=0o755),
                    mtime=started) for p in MASKED_DIRECTORIES]
    return tuple([root, dev, *ordered, *masked])


def mount_for(mounts: tuple[Mount, ...], path: str) -> Mount:
    """The mount a path lies on: the last-mounted one whose mount point is the path or a parent of it."""
    path = posixpath.normpath(path)
    best = mounts[0]
    for m in mounts:
        if path == m.path or path.startswith(m.path.rstrip("/") + "/"):
            if len(m.path) >= len(best.path):
                best = m
    return best


def lookup(mounts: tuple[Mount, ...], path: str) -> tuple[Mount, Entry | None, bool]:
    """(mount, entry, known) for an absolute path: the entry (None: absent), whether netsim knows that place."""
    path = posixpath.normpath(path)
    mount = mount_for(mounts, path)
    if mount.root is None:
        return mount, None, False
    rest = [p for p in path[len(mount.path):].split("/") if p]
    entry: Entry | None = mount.root
    for part in rest:
        if entry is None or entry.kind != "dir":
            return mount, None, True
        entry = entry.child(part)
        if entry is not None and entry.kind == "link" and part != rest[-1]:
            entry = resolve_link(mount.root, entry)
    return mount, entry, True
