"""Starting a real build/bolsa for black-box tests, and talking to it over HTTP.

Used by the API and profiling suites: a free loopback port, a server that is always
stopped (even when a test fails), and small request helpers that return
(status, headers, parsed JSON body or raw text).
"""
import json
import os
import socket
import subprocess
import time
import urllib.parse
import http.client

TICKERS = ["PETR4", "BRFS3", "AMBV3", "ITAU4", "CMIN3", "VALE3", "SUZB3", "RAIL3", "B3SA3"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A bolsa process on 127.0.0.1; use as a context manager."""

    def __init__(self, binary, database_url, env=None, args=(), cwd=None, log=None):
        self.port = free_port()
        self.binary = os.path.abspath(binary)
        self.cmd = [self.binary, "--host", "127.0.0.1", "--port", str(self.port),
                    "--database-url", database_url, *args]
        self.env = dict(os.environ, **(env or {}))
        self.cwd = cwd
        self.log_path = log
        self.proc = None

    def __enter__(self):
        self.log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(self.cmd, env=self.env, cwd=self.cwd,
                                     stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"bolsa exited with {self.proc.returncode}: {self.cmd}")
            try:
                status, _, _ = self.request("GET", "/health", timeout=2)
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("bolsa did not answer /health in 20 s")

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.log_path and self.log not in (None, subprocess.DEVNULL):
            self.log.close()

    def request(self, method, path, body=None, query=None, headers=None, timeout=300):
        """Returns (status, headers as a dict with lower-case names, body)."""
        if query:
            path += "?" + urllib.parse.urlencode(query)
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body,
                         headers={"Content-Type": "application/json", **(headers or {})})
            resp = conn.getresponse()
            raw = resp.read()
            hdrs = {k.lower(): v for k, v in resp.getheaders()}
        finally:
            conn.close()
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            data = raw.decode("utf-8", "replace")
        return resp.status, hdrs, data

    def post_transactions(self, n, tickers=TICKERS, query=None, headers=None, **extra):
        body = {"ativos": tickers, "quantidadeAtivos": n, **extra}
        return self.request("POST", "/api/v1/transaction", body, query=query, headers=headers)


class Results:
    """Counts checks and prints the closing 'NAME: N passed, N failed' line."""

    def __init__(self, name):
        self.name, self.passed, self.failed = name, 0, []

    def run(self, fn):
        start = time.monotonic()
        try:
            fn()
            self.passed += 1
            print(f"ok    {fn.__name__} ({time.monotonic() - start:.2f} s)", flush=True)
        except Exception as e:  # a failed check or a crash: both fail the case
            self.failed.append(fn.__name__)
            print(f"FAIL  {fn.__name__}: {type(e).__name__}: {e}", flush=True)

    def finish(self):
        print(f"{self.name}: {self.passed} passed, {len(self.failed)} failed")
        return 1 if self.failed else 0
