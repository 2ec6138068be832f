"""`iptables -nL` listings (netsim.netfilter.listing) against iptables 1.8.9's own output.

data/listing_generic.restore was loaded with iptables-restore (iptables v1.8.9, nf_tables) in a
scratch network namespace; data/listing_generic.<table>[.<chain>][.nonum].nL are what
`iptables -t <table> -nL [<chain>] [--line-numbers]` printed for it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from netsim.errors import NotImplementedFeature
from netsim.netfilter import parse_ruleset
from netsim.netfilter.listing import ListingError, ListingUnsupported, list_table

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def generic():
    return parse_ruleset((DATA / "listing_generic.restore").read_text(), "listing_generic.restore")


@pytest.mark.parametrize("table, chain, numbers, recorded", [
    ("filter", None, True, "listing_generic.filter.nL"),
    ("nat", None, True, "listing_generic.nat.nL"),
    ("filter", None, False, "listing_generic.filter.nonum.nL"),
    ("filter", "USERCHAIN", True, "listing_generic.filter.USERCHAIN.nL"),
])
def test_listing_equals_iptables(generic, table, chain, numbers, recorded):
    assert list_table(generic, table, chain, line_numbers=numbers) == (DATA / recorded).read_text()


def test_missing_chain_and_table(generic):
    with pytest.raises(ListingError, match="No chain/target/match by that name"):
        list_table(generic, "filter", "NOPE")
    with pytest.raises(ListingError, match="Table does not exist"):
        list_table(generic, "bogus")


def test_empty_table_lists_builtin_chains(generic):
    assert list_table(generic, "mangle").startswith("Chain PREROUTING (policy ACCEPT)\n"
                                                    "target     prot opt source               destination         \n\n")


def test_unknown_extension_is_named():
    rs = parse_ruleset("*filter\n-A INPUT -m owner --uid-owner 0 -j ACCEPT\nCOMMIT\n")
    with pytest.raises(ListingUnsupported, match="-m owner") as err:
        list_table(rs, "filter")
    assert isinstance(err.value, NotImplementedFeature)
    with pytest.raises(ListingUnsupported, match="add -n"):
        list_table(rs, "filter", numeric=False)


def test_mask_that_is_no_prefix_is_listed_dotted():
    # iptables -L -n 1.8.9 (nf_tables) after restoring these rules
    rs = parse_ruleset("*filter\n-A INPUT -s 10.1.2.3/255.0.255.0 -j ACCEPT\n-A INPUT ! -d 10.1.2.3/0.0.0.255 -j ACCEPT\n"
                       "-A INPUT -s 10.1.2.3/255.255.255.0 -j ACCEPT\n-A INPUT -s 10.1.2.3/0 -j ACCEPT\nCOMMIT\n")
    assert list_table(rs, "filter").splitlines()[2:6] == [
        "ACCEPT     0    --  10.0.2.0/255.0.255.0  0.0.0.0/0           ",
        "ACCEPT     0    --  0.0.0.0/0           !0.0.0.3/0.0.0.255   ",
        "ACCEPT     0    --  10.1.2.0/24          0.0.0.0/0           ",
        "ACCEPT     0    --  0.0.0.0/0            0.0.0.0/0           ",
    ]
