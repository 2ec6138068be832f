"""The container's mounts and files: AtomicWriter volumes, tmpfs sizes, PVCs, /etc/hosts, the service-account token."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from netsim.api.errors import FieldError
from netsim.api.load import load_text
from netsim.api.topology import load_topology
from netsim.emulator.cluster import Cluster
from netsim.errors import NotImplementedFeature
from netsim.kubelet.etchosts import hosts_file
from netsim.kubelet.podfiles import container_mounts, ext4_overhead, formatted_disk, lookup, node_disk, resolve_link
from netsim.kubelet.satoken import signing_key

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY = load_topology(ROOT / "topologies/three-node.yaml")
GI = 1024 ** 3

OBJECTS = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {app.conf: "port=80\\n", LEVEL: debug}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {password: s3cr3t}
"""


def pod(volumes: str, mounts: str, spec: str = "", meta: str = "", resources: str = "") -> str:
    return (f"---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p, labels: {{app: web, tier: a}}{meta}}}\n"
            f"spec:\n{spec}  containers:\n  - name: app\n    image: nginx:1.25\n{resources}"
            f"    volumeMounts:\n{mounts}  volumes:\n{volumes}")


def build(text: str) -> Cluster:
    return Cluster.build(TOPOLOGY, load_text(text, "test.yaml"), horizon=0)


def mounts_of(cluster: Cluster, name: str = "p"):
    p = cluster.store.get("Pod", name, "default")
    return container_mounts(cluster.store, p, "app", TOPOLOGY, cluster.seed)


def read(mounts, path: str) -> str:
    mount, entry, known = lookup(mounts, path)
    assert known, path
    while entry is not None and entry.kind == "link":
        entry = resolve_link(mount.root, entry)
    assert entry is not None and entry.kind == "file", path
    return entry.content


def test_configmap_volume_has_the_atomic_writer_layout_on_the_node_disk() -> None:
    cluster = build(OBJECTS + pod("  - name: c\n    configMap: {name: cfg}\n", "    - {name: c, mountPath: /etc/c}\n"))
    mounts = mounts_of(cluster)
    mount = next(m for m in mounts if m.path == "/etc/c")
    assert (mount.source, mount.fstype) == ("/dev/vda1", "ext4")
    names = [e.name for e in mount.root.children]
    stamp = names[0]
    assert stamp.startswith("..2024_01_01_00_00_00.") and stamp[len("..2024_01_01_00_00_00."):].isdigit()
    assert names == [stamp, "..data", "LEVEL", "app.conf"]
    data = mount.root.child("..data")
    assert data.kind == "link" and data.target == stamp
    assert mount.root.child("app.conf").target == "..data/app.conf"
    assert read(mounts, "/etc/c/app.conf") == "port=80\n" and read(mounts, "/etc/c/..data/LEVEL") == "debug"
    assert mount.root.child(stamp).child("LEVEL").mode == 0o644


def test_configmap_binary_data_is_written_beside_data() -> None:
    binary = OBJECTS.replace('data: {app.conf: "port=80\\n", LEVEL: debug}',
                             'data: {LEVEL: debug}\nbinaryData: {blob: "%s"}' % base64.b64encode(b"\x00\x01ok").decode())
    cluster = build(binary + pod("  - name: c\n    configMap: {name: cfg}\n", "    - {name: c, mountPath: /etc/c}\n"))
    mounts = mounts_of(cluster)
    assert read(mounts, "/etc/c/blob").encode("utf-8", errors="surrogateescape") == b"\x00\x01ok"
    assert read(mounts, "/etc/c/LEVEL") == "debug"


def test_secret_items_and_modes_on_tmpfs_sized_by_the_pod_memory_limit() -> None:
    volumes = ("  - name: s\n    secret:\n      secretName: creds\n      defaultMode: 0400\n"
               "      items: [{key: password, path: db/pw}]\n")
    resources = "    resources: {limits: {memory: 128Mi}}\n"
    cluster = build(OBJECTS + pod(volumes, "    - {name: s, mountPath: /etc/s}\n", resources=resources))
    mounts = mounts_of(cluster)
    mount = next(m for m in mounts if m.path == "/etc/s")
    assert mount.fstype == "tmpfs" and mount.size == 128 * 1024 ** 2 and mount.used == 4096
    assert mount.root.mode == 0o1777
    assert read(mounts, "/etc/s/db/pw") == "s3cr3t"   # stringData, stored as data, decoded into the file
    stamp = mount.root.children[0]
    assert stamp.child("db").child("pw").mode == 0o400


def test_downward_api_files_and_memory_empty_dir_sizes() -> None:
    volumes = ("  - name: info\n    downwardAPI:\n      items:\n"
               "      - {path: labels, fieldRef: {fieldPath: metadata.labels}}\n"
               "      - {path: ns, fieldRef: {fieldPath: metadata.namespace}}\n"
               "      - {path: mem, resourceFieldRef: {containerName: app, resource: limits.memory, divisor: 1Mi}}\n"
               "  - name: scratch\n    emptyDir: {medium: Memory, sizeLimit: 1Gi}\n"
               "  - name: disk\n    emptyDir: {}\n")
    mounts_yaml = ("    - {name: info, mountPath: /etc/info}\n    - {name: scratch, mountPath: /scratch}\n"
                   "    - {name: disk, mountPath: /data}\n")
    cluster = build(OBJECTS + pod(volumes, mounts_yaml))
    mounts = mounts_of(cluster)
    assert read(mounts, "/etc/info/labels") == 'app="web"\ntier="a"'
    assert read(mounts, "/etc/info/ns") == "default"
    assert read(mounts, "/etc/info/mem") == "16384"   # no limit: the node's allocatable 16Gi
    scratch = next(m for m in mounts if m.path == "/scratch")
    assert (scratch.fstype, scratch.size) == ("tmpfs", GI)   # sizeLimit is below the node's allocatable
    disk = next(m for m in mounts if m.path == "/data")
    assert disk.device == "/dev/vda1" and disk.root.children == ()


def test_mount_order_is_containerds_depth_sort_then_the_masked_paths() -> None:
    cluster = build(OBJECTS + pod("  - name: d\n    emptyDir: {}\n", "    - {name: d, mountPath: /var/lib/app}\n"))
    paths = [m.path for m in mounts_of(cluster)]
    assert paths[:2] == ["/", "/dev"]
    assert paths[-2:] == ["/proc/acpi", "/sys/firmware"]
    middle = paths[2:-2]
    assert middle[:3] == ["/etc/hostname", "/etc/resolv.conf", "/dev/shm"]   # containerd's own, first among depth 2
    assert "/var/run/secrets/kubernetes.io/serviceaccount" in middle             # the ServiceAccount admission's
    depths = [len(p.strip("/").split("/")) for p in middle]
    assert depths == sorted(depths)


def test_a_pvc_mount_is_its_pvs_disk_with_the_annotated_usage() -> None:
    objects = ("apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: pv1}\nspec:\n  capacity: {storage: 200Gi}\n"
               "  accessModes: [ReadWriteOnce]\n  csi: {driver: ebs.csi.aws.com, volumeHandle: v, fsType: xfs}\n---\n"
               "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data}\nspec:\n"
               "  accessModes: [ReadWriteOnce]\n  volumeName: pv1\n  resources: {requests: {storage: 200Gi}}\n")
    meta = ", annotations: {netsim.dev/volume-usage: '{\"db\": \"150Gi\"}'}"
    cluster = build(objects + pod("  - name: db\n    persistentVolumeClaim: {claimName: data}\n",
                                  "    - {name: db, mountPath: /db}\n", meta=meta))
    mount = next(m for m in mounts_of(cluster) if m.path == "/db")
    assert (mount.source, mount.fstype, mount.size, mount.used) == ("/dev/vdb", "xfs", 200 * GI, 150 * GI)
    assert mount.available == 50 * GI   # xfs keeps nothing back for root


# (device blocks, block size, inode size, inode_ratio) -> (blocks kept, overhead): dumpe2fs of mke2fs 1.47 run as
# 1.42.9 (-m0 -J size=<1.42.9's> -O ^64bit,^metadata_csum,^orphan_file,^metadata_csum_seed) on sparse files
MEASURED = [
    ((52428800, 4096, 256, 16384), (52428800, 870543)),     # 200Gi: the seed's Prometheus volume
    ((26214400, 4096, 256, 16384), (26214400, 459343)),     # 100Gi
    ((262400, 4096, 256, 16384), (262144, 12637)),          # 1025Mi: the 256-block last group is dropped
    ((1280000, 4096, 256, 16384), (1280000, 55360)),        # 5000Mi
    ((536870912, 4096, 256, 16384), (536870912, 8474644)),  # 2Ti
    ((102400, 1024, 128, 4096), (102400, 8882)),            # 100Mi: mke2fs.conf's "small"
]


@pytest.mark.parametrize(("device", "expected"), MEASURED)
def test_ext4_overhead_is_what_mke2fs_lays_out(device: tuple, expected: tuple) -> None:
    assert ext4_overhead(*device) == expected


def test_ext4_df_figures_match_a_mounted_loop_device() -> None:
    # df -B1 of the 200Gi file system above, mounted: Size 211182620672 (197G); Avail = Size - Used - 16 MiB
    disk = formatted_disk("/dev/vdb", "ext4", 200 * GI, 0)
    assert (disk.size, disk.reserved) == (211182620672, 16 * 1024 ** 2)
    full = formatted_disk("/dev/vdb", "ext4", 200 * GI, 197 * GI)
    assert full.used == full.size   # the seed's 197G 197G 0 100%
    # the node's disk: df Size is the Node's capacity; Avail leaves out mke2fs -m 5 of the device's blocks and the
    # kernel's 16 MiB (measured: a 100Gi device, Size 105492713472, Size - Used - Avail 5385486336)
    cluster = build(OBJECTS + pod("  - name: d\n    emptyDir: {}\n", "    - {name: d, mountPath: /d}\n"))
    node = cluster.store.get("Node", "kind-worker")
    cluster.store.update(node.evolve(lambda d: d["status"]["capacity"].__setitem__("ephemeral-storage",
                                                                                   "105492713472")))
    assert node_disk(cluster.store, cluster.store.get("Pod", "p", "default")).reserved == 5385486336


def test_a_bad_usage_annotation_names_the_pod_and_volume() -> None:
    meta = ", annotations: {netsim.dev/volume-usage: '{\"nope\": \"1Gi\"}'}"
    cluster = build(OBJECTS + pod("  - name: d\n    emptyDir: {}\n", "    - {name: d, mountPath: /d}\n", meta=meta))
    with pytest.raises(FieldError, match=r"Pod default/p: metadata.annotations\[netsim.dev/volume-usage\].*'nope'"):
        mounts_of(cluster)


def test_sub_path_mounts_one_key_of_a_configmap() -> None:
    cluster = build(OBJECTS + pod("  - name: c\n    configMap: {name: cfg}\n",
                                  "    - {name: c, mountPath: /etc/app.conf, subPath: app.conf}\n"))
    mounts = mounts_of(cluster)
    assert read(mounts, "/etc/app.conf") == "port=80\n"


def test_unemulated_volume_kinds_and_projections_are_refused_by_name() -> None:
    cluster = build(OBJECTS + pod("  - name: i\n    iscsi: {targetPortal: 'x:3260', iqn: q, lun: 0}\n",
                                  "    - {name: i, mountPath: /i}\n"))
    with pytest.raises(NotImplementedFeature, match="volume 'i': iscsi volumes are not emulated"):
        mounts_of(cluster)
    cluster = build(OBJECTS + pod("  - name: t\n    projected:\n      sources:\n"
                                  "      - clusterTrustBundle: {signerName: x/y, path: b.pem}\n",
                                  "    - {name: t, mountPath: /t}\n"))
    with pytest.raises(NotImplementedFeature, match="projected clusterTrustBundle sources are not emulated"):
        mounts_of(cluster)


def test_hosts_file_as_kubelet_writes_it() -> None:
    spec = ("  hostname: db-0\n  subdomain: db\n  hostAliases:\n  - ip: 10.0.0.9\n    hostnames: [a.example, b.example]\n")
    cluster = build(OBJECTS + pod("  - name: d\n    emptyDir: {}\n", "    - {name: d, mountPath: /d}\n", spec=spec))
    p = cluster.store.get("Pod", "p", "default")
    assert hosts_file(p, "cluster.local", "172.18.0.3") == (
        "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
        "fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n"
        f"{p.pod_ip}\tdb-0.db.default.svc.cluster.local\tdb-0\n"
        "\n# Entries added by HostAliases.\n10.0.0.9\ta.example\n10.0.0.9\tb.example\n")
    host = build(OBJECTS + pod("  - name: d\n    emptyDir: {}\n", "    - {name: d, mountPath: /d}\n",
                               spec="  hostNetwork: true\n"))
    q = host.store.get("Pod", "p", "default")
    text = hosts_file(q, "cluster.local", q.host_ip)
    assert text.startswith("# Kubernetes-managed hosts file (host network).\n127.0.0.1\tlocalhost\n")
    assert text.endswith(f"{q.host_ip}\t{q.node_name}\n")


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def test_the_service_account_token_is_an_rs256_jwt_as_token_request_issues_it() -> None:
    cluster = build(OBJECTS + pod("  - name: d\n    emptyDir: {}\n", "    - {name: d, mountPath: /d}\n"))
    mounts = mounts_of(cluster)
    token = read(mounts, "/var/run/secrets/kubernetes.io/serviceaccount/token")
    header, claims, signature = token.split(".")
    head = json.loads(_b64(header))
    body = json.loads(_b64(claims))
    assert list(head) == ["alg", "kid"] and head["alg"] == "RS256"
    assert list(body) == ["aud", "exp", "iat", "iss", "jti", "kubernetes.io", "nbf", "sub"]
    p = cluster.store.get("Pod", "p", "default")
    sa = cluster.store.get("ServiceAccount", "default", "default")
    node = cluster.store.get("Node", p.node_name)
    iat = body["iat"]
    assert body["aud"] == ["https://kubernetes.default.svc.cluster.local"] and body["iss"] == body["aud"][0]
    assert body["exp"] == iat + 365 * 24 * 3600 and body["nbf"] == iat   # 3607 s extended to a year
    assert body["kubernetes.io"] == {"namespace": "default", "node": {"name": node.name, "uid": node.uid},
                                     "pod": {"name": "p", "uid": p.uid},
                                     "serviceaccount": {"name": "default", "uid": sa.uid}, "warnafter": iat + 3607}
    assert body["sub"] == "system:serviceaccount:default:default"
    signing_key(cluster.seed).public_key().verify(_b64(signature), f"{header}.{claims}".encode(),
                                                   padding.PKCS1v15(), hashes.SHA256())
    assert read(mounts, "/var/run/secrets/kubernetes.io/serviceaccount/namespace") == "default"
    ca = cluster.store.get("ConfigMap", "kube-root-ca.crt", "default").get("data")["ca.crt"]
    assert read(mounts, "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt") == ca
