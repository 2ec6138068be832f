"""`netsim distribution`: counts, the chi-square test, the policies' notes."""

from __future__ import annotations

import json


from netsim.cli import main as cli

def test_distribution_text_and_json(capsys) -> None:
    assert cli.main(["distribution", "--to", "svc/default/web", "--flows", "2000", "--sample", "50",
                     "-f", "cluster/affinity"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("distribution of 2000 new connection(s): pod default/client -> service default/web")
    assert "goodness of fit to the expected split: chi2 = " in out and "walked sample of 50 vs the draw" in out
    assert cli.main(["distribution", "--to", "svc/default/sticky:80", "--flows", "100", "-o", "json",
                     "-f", "cluster/affinity"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["cascade"]["affinity"] is True and data["goodnessOfFit"] is None
    assert sorted(e["count"] for e in data["endpoints"]) == [0, 0, 100]


def test_distribution_bad_flows_is_exit_2(capsys) -> None:
    assert cli.main(["distribution", "--to", "svc/web", "--flows", "0", "-f", "cluster/quickstart"]) == 2
    assert "--flows" in capsys.readouterr().err
