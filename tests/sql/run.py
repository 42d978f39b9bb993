#!/usr/bin/env python3
"""run.py: black-box tests of what a profiled request says about the database, against the
real build/bolsa on SQLite or on a throwaway PostgreSQL cluster:

- the SQL statements of the naive and chunked saves, read from the session's markers
  (profile_format=json) and from the HTML page's data: each statement's text and count,
  and the naive INSERT taking nearly all of its request;
- no value a request saved or asked for (tickers, amounts) in any profile, in any format;
- blocked time named: on PostgreSQL, the socket to the cluster's port; on SQLite with
  ?synchronous=full, the write-ahead log under the sync call (wall clock, with perf events
  where the kernel allows them, and with signals).

    python3 tests/sql/run.py --bolsa build/bolsa --db sqlite|postgresql

Ends with "sql-sqlite: N passed, M failed" (or sql-postgresql)."""

import argparse
import gzip
import json
import os
import re
import shutil
import sys

sys.dont_write_bytecode = True  # no __pycache__ left in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import (SANITIZER_REPORT, Bolsa, PgCluster, SqliteDb, check, make_workdir,  # noqa: E402
                     path_with, run_bolsa_once)
from suite import run_cases  # noqa: E402

T = "/api/v1/transaction"
# Tickers no profile could hold by chance: if one shows up, a bound value leaked.
CANARIES = ["ZQXJ9", "XKWV3", "QJZP4"]
CHUNK = 500  # BOLSA_CHUNK_ROWS
FORMATS = {"html": "html", "json": "json", "text": "txt", "speedscope": "speedscope.json",
           "pprof": "pb.gz", "folded": "folded"}

SQLITE_INSERT = "INSERT INTO transactions (created_at, ativo, valor) VALUES (?1,?,?)"
PG_INSERT = "INSERT INTO transactions (ativo, valor) VALUES ($1, $2)"
PG_COPY = "COPY transactions (ativo, valor) FROM STDIN"

ARGS = None


class Env:
    """A database, a profile directory and a server with profiling on over them."""

    def __init__(self, url_suffix="", env=None):
        self.dir = make_workdir()
        self.profiles = os.path.join(self.dir, "profiles")
        os.mkdir(self.profiles)
        self.db = PgCluster(self.dir) if ARGS.db == "postgresql" else SqliteDb(self.dir)
        self.server = Bolsa(ARGS.bolsa, self.db.url + url_suffix, self.dir,
                            env={"BOLSA_PROFILE": "1", "BOLSA_PROFILE_DIR": self.profiles,
                                 **(env or {})})

    def __enter__(self):
        try:
            self.server.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.server.stop()
        report = SANITIZER_REPORT.search(self.server.log_text())
        self.close()
        check(exc[0] or not report, "sanitizer report in the server's log")

    def close(self):
        self.db.cleanup()
        shutil.rmtree(self.dir, ignore_errors=True)

    def profiled(self, n, fmt, strategy=None, tickers=CANARIES, **query):
        """POSTs n rows with ?profile=true; returns the profile's bytes."""
        q = {"profile": "true", "profile_format": fmt, "save_strategy": strategy, **query}
        body = {"ativos": tickers, "quantidadeAtivos": n, "seed": 11}
        resp = self.server.request("POST", path_with(T, **q), body, timeout=300)
        check(resp.status == 201 and resp.json()["saved"] == n, "POST: %r" % resp)
        return self.read(resp)

    def read(self, resp):
        name = resp.headers.get("x-profile-file")
        check(name, "no profile written: %r" % resp.headers)
        with open(os.path.join(self.profiles, name), "rb") as f:
            return f.read()


# --- reading profiles -------------------------------------------------------------------


def statements(session, category="sql"):
    """{text: [count, total ns]} of a session's markers of one category."""
    out = {}
    for start, end, _thread, cat, text in session["markers"]:
        if cat == category:
            entry = out.setdefault(text, [0, 0])
            entry[0] += 1
            entry[1] += end - start
    return out


def page_data(html):
    """The data an HTML profile's script reads: its <script id="gg-data"> JSON."""
    m = re.search(rb'<script type="application/json" id="gg-data">(.*?)</script>', html, re.S)
    check(m, "no gg-data in the page")
    return json.loads(m.group(1))


def page_sql_table(data):
    """{text: (executions, total ns, call-site functions)} of the page's SQL table."""
    kinds, names = data["kinds"], data["frames"]["name"]
    return {kinds["text"][row["kind"]]: (kinds["count"][row["kind"]], kinds["total"][row["kind"]],
                                         {names[s["frame"]] for s in row["sites"]})
            for row in data["sql"]}


def describe(table):
    return "; ".join("%s x%d" % (text[:60], v[0]) for text, v in table.items())


def blocked_share(session, pattern):
    """The share of the session's sample weight whose leaf is a "[blocked] ..." frame
    matching pattern, and the names of every blocked leaf seen."""
    frames, stacks = session["frames"], session["stacks"]
    names = [f["function"] or "" for f in frames]
    total = sum(s[1] for s in session["samples"]) or 1
    matched, seen = 0, set()
    for sample in session["samples"]:
        stack = stacks[sample[2]]
        leaf = names[stack[-1]] if stack else ""
        if leaf.startswith("[blocked]"):
            seen.add(leaf)
            if re.search(pattern, leaf) and "bolsa_store_save" in {names[i] for i in stack}:
                matched += sample[1]
    return matched / total, seen


# --- the statement tables ---------------------------------------------------------------


def naive_rows():
    # Enough rows that one preemption between two statements (a few ms on a busy machine:
    # time that is the request's but no statement's) cannot take the INSERT below 80%.
    return 5000 if ARGS.db == "sqlite" else 1000


def largest_gap_ms(session, duration_ns):
    """The longest time in the session outside every SQL marker, in ms: where the rest went."""
    spans = sorted((m[0], m[1]) for m in session["markers"] if m[3] == "sql")
    edges = [0] + [t for span in spans for t in span] + [duration_ns]
    return max(edges[i + 1] - edges[i] for i in range(0, len(edges), 2)) / 1e6


def test_naive_statement_table():
    """The naive save: its single-row INSERT, once per row, is nearly all the request, in
    the session's markers and in the page's SQL table, called from the store's insert."""
    n, insert = naive_rows(), SQLITE_INSERT if ARGS.db == "sqlite" else PG_INSERT
    with Env() as env:
        session = json.loads(env.profiled(n, "json", "naive"))
        table = statements(session)
        check(table.get(insert, [0])[0] == n, "want %d x %s; got %s" % (n, insert, describe(table)))
        share = table[insert][1] / session["duration_ns"]
        check(share > 0.8, "the INSERT is %.1f%% of a %.1f ms request; largest gap %.2f ms"
              % (100 * share, session["duration_ns"] / 1e6,
                 largest_gap_ms(session, session["duration_ns"])))
        others = {t: v for t, v in table.items() if t != insert}
        check(all(t.startswith("PREPARE ") and v[0] == 1 for t, v in others.items()),
              "other statements: %s" % describe(others))
        data = page_data(env.profiled(n, "html", "naive"))
        count, total, sites = page_sql_table(data).get(insert, (0, 0, set()))
        check(count == n and total > 0.8 * data["duration_ns"],
              "page: %d x, %d of %d ns" % (count, total, data["duration_ns"]))
        caller = "bolsa_sqlite_insert" if ARGS.db == "sqlite" else "pg_insert_one"
        check(caller in sites, "call sites %s, want %s" % (sites, caller))
        return "%d x INSERT, %.1f%% of the request" % (n, 100 * share)


def expected_chunked(n):
    if ARGS.db == "sqlite":
        tail = n % CHUNK
        want = {"BEGIN IMMEDIATE": 1, "COMMIT": 1,
                SQLITE_INSERT + " /* %d rows */" % CHUNK: n // CHUNK}
        if tail:
            want[SQLITE_INSERT + (" /* %d rows */" % tail if tail > 1 else "")] = 1
        return want
    return {"BEGIN": 1, PG_COPY: 1, "COMMIT": 1}


def check_copy_calls(session):
    """On PostgreSQL, the COPY's libpq calls are marked inside the COPY's marker."""
    copy = [m for m in session["markers"] if m[3] == "sql" and m[4] == PG_COPY][0]
    calls = [m for m in session["markers"] if m[3] == "libpq"]
    check(all(copy[0] <= m[0] and m[1] <= copy[1] for m in calls), "a libpq call outside the COPY")
    table = statements(session, "libpq")
    check(table.get("PQputCopyData", [0])[0] >= 1 and table.get("PQputCopyEnd", [0])[0] == 1
          and table.get("PQgetResult", [0])[0] >= 1 and table.get("PQexec", [0])[0] == 1,
          "libpq calls: %s" % describe(table))


def test_chunked_statement_table():
    """The default save: SQLite's 500-row INSERTs (and the tail's), between BEGIN and
    COMMIT; PostgreSQL's one COPY, its libpq calls inside it. Nothing else."""
    n = 20 * CHUNK + 234
    want = expected_chunked(n)
    with Env() as env:
        session = json.loads(env.profiled(n, "json"))
        got = {t: v[0] for t, v in statements(session).items()}
        check(got == want, "statements %s, want %s" % (got, want))
        if ARGS.db == "postgresql":
            check_copy_calls(session)
        table = page_sql_table(page_data(env.profiled(n, "html")))
        check({t: v[0] for t, v in table.items()} == want, "page: %s" % describe(table))
        return ", ".join("%d x %s" % (c, t[-22:]) for t, c in want.items())


def test_reads_are_marked():
    """A filtered page and the summary: their SELECTs, the ticker asked for not in them."""
    with Env() as env:
        env.profiled(1000, "json")
        for path, query, words in ((T, {"ativo": CANARIES[0], "limit": 5}, "ORDER BY id LIMIT"),
                                   (T + "/summary", {}, "GROUP BY ativo")):
            resp = env.server.get(path_with(path, profile="1", profile_format="json", **query))
            check(resp.status == 200, "GET %s: %r" % (path, resp))
            table = statements(json.loads(env.read(resp)))
            check(len(table) == 1 and words in list(table)[0], "%s: %s" % (path, describe(table)))


# --- no value in any profile ------------------------------------------------------------


def marker_texts_have_no_numbers(profile):
    """Marker texts hold no digits but placeholders' ($1, ?2) and row counts'."""
    for _s, _e, _t, _cat, text in json.loads(profile)["markers"]:
        bare = re.sub(r"[?$]\d+|/\* \d+ rows \*/", "", text)
        check(not re.search(r"\d", bare), "a number in a marker: %r" % text)


def test_no_value_in_any_profile():
    """Every format of a naive and a chunked save, and of a filtered read: none holds a
    ticker the requests sent; marker texts hold no number, so no amount either."""
    with Env() as env:
        for fmt in FORMATS:
            for strategy in ("naive", "chunked"):
                data = env.profiled(40 if strategy == "naive" else 1300, fmt, strategy)
                if fmt == "pprof":
                    data = gzip.decompress(data)
                leaked = [c for c in CANARIES if c.encode() in data]
                check(not leaked, "%s %s profile holds %s" % (strategy, fmt, leaked))
                if fmt == "json":
                    marker_texts_have_no_numbers(data)
            resp = env.server.get(path_with(T, ativo=CANARIES[1], profile="1", profile_format=fmt))
            check(resp.status == 200 and CANARIES[1].encode() not in env.read(resp),
                  "GET ?ativo= %s profile" % fmt)
        check(env.db.count() == len(FORMATS) * (40 + 1300), "rows: %d" % env.db.count())
        return "%d formats, %d profiles" % (len(FORMATS), 3 * len(FORMATS))


# --- blocked I/O ------------------------------------------------------------------------


# Each blocked-I/O test runs twice: with gargalo's default mechanism (perf events where the
# kernel allows them: here, as root) and with signals, which every kernel allows.
MECHANISMS = ((None, "perf"), ("signal", "signal"))


def wall_session(env, n, strategy, mechanism):
    """A wall-clock profile of a save, or None when it was not taken with mechanism (perf
    events refused here: not root, perf_event_paranoid): nothing to check then."""
    session = json.loads(env.profiled(n, "json", strategy, profile_mode="wall"))
    return session if session.get("mechanism") == mechanism else None


def test_blocked_on_the_cluster_socket():
    """PostgreSQL: the naive save's time waiting for the server is named after the
    socket to the cluster's port: "[blocked] poll fd N: tcp 127.0.0.1:PORT"."""
    found = []
    for forced, mechanism in MECHANISMS:
        with Env(env={"GARGALO_MECHANISM": forced} if forced else None) as env:
            port = re.search(r":(\d+)/", env.db.url).group(1)
            session = wall_session(env, 200, "naive", mechanism)
            if session is None:
                found.append("%s: skipped, not available here" % mechanism)
                continue
            share, seen = blocked_share(session, r"^\[blocked\] \w+ fd \d+: tcp 127\.0\.0\.1:%s$" % port)
            check(share > 0.2, "%s: %.1f%% blocked on port %s; blocked leaves: %s"
                  % (mechanism, 100 * share, port, seen))
            found.append("%s: %.0f%% %s" % (mechanism, 100 * share, sorted(seen)[0]))
    return "; ".join(found)


WAL_LEAF = r"^\[blocked\] (fdatasync|fsync) fd \d+: (\.\.\./|/.*/)bolsa\.db-wal$"


def test_blocked_on_the_wal_file():
    """SQLite with ?synchronous=full: every commit syncs the write-ahead log, and the naive
    save's samples name it under the sync call; with the default (NORMAL) a commit never
    syncs, and the request thread has no such leaf."""
    found = []
    for forced, mechanism in MECHANISMS:
        with Env("?synchronous=full", env={"GARGALO_MECHANISM": forced} if forced else None) as env:
            session = wall_session(env, 400, "naive", mechanism)
            if session is None:
                found.append("%s: skipped, not available here" % mechanism)
                continue
            share, seen = blocked_share(session, WAL_LEAF)
            check(share > 0.05, "%s: %.1f%% in a sync of the WAL; blocked leaves: %s"
                  % (mechanism, 100 * share, seen))
            named = sorted(s for s in seen if re.search(WAL_LEAF, s))[0]
            found.append("%s: %.0f%% %s" % (mechanism, 100 * share, named))
    with Env() as env:
        normal, seen = blocked_share(json.loads(env.profiled(400, "json", "naive")), WAL_LEAF)
        check(normal == 0, "synchronous=normal synced the WAL: %s" % seen)
    return "; ".join(found)


def test_bad_synchronous_is_refused():
    if ARGS.db != "sqlite":
        return "SQLite only"
    tmp = make_workdir()
    try:
        url = "sqlite:%s/bolsa.db?synchronous=off" % tmp
        code, out = run_bolsa_once(ARGS.bolsa, ["--port", "0", "--database-url", url])
        check(code != 0 and "synchronous=normal or synchronous=full" in out, "%d: %s" % (code, out))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--bolsa", default="build/bolsa")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    ARGS = parser.parse_args()
    blocked = test_blocked_on_the_wal_file if ARGS.db == "sqlite" else test_blocked_on_the_cluster_socket
    cases = [(f.__name__, f) for f in (test_naive_statement_table, test_chunked_statement_table,
                                       test_reads_are_marked, test_no_value_in_any_profile,
                                       blocked, test_bad_synchronous_is_refused)]
    return run_cases("sql-" + ARGS.db, cases)


if __name__ == "__main__":
    sys.exit(main())
