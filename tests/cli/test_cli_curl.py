"""`netsim curl` (netsim/cli/curl.py): the response as `curl -i` prints it, the path, JSON, exit codes; registered here
through the module's own register() (netsim/cli/main.py lists the modules)."""

from __future__ import annotations

import argparse
import json

import pytest

from netsim.cli import curl as curl_cli
from netsim.errors import InputError


def run(capsys, *argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="netsim")
    curl_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["curl", *argv])
    code = args.handler(args)
    return code, capsys.readouterr().out


def test_text_output_shows_response_and_both_legs(capsys) -> None:
    code, out = run(capsys, "-f", "cluster/ingress-path", "http://172.18.255.200/foo/x", "-H", "Host: a.example")
    assert code == 0
    assert out.startswith("HTTP/1.1 200 OK\r\n")
    assert "request: GET /foo/x from external to 172.18.255.200:80" in out
    assert "DNAT 172.18.255.200:80 -> 10.244." in out
    assert "proxy: ingress-nginx controller :80 in container controller: server _ location Prefix /foo" in out
    assert "upstream connection from source port" in out and "answered 200" in out


def test_json_output_and_404(capsys) -> None:
    code, out = run(capsys, "-f", "cluster/ingress-path", "http://172.18.255.200/zzz", "-H", "Host: only.example.com",
                    "-o", "json")
    data = json.loads(out)
    assert code == 0 and data["status"] == 404 and data["proxies"][0]["endpoint"] is None
    assert data["path"][0] == "external" and data["path"][-1].startswith("ingress-nginx/")


def test_connection_refused_exits_7(capsys) -> None:
    code, out = run(capsys, "-f", "cluster/ingress-path", "http://172.18.0.3:1/")
    assert code == 7 and out.startswith("curl: connection refused")


def test_bad_header_is_input_error() -> None:
    with pytest.raises(InputError, match="-H takes 'Name: value'"):
        curl_cli.parse_headers(["nocolon"])
