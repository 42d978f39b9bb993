#!/usr/bin/env python3
"""Black-box tests of how bolsa holds up its connections and how it stops, against the
real binary and a real SQLite file: one address cannot take every connection, a request
trickled in too slowly is cut off, connections a client closed are let go at once, the
open-file limit is raised, and SIGTERM lets requests in flight finish and answer.

    python3 tests/server/run.py --bolsa build/bolsa [-k REGEX]

Servers listen on 127.0.0.1; the other client address is 127.0.0.2 (loopback too). Every
test has a time limit, and every load a bounded count. Ends with "server: N passed,
M failed"."""

import argparse
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import sys
import tempfile
import threading
import time
import traceback

sys.dont_write_bytecode = True  # no __pycache__ left in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import (ARTICLE_TICKERS, SANITIZER_REPORT, Bolsa, SqliteDb, TestFailure,  # noqa: E402
                     check, path_with, run_bolsa_once)

ARGS = None
TESTS = []  # (name, fn, timeout_s)
T = "/api/v1/transaction"


def test(timeout=60):
    def register(fn):
        TESTS.append((fn.__name__, fn, timeout))
        return fn
    return register


class Env:
    """A temp dir with a SQLite database and the servers a test starts on it."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="bolsa-server-")
        self.db = SqliteDb(self.dir)
        self.servers = []

    def server(self, args=(), name=None, preexec_fn=None, start=True):
        srv = Bolsa(ARGS.bolsa, self.db.url, self.dir, name or "bolsa%d" % len(self.servers),
                    args=list(args), preexec_fn=preexec_fn)
        self.servers.append(srv)
        return srv.start() if start else srv.launch()

    def close(self, failed):
        for srv in self.servers:
            srv.stop()
        reports = [srv.log_path for srv in self.servers
                   if SANITIZER_REPORT.search(srv.log_text())]
        if failed or ARGS.keep:
            print("      logs kept in " + self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        check(not reports, "sanitizer report in %s" % reports)


# --- sockets --------------------------------------------------------------------------------


def raise_nofile():
    """The test's own open-file limit, up to the hard limit: returns it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def connect(port, source="127.0.0.1", timeout=5):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


def get_health(port, source, timeout=10):
    """GET /health on a new connection from source: (status, seconds)."""
    t0 = time.monotonic()
    s = connect(port, source, timeout)
    try:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    check(data.startswith(b"HTTP/1.1 "), "/health from %s: no answer (%r)" % (source, data[:100]))
    return int(data.split()[1]), time.monotonic() - t0


TCP_STATES = {"01": "ESTABLISHED", "08": "CLOSE_WAIT", "0A": "LISTEN", "06": "TIME_WAIT",
              "03": "SYN_RECV", "04": "FIN_WAIT1", "05": "FIN_WAIT2", "07": "CLOSE",
              "09": "LAST_ACK", "0B": "CLOSING"}


def server_sockets(port, peer=None):
    """The server side's TCP sockets on port (from /proc/net/tcp), other than the listening
    one: [(state, peer address, accepted)], optionally only those from peer. A connection
    still waiting in the listen queue has no inode yet: not accepted."""
    out = []
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            local, remote, state = fields[1], fields[2], fields[3]
            if int(local.split(":")[1], 16) != port or state == "0A":
                continue
            ip = socket.inet_ntoa(bytes.fromhex(remote.split(":")[0])[::-1])
            if peer is None or ip == peer:
                out.append((TCP_STATES.get(state, state), ip, fields[9] != "0"))
    return out


def held(port, peer=None):
    """Server-side sockets still holding a connection: established or closed by the client
    and not yet by the server (accepted or waiting in the listen queue)."""
    return [s for s, _, _ in server_sockets(port, peer) if s in ("ESTABLISHED", "CLOSE_WAIT")]


def accepted(port, peer=None):
    """The connections of held() that the server has accepted."""
    return [s for s, _, acc in server_sockets(port, peer)
            if acc and s in ("ESTABLISHED", "CLOSE_WAIT")]


def wait_until(cond, timeout, step=0.05):
    """Polls cond() until it is true or timeout passes: (its last value, seconds taken)."""
    t0 = time.monotonic()
    while True:
        v = cond()
        if v or time.monotonic() - t0 > timeout:
            return v, time.monotonic() - t0
        time.sleep(step)


def steady(count, timeout=5):
    """count() once two readings 0.2 s apart agree (connections being accepted, or closed
    past a limit, settle down), or the last reading after timeout."""
    deadline, last = time.monotonic() + timeout, count()
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = count()
        if now == last:
            return now
        last = now
    return last


def settle(port):
    """Waits for the connections of earlier requests (the start-up health check) to be
    gone, so that they do not count against a limit: libmicrohttpd counts a connection
    until it has cleaned it up, a moment after its socket closed."""
    wait_until(lambda: not held(port), 5)
    time.sleep(0.2)


def open_idle(port, n, source="127.0.0.1", partial=True):
    """Opens up to n connections from source, each sending half a request: those the server
    accepted or queued, as sockets (connections refused or reset are not kept)."""
    socks = []
    for _ in range(n):
        try:
            s = connect(port, source, timeout=5)
            if partial:
                s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Half: ")
            socks.append(s)
        except OSError:
            pass
    return socks


def close_all(socks):
    for s in socks:
        try:
            s.close()
        except OSError:
            pass


# --- connections ------------------------------------------------------------------------


@test(timeout=90)
def one_address_cannot_lock_out_others(env):
    """5,000 half-sent requests from 127.0.0.1 (the issue: about 1,020 took every slot and
    /health from elsewhere timed out). The server keeps at most its per-address limit from
    127.0.0.1, and /health from 127.0.0.2 answers at once: median asserted under the
    issue's 100 ms, every one under 1 s (a shared machine), figures printed."""
    n = min(5000, raise_nofile() - 200)
    srv = env.server()
    settle(srv.port)
    t0 = time.monotonic()
    socks = open_idle(srv.port, n)
    took = time.monotonic() - t0
    try:
        wait_until(lambda: len(held(srv.port, "127.0.0.1")) <= 64, 10)
        kept = steady(lambda: len(accepted(srv.port, "127.0.0.1")))
        check(kept <= 64, "the server holds %d connections from 127.0.0.1, want <= 64" % kept)
        times = []
        for _ in range(20):
            status, secs = get_health(srv.port, "127.0.0.2")
            check(status == 200, "/health from 127.0.0.2: %d" % status)
            times.append(secs * 1000)
        print("      %d connections opened from 127.0.0.1 in %.1f s, %d held by the server; "
              "/health from 127.0.0.2: median %.1f ms, max %.1f ms"
              % (len(socks), took, kept, statistics.median(times), max(times)), flush=True)
        check(statistics.median(times) < 100, "/health median %.1f ms" % statistics.median(times))
        check(max(times) < 1000, "/health took %.0f ms" % max(times))
    finally:
        close_all(socks)


@test(timeout=60)
def connection_limits_are_settings(env):
    """--max-connections caps what the server accepts in all (the rest wait in the listen
    queue), --max-connections-per-address what one address may hold."""
    raise_nofile()
    srv = env.server(["--max-connections", "40", "--max-connections-per-address", "0"])
    settle(srv.port)
    socks = open_idle(srv.port, 100)
    try:
        wait_until(lambda: len(accepted(srv.port)) >= 40, 5)
        n = steady(lambda: len(accepted(srv.port)))
        check(n == 40, "accepted %d connections with --max-connections 40" % n)
    finally:
        close_all(socks)
    srv = env.server(["--max-connections-per-address", "10"])
    settle(srv.port)
    socks = open_idle(srv.port, 50)
    try:
        wait_until(lambda: len(held(srv.port, "127.0.0.1")) <= 10, 5)
        kept = steady(lambda: len(accepted(srv.port, "127.0.0.1")))
        check(kept == 10, "kept %d connections from 127.0.0.1, want 10" % kept)
        check(get_health(srv.port, "127.0.0.2")[0] == 200, "/health from 127.0.0.2")
    finally:
        close_all(socks)


def trickle(port, gap, out):
    """Sends a request one header byte every gap seconds until the server closes the
    connection; out["closed_after"] is when it did (None if it answered)."""
    s = connect(port, timeout=30)
    data = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 100000
    t0 = time.monotonic()
    try:
        for byte in data:
            s.sendall(bytes([byte]))
            s.settimeout(gap)
            try:
                got = s.recv(100)
                out["closed_after"] = time.monotonic() - t0 if not got else None
                out["got"] = got
                return
            except socket.timeout:
                pass
    except OSError:
        out["closed_after"] = time.monotonic() - t0
    finally:
        s.close()


@test(timeout=60)
def trickled_request_is_cut_at_the_deadline(env):
    """A header trickled one byte at a time is cut off once the connection has waited
    --request-timeout for a whole request (the issue: held forever); a slow client that
    finishes in time is answered; an idle kept-alive connection ends at the same
    deadline, counted from its previous answer."""
    srv = env.server(["--request-timeout", "2"])
    slow = {}
    t = threading.Thread(target=trickle, args=(srv.port, 0.2, slow), daemon=True)
    t.start()
    # In time: the same request over about one second.
    s = connect(srv.port)
    for piece in (b"GET /health HTTP/1.1\r\n", b"Host: 127.0.0.1\r\n", b"X-A: b\r\n", b"\r\n"):
        s.sendall(piece)
        time.sleep(0.3)
    answer = s.recv(200)
    check(answer.startswith(b"HTTP/1.1 200"), "a request sent in 1.2 s: %r" % answer[:60])
    s.settimeout(10)
    t0 = time.monotonic()
    check(s.recv(100) == b"", "the idle kept-alive connection was not closed")
    idle = time.monotonic() - t0
    s.close()
    t.join(20)
    check(not t.is_alive(), "the trickled request was not cut off within 20 s")
    after = slow.get("closed_after")
    check(after is not None, "the trickled request was answered: %r" % slow.get("got"))
    print("      trickled request cut after %.2f s, idle kept-alive connection after %.2f s"
          % (after, idle), flush=True)
    check(1.8 <= after <= 4, "cut after %.2f s, want about 2 s" % after)
    check(1.5 <= idle <= 4, "idle connection closed after %.2f s, want about 2 s" % idle)


@test(timeout=60)
def closed_connections_are_let_go(env):
    """Clients that send half a request and close at once (data and FIN together), and
    clients that close while their connection still waits in the listen queue: the
    server's side of each is gone within seconds (the issue: CLOSE_WAIT until the 60 s
    idle timeout, each holding a slot)."""
    raise_nofile()
    srv = env.server()  # default settings: 60 stays under the per-address limit
    settle(srv.port)
    for _ in range(60):
        s = connect(srv.port)
        s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Half: ")
        s.close()
    left, secs = wait_until(lambda: not held(srv.port), 10)
    check(left, "%d connections still held 10 s after their clients closed them: %s"
          % (len(held(srv.port)), sorted(set(held(srv.port)))))
    print("      60 half-sent, closed: all let go after %.2f s" % secs, flush=True)
    small = env.server(["--max-connections", "50", "--max-connections-per-address", "0"])
    socks = open_idle(small.port, 200)
    wait_until(lambda: len(accepted(small.port)) >= 50, 5)
    close_all(socks)
    # Reaped 50 at a time, as the queued ones are accepted: slower on a busy machine.
    left, secs = wait_until(lambda: not held(small.port), 15)
    check(left, "%d connections still held 15 s after their clients closed them"
          % len(held(small.port)))
    print("      200 half-sent (150 queued), closed: all let go after %.2f s" % secs, flush=True)
    check(get_health(small.port, "127.0.0.1")[0] == 200, "/health after the closes")


@test(timeout=30)
def open_file_limit_is_raised(env):
    """bolsa raises its soft open-file limit to the hard one at start, and fits its
    connections under a hard limit too low for them (saying so) instead of failing."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]

    def low_soft():
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))

    srv = env.server(preexec_fn=low_soft)
    with open("/proc/%d/limits" % srv.proc.pid) as f:
        line = next(l for l in f if l.startswith("Max open files"))
    check(line.split()[3] == str(hard), "soft limit not raised to %d: %r" % (hard, line))

    def low_hard():
        resource.setrlimit(resource.RLIMIT_NOFILE, (512, 512))

    srv = env.server(preexec_fn=low_hard)
    check("--max-connections 4096 lowered to" in srv.log_text(), "no word of the lowered limit")
    check(get_health(srv.port, "127.0.0.1")[0] == 200, "/health under a low limit")


@test(timeout=60)
def bad_settings_exit_2(env):
    """Each new setting, wrong as a flag or as a variable, stops bolsa with status 2 and a
    message naming it."""
    db = ["--port", "0", "--database-url", env.db.url]
    for flag, env_var, bad in (("--shutdown-timeout", "BOLSA_SHUTDOWN_TIMEOUT", "abc"),
                               ("--shutdown-timeout", "BOLSA_SHUTDOWN_TIMEOUT", "-1"),
                               ("--request-timeout", "BOLSA_REQUEST_TIMEOUT", "1.5"),
                               ("--request-timeout", "BOLSA_REQUEST_TIMEOUT", "99999"),
                               ("--max-connections", "BOLSA_MAX_CONNECTIONS", "0"),
                               ("--max-connections-per-address",
                                "BOLSA_MAX_CONNECTIONS_PER_ADDRESS", "x")):
        for args, env_vars, name in ((db + [flag, bad], None, flag),
                                     (db, {env_var: bad}, env_var)):
            code, out = run_bolsa_once(ARGS.bolsa, args, env=env_vars)
            check(code == 2, "%s=%s: exit %d, want 2:\n%s" % (name, bad, code, out[-300:]))
            check(name in out and bad in out, "%s=%s: message %r" % (name, bad, out[-300:]))
    check(not os.path.exists(env.db.path), "a bad setting still opened the database")


# --- stopping -------------------------------------------------------------------------------


class BigPost:
    """A chunked save of n rows on a thread of its own: .result is (status, body) or the
    exception that ended it, .headers the answer's headers."""

    def __init__(self, srv, n):
        self.srv, self.n, self.result, self.headers = srv, n, None, {}
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        try:
            resp = self.srv.post({"ativos": ARTICLE_TICKERS, "quantidadeAtivos": self.n},
                                 timeout=120)
            self.headers = resp.headers
            self.result = (resp.status, resp.json() if resp.status < 500 else resp.body)
        except (OSError, TestFailure) as e:
            self.result = e

    def start(self):
        self.t0 = time.monotonic()
        self.thread.start()
        return self

    def running(self):
        return self.thread.is_alive()

    def wait(self, timeout=120):
        self.thread.join(timeout)
        check(not self.thread.is_alive(), "the POST did not end within %d s" % timeout)
        return self.result


def rows_for(srv, seconds):
    """How many rows this server saves in about that many seconds, measured with a
    200,000-row save (sanitizer builds are slower; the machine is shared): at most
    10,000,000 (--max-rows)."""
    t0 = time.monotonic()
    resp = srv.post({"ativos": ARTICLE_TICKERS, "quantidadeAtivos": 200000}, timeout=120)
    check(resp.status == 201, "calibration POST: %r" % resp)
    rate = 200000 / (time.monotonic() - t0)
    return int(min(10000000, max(200000, rate * seconds)))


def running_post(env, srv, seconds):
    """A chunked save sized to about that many seconds and still running 0.5 s after it
    began: if the machine was busy while measuring and the save ends sooner, a save four
    times larger is tried. Returns (the BigPost, the table's rows before it)."""
    n = rows_for(srv, seconds)
    for _ in range(3):
        before = env.db.count()
        post = BigPost(srv, n).start()
        time.sleep(0.5)
        if post.running():
            return post, before
        post.wait()
        n = min(10000000, n * 4)
    raise TestFailure("no save of up to %d rows lasted 0.5 s" % n)


def wait_exit(srv, timeout):
    """Waits for the process to end: (exit code, seconds waited)."""
    t0 = time.monotonic()
    try:
        code = srv.proc.wait(timeout)
    except Exception:  # noqa: BLE001 - subprocess.TimeoutExpired
        raise TestFailure("bolsa still running %d s later" % timeout)
    return code, time.monotonic() - t0


@test(timeout=120)
def sigterm_lets_requests_in_flight_answer(env):
    """SIGTERM in the middle of a big chunked save: the client gets its 201 with the whole
    count, the table has exactly those rows, new connections are refused meanwhile, the
    answer says Connection: close, and bolsa exits 0 (the issue: every row committed,
    and the client got a closed connection)."""
    srv = env.server()
    post, before = running_post(env, srv, 1.5)
    n, in_flight = post.n, post.running()
    srv.proc.send_signal(signal.SIGTERM)
    check(in_flight, "the POST ended before bolsa could be asked to stop")
    time.sleep(0.1)
    try:
        connect(srv.port, timeout=2).close()
        refused = False
    except ConnectionRefusedError:
        refused = True
    result = post.wait()
    took = time.monotonic() - post.t0
    code, _ = wait_exit(srv, 30)
    print("      %d rows, SIGTERM 0.5 s in: answered %s after %.1f s, exit %d"
          % (n, result[0] if isinstance(result, tuple) else result, took, code), flush=True)
    check(isinstance(result, tuple), "no answer: %r" % (result,))
    check(result[0] == 201 and result[1].get("saved") == n, "answer: %r" % (result,))
    check(env.db.count() == before + n, "table grew by %d, want %d" % (env.db.count() - before, n))
    check(refused, "a new connection was accepted while stopping")
    check(post.headers.get("connection") == "close", "answer without Connection: close")
    check(code == 0, "exit %d after a graceful stop:\n%s" % (code, srv.tail()))


@test(timeout=120)
def second_signal_stops_at_once(env):
    """SIGTERM, then SIGINT, during a chunked save sized to about 2.5 s: bolsa exits at once
    (1, requests unanswered), the client gets no answer, and not one row of the save is
    left (it was one transaction, never committed)."""
    srv = env.server()
    post, before = running_post(env, srv, 2.5)
    n = post.n
    srv.proc.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    check(post.running(), "the %d-row POST ended before the second signal: %r" % (n, post.result))
    srv.proc.send_signal(signal.SIGINT)
    code, secs = wait_exit(srv, 10)
    result = post.wait(30)
    print("      %d rows, SIGTERM then SIGINT: exit %d %.2f s after the second, client: %r"
          % (n, code, secs, result), flush=True)
    check(secs < 1.0, "exit took %.2f s after the second signal" % secs)
    check(code == 1, "exit %d, want 1 (requests unanswered)" % code)
    check(not isinstance(result, tuple), "the client got an answer: %r" % (result,))
    check(env.db.count() == before, "%d rows of the unfinished save were left"
          % (env.db.count() - before))
    check("unanswered" in srv.log_text(), "the log does not say requests went unanswered")


@test(timeout=60)
def shutdown_timeout_bounds_the_wait(env):
    """With --shutdown-timeout 1, a request still in flight a second after SIGTERM (here an
    upload that never ends, with no request deadline to cut it) is abandoned: bolsa exits
    1 about a second after the signal, and the request was never run."""
    srv = env.server(["--shutdown-timeout", "1", "--request-timeout", "0"])
    before = env.db.count()
    s = connect(srv.port, timeout=10)
    body = b'{"ativos": ["PETR4"], "quantidadeAtivos": 5}'
    s.sendall(b"POST " + T.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
              + body[:10])
    time.sleep(0.3)
    srv.proc.send_signal(signal.SIGTERM)
    code, secs = wait_exit(srv, 10)
    got = s.recv(100)
    s.close()
    print("      an unfinished upload, --shutdown-timeout 1: exit %d %.2f s after SIGTERM"
          % (code, secs), flush=True)
    check(0.9 <= secs < 2.5, "exit %.2f s after SIGTERM, want about 1 s" % secs)
    check(code == 1, "exit %d, want 1" % code)
    check(got == b"", "the unfinished request got an answer: %r" % got[:80])
    check(env.db.count() == before, "rows were written")
    check("1 request(s) unanswered" in srv.log_text(), "the log does not count it")


@test(timeout=60)
def idle_connections_do_not_delay_stopping(env):
    """Kept-alive connections with no request in flight do not hold bolsa up: SIGTERM
    with some open ends it at once, with 0."""
    srv = env.server()
    socks = []
    for _ in range(5):
        s = connect(srv.port)
        s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        check(s.recv(300).startswith(b"HTTP/1.1 200"), "no answer on a kept-alive connection")
        socks.append(s)
    srv.proc.send_signal(signal.SIGTERM)
    code, secs = wait_exit(srv, 10)
    close_all(socks)
    check(code == 0 and secs < 1.0, "exit %d after %.2f s" % (code, secs))


# --- the runner -----------------------------------------------------------------------------


class Timeout(Exception):
    pass


def on_alarm(signum, frame):
    raise Timeout("timed out")


def run_one(name, fn, limit):
    env = Env()
    t0 = time.monotonic()
    signal.alarm(limit)
    ok, why = False, ""
    try:
        fn(env)
        ok = True
    except (TestFailure, Timeout, AssertionError) as e:
        why = str(e) or type(e).__name__
    except Exception:  # noqa: BLE001 - a crash in a test is that test's failure
        why = traceback.format_exc()
    finally:
        signal.alarm(0)
        try:
            env.close(not ok)
        except TestFailure as e:
            ok, why = False, str(e)
    print("%s %s (%.1f s)%s" % ("ok  " if ok else "FAIL", name, time.monotonic() - t0,
                                "" if ok else "\n      " + why.replace("\n", "\n      ")),
          flush=True)
    return ok


def main():
    global ARGS
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bolsa", default="build/bolsa")
    ap.add_argument("-k", metavar="REGEX", help="run only the tests whose name matches")
    ap.add_argument("--keep", action="store_true", help="keep every test's temp dir")
    ARGS = ap.parse_args()
    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped by SIGTERM"))
    passed = failed = 0
    for name, fn, limit in TESTS:
        if ARGS.k and not re.search(ARGS.k, name):
            continue
        if run_one(name, fn, limit):
            passed += 1
        else:
            failed += 1
    print("server: %d passed, %d failed" % (passed, failed), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
