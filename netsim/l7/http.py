"""HTTP/1.x messages as bytes: parse a request or response, render one, and the pages nginx writes for errors.

A request is complete when its header block (ended by CRLF CRLF, RFC 9112
§2.1) and `Content-Length` bytes of body have arrived; chunked bodies are
not read (NetsimError naming them). Header names keep the case they were
sent in and compare case-insensitively (RFC 9110 §5.1); order and repeats
are kept. `Host` is the request's authority without its port (RFC 9110
§7.2). Dates are IMF-fixdate (RFC 9110 §5.6.7) from the simulated clock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from email.utils import formatdate
from urllib.parse import parse_qsl, unquote

from netsim.errors import NotImplementedFeature
from netsim.l7.errors import HttpParseError

METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")  # RFC 9110 §9 + PATCH
CRLF = b"\r\n"

# Reason phrases as nginx writes them (ngx_http_status_lines), for the statuses netsim produces.
REASONS = {
    200: "OK", 301: "Moved Permanently", 302: "Found", 303: "See Other", 307: "Temporary Redirect",
    308: "Permanent Redirect", 400: "Bad Request", 404: "Not Found", 500: "Internal Server Error",
    502: "Bad Gateway", 503: "Service Temporarily Unavailable", 504: "Gateway Time-out",
}


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One request: method, request-target, version, headers in order, body."""

    method: str
    target: str
    version: str = "HTTP/1.1"
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The first value of header `name` (case-insensitive), None when absent."""
        low = name.lower()
        return next((v for k, v in self.headers if k.lower() == low), None)

    def header_values(self, name: str) -> tuple[str, ...]:
        """Every value of header `name`, in order."""
        low = name.lower()
        return tuple(v for k, v in self.headers if k.lower() == low)

    @property
    def path(self) -> str:
        """The path of the request-target (percent-decoding left to the caller), '/' for '*' or empty."""
        path = self.target.split("?", 1)[0].split("#", 1)[0]
        return path or "/"

    @property
    def query(self) -> tuple[tuple[str, str], ...]:
        """The query string's (name, value) pairs, decoded, in order."""
        if "?" not in self.target:
            return ()
        return tuple(parse_qsl(self.target.split("?", 1)[1].split("#", 1)[0], keep_blank_values=True))

    @property
    def host(self) -> str:
        """The Host header without its port, lower-cased ('' when absent)."""
        value = (self.header("Host") or "").strip().lower()
        if value.startswith("["):
            return value.split("]", 1)[0] + "]"
        return value.rsplit(":", 1)[0] if ":" in value else value

    def with_headers(self, headers: tuple[tuple[str, str], ...]) -> HttpRequest:
        """The same request with other headers."""
        return replace(self, headers=headers)

    def encode(self) -> bytes:
        """The request's bytes on the wire."""
        head = f"{self.method} {self.target} {self.version}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in self.headers)
        return head.encode("latin-1") + CRLF + self.body


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """One response: version, status, reason, headers in order, body."""

    status: int
    reason: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    version: str = "HTTP/1.1"

    def header(self, name: str) -> str | None:
        """The first value of header `name` (case-insensitive), None when absent."""
        low = name.lower()
        return next((v for k, v in self.headers if k.lower() == low), None)

    def encode(self) -> bytes:
        """The response's bytes on the wire."""
        head = f"{self.version} {self.status} {self.reason or REASONS.get(self.status, '')}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in self.headers)
        return head.encode("latin-1") + CRLF + self.body


def looks_like_request(data: bytes) -> bool:
    """True when `data` starts as an HTTP/1.x request line would (a known method, a space)."""
    word = data[:8].split(b" ", 1)[0]
    return b" " in data[:8] and word.decode("latin-1") in METHODS


def _head(data: bytes) -> tuple[list[str], int] | None:
    """(header lines, index after the blank line), or None while the header block is incomplete."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None
    return data[:end].decode("latin-1").split("\r\n"), end + 4


def _fields(lines: list[str], what: str) -> tuple[tuple[str, str], ...]:
    out = []
    for line in lines:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise HttpParseError(f"HTTP {what}: bad header line {line!r}")
        out.append((name, value.strip()))
    return tuple(out)


def _body_length(headers: tuple[tuple[str, str], ...], what: str) -> int:
    low = {k.lower(): v for k, v in headers}
    if "chunked" in low.get("transfer-encoding", "").lower():
        raise NotImplementedFeature(f"HTTP {what}: chunked transfer coding is not read by netsim yet")
    text = low.get("content-length", "0")
    if not text.isdigit():
        raise HttpParseError(f"HTTP {what}: bad Content-Length {text!r}")
    return int(text)


def parse_request(data: bytes) -> tuple[HttpRequest, int] | None:
    """(request, bytes used) from the start of `data`; None while incomplete; HttpParseError when not HTTP."""
    head = _head(data)
    if head is None:
        if data and not looks_like_request(data + b"        "):
            raise HttpParseError(f"not an HTTP request: {data[:20]!r}")
        return None
    lines, start = head
    parts = lines[0].split(" ")
    if len(parts) != 3 or parts[0] not in METHODS or not parts[2].startswith("HTTP/1."):
        raise HttpParseError(f"bad HTTP request line {lines[0]!r}")
    headers = _fields(lines[1:], "request")
    size = _body_length(headers, "request")
    if len(data) < start + size:
        return None
    return HttpRequest(parts[0], parts[1], parts[2], headers, data[start:start + size]), start + size


def parse_response(data: bytes, *, head_request: bool = False) -> tuple[HttpResponse, int] | None:
    """(response, bytes used) from the start of `data`; None while incomplete; HttpParseError when not HTTP."""
    head = _head(data)
    if head is None:
        if data and not data.startswith(b"HTTP/"[:len(data)]):
            raise HttpParseError(f"not an HTTP response: {data[:20]!r}")
        return None
    lines, start = head
    version, _, rest = lines[0].partition(" ")
    code, _, reason = rest.partition(" ")
    if not version.startswith("HTTP/1.") or not code.isdigit():
        raise HttpParseError(f"bad HTTP status line {lines[0]!r}")
    headers = _fields(lines[1:], "response")
    size = 0 if head_request else _body_length(headers, "response")
    if len(data) < start + size:
        return None
    return HttpResponse(int(code), reason, headers, data[start:start + size], version), start + size


def http_date(epoch: float) -> str:
    """IMF-fixdate for `epoch` seconds (simulated clock): 'Sun, 06 Nov 1994 08:49:37 GMT'."""
    return formatdate(int(epoch), usegmt=True)


def nginx_error_page(status: int) -> bytes:
    """The HTML body nginx serves for an error status (ngx_http_error_pages, with server_tokens off)."""
    line = f"{status} {REASONS[status]}"
    return (f"<html>\r\n<head><title>{line}</title></head>\r\n<body>\r\n<center><h1>{line}</h1></center>\r\n"
            "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n").encode()


def decoded_path(path: str) -> str:
    """`path` with percent-escapes decoded (what nginx's location matching sees, $uri)."""
    return unquote(path)
