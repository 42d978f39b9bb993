"""wire.py: requests that only raw bytes on a socket can make (a 64 KiB URL, hundreds of
header fields, broken chunked encoding, a Content-Length of -1), and what bolsa answers:
JSON in FastAPI's shape where it sees the request, libmicrohttpd's own answer (its status
code, in HTML; see the README's "What libmicrohttpd answers by itself") where it does not.
Registered after the cases in run.py."""

import json
import socket

from cases import check_error_shape
from harness import TestFailure, check

TESTS = []  # (name, fn(ctx), slow, timeout_s, db or None)
T = "/api/v1/transaction"


def test(name, timeout=60):
    def register(fn):
        TESTS.append((name, fn, False, timeout, None))
        return fn
    return register


class Raw:
    """A parsed answer: the first status line's code, its headers, the body after them,
    and the whole of what the server sent (MHD sometimes sends its head twice)."""

    def __init__(self, data):
        self.data = data
        head, _, self.body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        check(lines[0].startswith("HTTP/1.1 "), "no status line in %r" % data[:200])
        self.status = int(lines[0].split()[1])
        self.headers = {k.strip().lower(): v.strip()
                        for k, _, v in (line.partition(":") for line in lines[1:])}

    def json(self):
        n = int(self.headers.get("content-length", len(self.body)))
        try:
            return json.loads(self.body[:n])
        except ValueError:
            raise TestFailure("body is not JSON: %r" % self.body[:200])


def exchange(port, data, timeout=10):
    """Sends data on a fresh connection and reads until the server closes it."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # answered and closed before all of it was sent
        got = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            got += chunk
    except socket.timeout:
        raise TestFailure("no complete answer within %d s (got %r)" % (timeout, got[:200]))
    finally:
        s.close()
    check(got, "the server closed the connection without answering")
    return Raw(got)


def head(target, fields=(), method="GET"):
    lines = ["%s %s HTTP/1.1" % (method, target), "Host: 127.0.0.1", "Connection: close"]
    return ("\r\n".join(lines + list(fields)) + "\r\n\r\n").encode()


def expect_json(resp, status, type_):
    check(resp.status == status, "status %d, want %d: %r" % (resp.status, status, resp.data[:300]))
    check(resp.headers.get("content-type") == "application/json",
          "answer is not JSON: %r" % resp.data[:300])
    d = check_error_shape(resp)
    check(d["type"] == type_, "type %r, want %r" % (d["type"], type_))
    return d


def expect_mhd(resp, status):
    """libmicrohttpd's own answer: only its status is bolsa's to promise."""
    check(resp.status == status, "status %d, want %d: %r" % (resp.status, status, resp.data[:300]))


# --- what bolsa answers in JSON ----------------------------------------------------------


@test("wire/long_target_is_json_414")
def t_long_target(ctx):
    port = ctx.server.port
    expect_json(exchange(port, head("/" + "a" * 20000)), 414, "uri_too_long")
    expect_json(exchange(port, head(T + "?ativo=" + "A" * 9000)), 414, "uri_too_long")
    # At the limit it is an ordinary request: the path is unknown, the answer 404.
    expect_json(exchange(port, head("/" + "a" * 8191)), 404, "not_found")


@test("wire/large_head_is_json_431")
def t_large_head(ctx):
    port = ctx.server.port
    many = ["X-Field-%d: v" % i for i in range(150)]
    expect_json(exchange(port, head("/health", many)), 431, "headers_too_large")
    expect_json(exchange(port, head("/health", ["X-Big: " + "b" * 20000])), 431,
                "headers_too_large")
    ok = exchange(port, head("/health", ["X-Field-%d: v" % i for i in range(90)]))
    check(ok.status == 200, "90 header fields: %r" % ok.data[:200])


@test("wire/unknown_transfer_coding_is_json_501")
def t_transfer_coding(ctx):
    """MHD reads a body of any coding but chunked until the connection closes: the client
    would wait for an answer that never comes."""
    before = ctx.db.count()
    body = b'{"ativos": ["PETR4"], "quantidadeAtivos": 3}'
    data = head(T, ["Content-Type: application/json", "Transfer-Encoding: gzip"],
                "POST") + body
    d = expect_json(exchange(ctx.server.port, data, timeout=5), 501,
                    "transfer_encoding_unsupported")
    check(d["loc"] == ["header", "transfer-encoding"], "loc %r" % d["loc"])
    check(ctx.db.count() == before, "rows were written")


# --- what libmicrohttpd answers by itself ------------------------------------------------


@test("wire/mhd_target_beyond_pool_is_414")
def t_target_beyond_pool(ctx):
    """The issue's 64 KiB URL does not fit the 32 KiB libmicrohttpd holds for a head."""
    expect_mhd(exchange(ctx.server.port, head("/" + "a" * 65536)), 414)


@test("wire/mhd_head_beyond_pool_is_431")
def t_head_beyond_pool(ctx):
    port = ctx.server.port
    expect_mhd(exchange(port, head("/health", ["X-%d: v" % i for i in range(1000)])), 431)
    expect_mhd(exchange(port, head("/health", ["X-Big: " + "b" * 40000])), 431)
    # MHD copies a Cookie header into the pool to split it: 20 KB of it do not fit twice.
    expect_mhd(exchange(port, head("/health", ["Cookie: a=" + "c" * 20000])), 431)


@test("wire/mhd_bad_chunked_is_400")
def t_bad_chunked(ctx):
    before = ctx.db.count()
    data = head(T, ["Content-Type: application/json", "Transfer-Encoding: chunked"],
                "POST") + b"zz\r\nabc\r\n0\r\n\r\n"
    expect_mhd(exchange(ctx.server.port, data), 400)
    check(ctx.db.count() == before, "rows were written")


@test("wire/mhd_bad_content_length")
def t_bad_content_length(ctx):
    """-1 is 400 and 10^30 is 413; libmicrohttpd 0.9.75 sends the status line and headers
    of these twice (recorded, not asserted: a fixed libmicrohttpd sends them once)."""
    port = ctx.server.port
    fields = ["Content-Type: application/json"]
    neg = exchange(port, head(T, fields + ["Content-Length: -1"], "POST"))
    expect_mhd(neg, 400)
    huge = exchange(port, head(T, fields + ["Content-Length: " + "1" + "0" * 30], "POST"))
    expect_mhd(huge, 413)
    ctx.note("Content-Length -1: status line sent %d time(s); 10^30: %d"
             % (neg.data.count(b"HTTP/1.1 "), huge.data.count(b"HTTP/1.1 ")))


@test("wire/mhd_unsupported_version_is_505")
def t_version(ctx):
    expect_mhd(exchange(ctx.server.port, b"GET /health HTTP/2.0\r\nHost: x\r\n\r\n"), 505)
