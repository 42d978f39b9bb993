"""harness.py: what the black-box suites drive: a bolsa server process, a plain HTTP client,
and the database under it (a SQLite file or a throwaway PostgreSQL cluster), read
directly so that the tests never trust the service to report on itself.
Python standard library only."""

import http.client
import json
import os
import re
import signal
import sqlite3
import subprocess
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
PGCLUSTER = os.path.join(HERE, "pgcluster.sh")
ARTICLE_TICKERS = ["PETR4", "BRFS3", "AMBV3", "ITAU4", "CMIN3", "VALE3", "SUZB3", "RAIL3", "B3SA3"]
SANITIZER_REPORT = re.compile(r"ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:")


class TestFailure(AssertionError):
    pass


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


# --- HTTP -------------------------------------------------------------------------------


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case name -> value
        self.body = body

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            raise TestFailure("body is not JSON: %r" % self.body[:200])

    def __repr__(self):
        return "<%d %s>" % (self.status, self.body[:300])


def request(port, method, path, body=None, headers=None, timeout=120, chunked=False):
    """One request on a fresh connection. body may be bytes, str, or any other value
    (sent as JSON). With chunked=True the body goes out with Transfer-Encoding: chunked.
    A header given as None is left out (the default Content-Type of a body, say)."""
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    hdrs = {"Content-Type": "application/json"} if body is not None else {}
    hdrs.update(headers or {})
    hdrs = {k: v for k, v in hdrs.items() if v is not None}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        try:
            if chunked:
                conn.request(method, path, body=iter([body]), headers=hdrs, encode_chunked=True)
            else:
                conn.request(method, path, body=body, headers=hdrs)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer (413) and close before the body is all sent
        resp = conn.getresponse()
        data = resp.read()
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
    finally:
        conn.close()


def path_with(path, **query):
    q = {k: v for k, v in query.items() if v is not None}
    return path + ("?" + urllib.parse.urlencode(q) if q else "")


# --- the server -------------------------------------------------------------------------


class Bolsa:
    """A bolsa process on a free 127.0.0.1 port (it picks one: --port 0), its stderr in a
    log file. Stopped by stop(); everything it leaves behind is in its own directory."""

    def __init__(self, binary, database_url, workdir, name="bolsa", args=(), env=None,
                 preexec_fn=None):
        self.binary = os.path.abspath(binary)
        self.database_url = database_url
        self.log_path = os.path.join(workdir, name + ".log")
        self.args = list(args)
        self.env = env
        self.preexec_fn = preexec_fn  # run in the child before bolsa (resource limits)
        self.proc = None
        self.port = None
        self.exit_code = None

    def start(self, timeout=30):
        return self.launch().wait_ready(timeout)

    def launch(self):
        """Starts the process without waiting for it (see wait_ready)."""
        cmd = [self.binary, "--host", "127.0.0.1", "--port", "0",
               "--database-url", self.database_url] + self.args
        env = dict(os.environ)
        env.update(self.env or {})
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=self.log, env=env, start_new_session=True,
                                     preexec_fn=self.preexec_fn)
        return self

    def wait_ready(self, timeout=30):
        self.port = self._wait_port(timeout)
        self.wait_healthy(timeout)
        return self

    def _wait_port(self, timeout):
        deadline = time.monotonic() + timeout
        pattern = re.compile(rb"listening on http://[^ ]*:(\d+)")
        while time.monotonic() < deadline:
            with open(self.log_path, "rb") as f:
                m = pattern.search(f.read())
            if m:
                return int(m.group(1))
            if self.proc.poll() is not None:
                raise TestFailure("bolsa exited with %d at start:\n%s" % (self.proc.returncode, self.tail()))
            time.sleep(0.02)
        raise TestFailure("bolsa did not start listening within %d s:\n%s" % (timeout, self.tail()))

    def wait_healthy(self, timeout=30, want=200):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                last = self.get("/health", timeout=10)
                if last.status == want:
                    return last
            except OSError as e:
                last = e
            time.sleep(0.05)
        raise TestFailure("/health did not answer %d within %d s (last: %r)" % (want, timeout, last))

    def tail(self, n=30):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode(errors="replace").splitlines()
            return "\n".join(lines[-n:])
        except OSError:
            return ""

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def request(self, method, path, body=None, **kw):
        return request(self.port, method, path, body, **kw)

    def get(self, path, **kw):
        return request(self.port, "GET", path, **kw)

    def post(self, body, strategy=None, **kw):
        return request(self.port, "POST", path_with("/api/v1/transaction", save_strategy=strategy),
                       body, **kw)

    def stop(self, timeout=20):
        """SIGTERM, then SIGKILL if it lingers. Returns the exit code."""
        if not self.proc:
            return self.exit_code
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.exit_code = self.proc.returncode
        self.proc = None
        self.log.close()
        return self.exit_code


def run_bolsa_once(binary, args, timeout=30, env=None):
    """Runs bolsa expecting it to exit by itself (bad configuration): (code, output)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    try:
        p = subprocess.run([os.path.abspath(binary)] + args, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout,
                           env=full_env, start_new_session=True)
    except subprocess.TimeoutExpired:
        raise TestFailure("bolsa %s did not exit within %d s" % (" ".join(args), timeout))
    return p.returncode, p.stdout.decode(errors="replace")


# --- the databases ------------------------------------------------------------------------


class SqliteDb:
    """A fresh SQLite file in the run's temp directory, read with Python's sqlite3."""

    kind = "sqlite"

    def __init__(self, workdir, name="bolsa.db"):
        self.path = os.path.join(workdir, name)
        self.url = "sqlite:" + self.path

    def query(self, sql, params=()):
        con = sqlite3.connect(self.path, timeout=30)
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()

    def count(self):
        return self.query("SELECT count(*) FROM transactions")[0][0]

    def max_id(self):
        return self.query("SELECT coalesce(max(id), 0) FROM transactions")[0][0]

    def rows_after(self, after_id):
        """[(id, ativo, valor as text with its stored decimals)] in id order."""
        return [(i, a, repr(v)) for i, a, v in
                self.query("SELECT id, ativo, valor FROM transactions WHERE id > ? ORDER BY id",
                           (after_id,))]

    def aggregates(self):
        return {a: (n, round(lo * 100), round(hi * 100), mean) for a, n, lo, hi, mean in
                self.query("SELECT ativo, count(*), min(valor), max(valor), avg(valor)"
                           " FROM transactions GROUP BY ativo")}

    def cleanup(self):
        pass


class PgCluster:
    """A throwaway PostgreSQL cluster (tests/lib/pgcluster.sh), read with psql."""

    kind = "postgresql"

    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "pg")
        os.mkdir(self.dir)
        out = subprocess.run(["bash", PGCLUSTER, "start", self.dir], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, timeout=120)
        if out.returncode != 0:
            raise TestFailure("pgcluster start failed:\n" + out.stderr.decode(errors="replace"))
        vals = dict(line.split("=", 1) for line in out.stdout.decode().splitlines() if "=" in line)
        self.url = vals["PGCLUSTER_URL"]
        self.dir = vals["PGCLUSTER_DIR"]
        self.psql = [os.path.join(os.path.dirname(pg_bin_initdb()), "psql")]

    def _ctl(self, action):
        out = subprocess.run(["bash", PGCLUSTER, action, self.dir], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, timeout=120)
        if out.returncode != 0:
            raise TestFailure("pgcluster %s failed:\n%s" % (action, out.stdout.decode(errors="replace")))

    def crash(self):
        self._ctl("crash")

    def resume(self):
        self._ctl("resume")

    def query(self, sql, database=None):
        url = self.url.rsplit("/", 1)[0] + "/" + database if database else self.url
        out = subprocess.run(self.psql + ["-X", "-q", "-tA", "-F", "|", "-v", "ON_ERROR_STOP=1",
                                          url, "-c", sql],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120,
                             env=dict(os.environ, PGCONNECT_TIMEOUT="5"))
        if out.returncode != 0:
            raise TestFailure("psql %r failed: %s" % (sql, out.stderr.decode(errors="replace")))
        return [line.split("|") for line in out.stdout.decode().splitlines() if line]

    def count(self):
        return int(self.query("SELECT count(*) FROM transactions")[0][0])

    def max_id(self):
        return int(self.query("SELECT coalesce(max(id), 0) FROM transactions")[0][0])

    def rows_after(self, after_id):
        return [(int(i), a, v) for i, a, v in
                self.query("SELECT id, ativo, valor FROM transactions WHERE id > %d ORDER BY id"
                           % int(after_id))]

    def aggregates(self):
        def cents(text):
            whole, _, frac = text.partition(".")
            return int(whole) * 100 + int((frac + "00")[:2])
        return {a: (int(n), cents(lo), cents(hi), float(mean)) for a, n, lo, hi, mean in
                self.query("SELECT ativo, count(*), min(valor), max(valor), avg(valor)"
                           " FROM transactions GROUP BY ativo")}

    def cleanup(self):
        subprocess.run(["bash", PGCLUSTER, "cleanup", self.dir], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=120)


def pg_bin_initdb():
    roots = sorted((d for d in os.listdir("/usr/lib/postgresql") if d.isdigit()), key=int)
    return os.path.join("/usr/lib/postgresql", roots[-1], "bin", "initdb") if roots else "initdb"


def make_workdir():
    # World-traversable so that the postgres user can reach its cluster inside it.
    d = tempfile.mkdtemp(prefix="bolsa-api-")
    os.chmod(d, 0o755)
    return d


def go_env(home):
    """The environment for `go tool pprof`: off the network, and with home (created) in
    place of the real home directory for its caches and temporary files."""
    os.makedirs(home, exist_ok=True)
    env = dict(os.environ)
    env.update(HOME=home, GOCACHE=os.path.join(home, "cache"), GOPATH=os.path.join(home, "go"),
               GOFLAGS="-mod=mod", GOPROXY="off", GOSUMDB="off", GOTOOLCHAIN="local",
               PPROF_TMPDIR=home, PPROF_BINARY_PATH=home)
    return env
