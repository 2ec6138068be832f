"""HTTP/1.x parsing and rendering: requests, responses, incomplete input, nginx's error pages."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from netsim.errors import NotImplementedFeature
from netsim.l7.errors import HttpParseError
from netsim.l7.http import (HttpRequest, HttpResponse, http_date, looks_like_request, nginx_error_page, parse_request,
                            parse_response)


def test_request_parses_with_host_path_query_and_body() -> None:
    data = b"POST /a/b?x=1&y=two HTTP/1.1\r\nHost: Foo.Example.com:8080\r\nContent-Length: 3\r\nX-A: 1\r\nx-a: 2\r\n\r\nabcEXTRA"
    request, used = parse_request(data)
    assert (request.method, request.path, request.query, request.host) == \
        ("POST", "/a/b", (("x", "1"), ("y", "two")), "foo.example.com")
    assert request.body == b"abc" and used == len(data) - len(b"EXTRA")
    assert request.header_values("X-A") == ("1", "2")


def test_incomplete_request_waits_and_garbage_is_refused() -> None:
    assert parse_request(b"GET / HTTP/1.1\r\nHost: a\r\n") is None
    assert parse_request(b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab") is None
    with pytest.raises(HttpParseError):
        parse_request(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
    with pytest.raises(NotImplementedFeature):
        parse_request(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")


def test_response_round_trip_and_head() -> None:
    resp = HttpResponse(404, "", (("Content-Length", "3"),), b"abc")
    assert resp.encode().startswith(b"HTTP/1.1 404 Not Found\r\n")
    parsed, _ = parse_response(resp.encode())
    assert parsed == HttpResponse(404, "Not Found", (("Content-Length", "3"),), b"abc")
    assert parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", head_request=True)[0].body == b""


def test_nginx_pages_and_dates() -> None:
    page = nginx_error_page(503)
    assert b"<title>503 Service Temporarily Unavailable</title>" in page and b"<hr><center>nginx</center>\r\n" in page
    assert http_date(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT"   # RFC 9110's example
    assert looks_like_request(b"GET / HTTP/1.1") and not looks_like_request(b"hello")


_token = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=10).filter(lambda s: s[0] != "-")


@given(method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]),
       path=st.lists(_token, max_size=4).map(lambda p: "/" + "/".join(p)),
       headers=st.lists(st.tuples(_token, _token), max_size=5), body=st.binary(max_size=50))
def test_request_print_parse_round_trip(method, path, headers, body) -> None:
    hdrs = tuple(headers) + ((("Content-Length", str(len(body))),) if body else ())
    request = HttpRequest(method, path, "HTTP/1.1", hdrs, body)
    assert parse_request(request.encode()) == (request, len(request.encode()))
