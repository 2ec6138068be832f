"""`netsim reach`: table, CSV and JSON."""

from __future__ import annotations

import json


from netsim.cli import main as cli

def test_reach_outputs(capsys) -> None:
    assert cli.main(["reach", "-n", "default", "-f", "cluster/quickstart"]) == 0
    table = capsys.readouterr().out
    assert table.startswith("TO\n") and "svc/default/web:80/TCP" in table and "pod/default/client" in table
    assert cli.main(["reach", "-n", "default", "--only", "services", "-o", "csv", "-f", "cluster/quickstart"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "from,to,protocol,result,delivered,samples"
    assert "pod/default/client,svc/default/web:80,TCP,ok,1,1" in lines
    assert all(",svc/" in line for line in lines[1:])
    assert cli.main(["reach", "-n", "default", "-o", "json", "-f", "cluster/quickstart"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"][0]["from"] == "pod/default/client"


def test_reach_bad_samples_is_exit_2(capsys) -> None:
    assert cli.main(["reach", "--samples", "0", "-f", "cluster/quickstart"]) == 2
    assert "--samples" in capsys.readouterr().err
