"""The pod's /etc/hosts and /etc/hostname, as kubelet (kubelet_pods.go ensureHostsFile) and containerd write them.

kubelet writes /etc/hosts: for a pod on the pod network, managedHostsFileContent
— the header `# Kubernetes-managed hosts file.`, the localhost and ip6 lines,
one `<podIP>\\t<hostname>` line per pod IP (`<podIP>\\t<hostname>.<subdomain
FQDN>\\t<hostname>` with a subdomain), then the hostAliases; for a
hostNetwork pod, the header `# Kubernetes-managed hosts file (host
network).` followed by the node's own /etc/hosts and the hostAliases. netsim's
node is a kind node, whose /etc/hosts is the one docker writes for a
container (localhost lines, then `<node IP>\\t<node name>`).
containerd writes /etc/hostname: the sandbox hostname and a newline.
"""

from __future__ import annotations

from netsim.api.objects import Pod
from netsim.kubelet.podenv import kernel_hostname, pod_hostname

MANAGED_HEADER = "# Kubernetes-managed hosts file.\n"
HOST_NETWORK_HEADER = "# Kubernetes-managed hosts file (host network).\n"
LOCAL_LINES = ("127.0.0.1\tlocalhost\n"
               "::1\tlocalhost ip6-localhost ip6-loopback\n"
               "fe00::0\tip6-localnet\n"
               "fe00::0\tip6-mcastprefix\n"
               "fe00::1\tip6-allnodes\n"
               "fe00::2\tip6-allrouters\n")
# docker's /etc/hosts for a container (a kind node): ff00::/ff02:: multicast names, then the container's address
DOCKER_LOCAL_LINES = ("127.0.0.1\tlocalhost\n"
                      "::1\tlocalhost ip6-localhost ip6-loopback\n"
                      "fe00::0\tip6-localnet\n"
                      "ff00::0\tip6-mcastprefix\n"
                      "ff02::1\tip6-allnodes\n"
                      "ff02::2\tip6-allrouters\n")


def host_aliases(pod: Pod) -> str:
    """hostsEntriesFromHostAliases: a blank line, a comment, then one `IP\\thost` line per hostname."""
    aliases = pod.spec.get("hostAliases") or []
    if not aliases:
        return ""
    lines = "".join(f"{a.get('ip', '')}\t{h}\n" for a in aliases for h in a.get("hostnames") or [])
    return "\n# Entries added by HostAliases.\n" + lines


def pod_ips(pod: Pod) -> list[str]:
    """status.podIPs (status.podIP when only that is set)."""
    ips = [entry.get("ip", "") for entry in pod.status.get("podIPs") or []]
    return ips or ([pod.pod_ip] if pod.pod_ip else [])


def hosts_file(pod: Pod, cluster_domain: str, node_ip: str) -> str:
    """The /etc/hosts kubelet writes for the pod (module docstring)."""
    if pod.host_network:
        return HOST_NETWORK_HEADER + DOCKER_LOCAL_LINES + f"{node_ip}\t{pod.node_name}\n" + host_aliases(pod)
    hostname, domain = pod_hostname(pod, cluster_domain)
    names = f"{hostname}.{domain}\t{hostname}" if domain else hostname
    return MANAGED_HEADER + LOCAL_LINES + "".join(f"{ip}\t{names}\n" for ip in pod_ips(pod)) + host_aliases(pod)


def hostname_file(pod: Pod, cluster_domain: str) -> str:
    """The /etc/hostname containerd writes: the sandbox's hostname."""
    return kernel_hostname(pod, cluster_domain) + "\n"
