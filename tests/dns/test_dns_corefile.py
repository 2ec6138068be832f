"""The Corefile: kubeadm's default reads into what netsim emulates; what it does not emulate is named."""

from __future__ import annotations

import pytest

from netsim.dns.corefile import PodsMode, parse_corefile
from netsim.dns.errors import CorefileError, UnsupportedDirective
from netsim.emulator.addons import default_corefile


def test_kubeadms_default_corefile() -> None:
    (block,) = parse_corefile(default_corefile("cluster.local")).blocks
    k = block.kubernetes
    assert block.zones == (".",) and block.loadbalance
    assert k.zones == ("cluster.local.", "in-addr.arpa.", "ip6.arpa.")
    assert (k.pods, k.ttl, k.fallthrough) == (PodsMode.INSECURE, 30, ("in-addr.arpa.", "ip6.arpa."))
    assert block.forward.origin == "." and block.forward.to == ("/etc/resolv.conf",)


def test_blocks_on_other_ports_and_the_most_specific_zone() -> None:
    corefile = parse_corefile("example.org:53 {\n forward . 1.1.1.1\n}\n.:53 {\n kubernetes\n}\n.:5353 {\n}\n")
    assert [b.zones for b in corefile.blocks] == [("example.org.",), (".",)]
    assert corefile.block_for("www.example.org.").zones == ("example.org.",)
    assert corefile.block_for("web.default.svc.cluster.local.").kubernetes.zones == (".",)


@pytest.mark.parametrize("text,named", [
    (".:53 {\n    rewrite name foo bar\n}\n", "plugin 'rewrite'"),
    (".:53 {\n    kubernetes cluster.local {\n        noendpoints\n    }\n}\n", "kubernetes option 'noendpoints'"),
    (".:53 {\n    kubernetes cluster.local {\n        labels app=x\n    }\n}\n", "kubernetes option 'labels'"),
    (".:53 {\n    forward . 8.8.8.8 {\n        bogus 1\n    }\n}\n", "forward option 'bogus'"),
    (".:53 {\n    loadbalance weighted /x\n}\n", "loadbalance policy 'weighted'"),
])
def test_what_netsim_does_not_emulate_is_named(text, named) -> None:
    with pytest.raises(UnsupportedDirective, match=f"line 2: {named} is not emulated|line 3: {named} is not"):
        parse_corefile(text, "ConfigMap kube-system/coredns")


@pytest.mark.parametrize("text,problem", [
    (".:53 {\n    kubernetes {\n        ttl 9999\n    }\n}\n", "ttl must be an integer between 0 and 3600"),
    (".:53 {\n    kubernetes {\n        pods maybe\n    }\n}\n", "expected disabled, insecure or verified"),
    (".:53 {\n    errors\n", "is not closed"),
])
def test_bad_corefiles(text, problem) -> None:
    with pytest.raises(CorefileError, match=problem):
        parse_corefile(text)
