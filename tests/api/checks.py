"""checks.py: the API tests that need code rather than one request and one answer: data
read back and checked row by row, pagination, concurrency, big saves, bad configuration,
and the all-or-nothing guarantee under real database failures. Registered in run order."""

import os
import re
import statistics
import subprocess
import threading
import time

from cases import check_error_shape, check_server_timing
from harness import (ARTICLE_TICKERS, SANITIZER_REPORT, Bolsa, SqliteDb, TestFailure, check,
                     path_with, run_bolsa_once)

TESTS = []  # (name, fn(ctx), slow, timeout_s, db or None)
T = "/api/v1/transaction"
VALOR_TEXT = re.compile(r"^\d{1,3}(\.\d{1,2})?$")


def test(name, slow=False, timeout=120, db=None):
    def register(fn):
        TESTS.append((name, fn, slow, timeout, db))
        return fn
    return register


def post_ok(server, body, strategy=None, timeout=300):
    resp = server.post(body, strategy, timeout=timeout)
    check(resp.status == 201, "POST %r: %r" % (body.get("quantidadeAtivos"), resp))
    return resp.json()


def check_rows(rows, tickers, n):
    """rows as read from the database: n of them, tickers from the list, valor in
    1.00..100.00 with at most two decimals."""
    check(len(rows) == n, "%d new rows in the table, want %d" % (len(rows), n))
    allowed = set(tickers)
    for rid, ativo, valor in rows:
        check(ativo in allowed, "row %d: ativo %r not in the request" % (rid, ativo))
        check(VALOR_TEXT.match(valor), "row %d: valor %r has more than 2 decimals" % (rid, valor))
        check(1.0 <= float(valor) <= 100.0, "row %d: valor %s outside 1.00..100.00" % (rid, valor))


def walk(server, limit=1000, max_pages=100000, **filters):
    """Every row through keyset pagination (or the first max_pages pages):
    [(id, ativo, valor)]."""
    out, after, pages = [], None, 0
    while pages < max_pages:
        resp = server.get(path_with(T, limit=limit, after_id=after, **filters))
        check(resp.status == 200, "GET page after %r: %r" % (after, resp))
        body = resp.json()
        out += [(it["id"], it["ativo"], it["valor"]) for it in body["items"]]
        pages += 1
        if body["next_after_id"] is None:
            return out
        check(body["next_after_id"] == body["items"][-1]["id"],
              "next_after_id %r is not the last id of the page" % body["next_after_id"])
        after = body["next_after_id"]
    check(max_pages < 100000, "pagination does not end")
    return out


# --- the data ---------------------------------------------------------------------------


@test("health_and_server_timing")
def t_health(ctx):
    resp = ctx.server.get("/health")
    check(resp.status == 200, "/health: %r" % resp)
    check(resp.json().get("database") == ctx.db.kind, "/health names no database: %r" % resp)
    for method, path in (("GET", "/health"), ("GET", T + "?limit=1"), ("GET", T + "/summary"),
                         ("GET", "/nope"), ("DELETE", T), ("POST", T + "?save_strategy=x")):
        check_server_timing(ctx.server.request(method, path))


@test("successful_health_checks_are_not_logged")
def t_health_unlogged(ctx):
    """A health check that succeeds leaves no request log line (a probe a second would be
    most of the log); other requests still do."""
    def lines(prefix):
        return sum(1 for line in ctx.server.log_text().splitlines() if line.startswith(prefix))
    health, listed = lines("GET /health "), lines("GET /api/v1/transaction 200")
    for _ in range(5):
        check(ctx.server.get("/health").status == 200, "/health is not 200")
    check(ctx.server.get(T + "?limit=1").status == 200, "GET is not 200")
    time.sleep(0.1)  # the log line is written after the answer is queued
    check(lines("GET /health ") == health, "successful /health checks were logged")
    check(lines("GET /api/v1/transaction 200") == listed + 1, "a GET was not logged")


@test("article_request_50000_chunked")
def t_article(ctx):
    before, last = ctx.db.count(), ctx.db.max_id()
    t0 = time.monotonic()
    body = post_ok(ctx.server, {"ativos": ARTICLE_TICKERS, "quantidadeAtivos": 50000})
    ctx.note("50,000 rows chunked in %.0f ms (server db_ms %.0f)"
             % ((time.monotonic() - t0) * 1000, body.get("db_ms", -1)))
    check(body["saved"] == 50000 and body["strategy"] == "chunked", "answer: %r" % body)
    check(ctx.db.count() == before + 50000, "count did not grow by 50,000")
    rows = ctx.db.rows_after(last)
    check_rows(rows, ARTICLE_TICKERS, 50000)
    check({r[1] for r in rows} == set(ARTICLE_TICKERS), "some ticker never drawn in 50,000 rows")


@test("article_tickers_naive_2000")
def t_naive(ctx):
    before, last = ctx.db.count(), ctx.db.max_id()
    body = post_ok(ctx.server, {"ativos": ARTICLE_TICKERS, "quantidadeAtivos": 2000}, "naive")
    check(body["saved"] == 2000 and body["strategy"] == "naive", "answer: %r" % body)
    check(ctx.db.count() == before + 2000, "count did not grow by 2,000")
    check_rows(ctx.db.rows_after(last), ARTICLE_TICKERS, 2000)


@test("valor_and_created_at_through_get")
def t_get_format(ctx):
    last = ctx.db.max_id()
    post_ok(ctx.server, {"ativos": ["PETR4", "VALE3"], "quantidadeAtivos": 500, "seed": 3})
    items = ctx.server.get(path_with(T, after_id=last, limit=1000)).json()["items"]
    check(len(items) == 500, "GET after the save returned %d items" % len(items))
    iso = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
    for it in items:
        check(set(it) >= {"id", "ativo", "valor", "created_at"}, "item fields: %r" % it)
        check(iso.match(it["created_at"]), "created_at %r is not ISO 8601 UTC with ms" % it["created_at"])
        check(abs(round(it["valor"] * 100) - it["valor"] * 100) < 1e-6,
              "valor %r has more than 2 decimals" % it["valor"])
        check(1 <= it["valor"] <= 100, "valor %r outside 1..100" % it["valor"])
    year = int(items[0]["created_at"][:4])
    check(abs(year - time.gmtime().tm_year) <= 1, "created_at %r is not now" % items[0]["created_at"])


@test("seed_reproducible")
def t_seed(ctx):
    def rows_for(seed, strategy=None):
        last = ctx.db.max_id()
        body = post_ok(ctx.server, {"ativos": ARTICLE_TICKERS, "quantidadeAtivos": 700, "seed": seed},
                       strategy)
        check(body.get("seed") == seed, "answer does not echo the seed: %r" % body)
        items = ctx.server.get(path_with(T, after_id=last, limit=1000)).json()["items"]
        check(len(items) == 700, "read back %d rows, want 700" % len(items))
        return [(it["ativo"], it["valor"]) for it in items]
    a, b = rows_for(12345), rows_for(12345)
    check(a == b, "same seed gave different rows")
    check(rows_for(12345, "naive") == a, "same seed, naive strategy: different rows")
    check(rows_for(54321) != a, "a different seed gave the same rows")


@test("pagination_walks_every_row")
def t_pagination(ctx):
    rows = walk(ctx.server)
    ids = [r[0] for r in rows]
    check(ids == sorted(set(ids)), "ids not strictly increasing (duplicates or disorder)")
    db_ids = [r[0] for r in ctx.db.rows_after(0)]
    check(ids == db_ids, "pagination saw %d rows, the table has %d (gaps or extras)"
          % (len(ids), len(db_ids)))
    small = walk(ctx.server, limit=7, max_pages=8)
    check(small == rows[:56], "limit=7 pages disagree with limit=1000 pages")


@test("pagination_filter_by_ativo")
def t_filter(ctx):
    counts = {a: n for a, (n, _, _, _) in ctx.db.aggregates().items()}
    for ticker in ("PETR4", "B3SA3"):
        rows = walk(ctx.server, ativo=ticker)
        check(all(r[1] == ticker for r in rows), "filter %s returned other tickers" % ticker)
        check(len(rows) == counts.get(ticker, 0),
              "filter %s: %d rows, table has %d" % (ticker, len(rows), counts.get(ticker, 0)))
        ids = [r[0] for r in rows]
        check(ids == sorted(set(ids)), "filter %s: ids not strictly increasing" % ticker)


@test("summary_matches_table")
def t_summary(ctx):
    resp = ctx.server.get(T + "/summary")
    check(resp.status == 200, "summary: %r" % resp)
    items = resp.json()["items"]
    agg = ctx.db.aggregates()
    check(sum(it["count"] for it in items) == ctx.db.count(), "summary counts do not add up to the table")
    check([it["ativo"] for it in items] == sorted(agg), "summary tickers/order: %r" % [it["ativo"] for it in items])
    for it in items:
        n, lo, hi, mean = agg[it["ativo"]]
        check(it["count"] == n, "%s count %d, table %d" % (it["ativo"], it["count"], n))
        check(round(it["min"] * 100) == lo and round(it["max"] * 100) == hi,
              "%s min/max %r/%r, table %d/%d cents" % (it["ativo"], it["min"], it["max"], lo, hi))
        check(it["min"] <= it["mean"] <= it["max"], "%s mean %r outside min..max" % (it["ativo"], it["mean"]))
        check(abs(it["mean"] - mean) <= 0.006, "%s mean %r, table %r" % (it["ativo"], it["mean"], mean))


# --- concurrency, size, timing ------------------------------------------------------------


@test("concurrent_posts", timeout=240)
def t_concurrent(ctx):
    before = ctx.db.count()
    saved, errors, lock = [], [], threading.Lock()

    def worker(i):
        for j in range(4):
            strategy = "naive" if (i + j) % 4 == 0 else "chunked"
            n = 1 + (i * 37 + j * 101) % (150 if strategy == "naive" else 4000)
            try:
                resp = ctx.server.post({"ativos": ARTICLE_TICKERS, "quantidadeAtivos": n}, strategy,
                                       timeout=120)
                with lock:
                    if resp.status == 201 and resp.json().get("saved") == n:
                        saved.append(n)
                    else:
                        errors.append("%s %d: %r" % (strategy, n, resp))
            except Exception as e:  # noqa: BLE001 - any failure is a test failure
                with lock:
                    errors.append("%s %d: %r" % (strategy, n, e))

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(16)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 200
    for t in threads:
        t.join(max(0, deadline - time.monotonic()))
    check(not any(t.is_alive() for t in threads), "concurrent POSTs still running after 200 s")
    check(not errors, "%d failed requests, first: %s" % (len(errors), errors[:3]))
    check(ctx.db.count() == before + sum(saved),
          "count grew by %d, answers said %d" % (ctx.db.count() - before, sum(saved)))
    check(ctx.server.get("/health").status == 200, "unhealthy after the concurrent POSTs")


@test("timing_50000_rows", slow=True, timeout=300)
def t_timing(ctx):
    """Not a pass/fail speed limit (the machine is shared): prints medians for the record."""
    def median_ms(strategy, runs):
        times = []
        for _ in range(runs):
            t0 = time.monotonic()
            post_ok(ctx.server, {"ativos": ARTICLE_TICKERS, "quantidadeAtivos": 50000}, strategy)
            times.append((time.monotonic() - t0) * 1000)
        return statistics.median(times), times
    chunked, all_c = median_ms("chunked", 5)
    naive, all_n = median_ms("naive", 1 if ctx.db.kind == "postgresql" else 3)
    ctx.note("50,000 rows: chunked median %.0f ms %s; naive median %.0f ms %s"
             % (chunked, [round(t) for t in all_c], naive, [round(t) for t in all_n]))
    check(chunked < naive, "chunked (%.0f ms) not faster than naive (%.0f ms)" % (chunked, naive))


@test("one_million_rows_chunked", slow=True, timeout=400)
def t_million(ctx):
    before = ctx.db.count()
    t0 = time.monotonic()
    body = post_ok(ctx.server, {"ativos": ARTICLE_TICKERS, "quantidadeAtivos": 1000000}, timeout=360)
    ctx.note("1,000,000 rows chunked in %.1f s" % (time.monotonic() - t0))
    check(body["saved"] == 1000000, "answer: %r" % body)
    check(ctx.db.count() == before + 1000000, "count did not grow by 1,000,000")


@test("concurrent_start_migrates_once", timeout=120)
def t_concurrent_start(ctx):
    """Three servers start at once on an empty database: all come up, and the schema is
    created once (no duplicate-object errors, one version row per migration)."""
    if ctx.db.kind == "postgresql":
        ctx.db.query("CREATE DATABASE race")
        url = ctx.db.url.rsplit("/", 1)[0] + "/race"
        versions = lambda: ctx.db.query("SELECT version FROM schema_version ORDER BY version",
                                        database="race")
    else:
        url = "sqlite:" + os.path.join(ctx.workdir, "race.db")
        versions = None
    servers = [ctx.track(Bolsa(ctx.args.bolsa, url, ctx.workdir, "bolsa-race%d" % i))
               for i in range(3)]
    try:
        for srv in servers:
            srv.launch()
        for srv in servers:
            srv.wait_ready(60)
        for i, srv in enumerate(servers):
            post_ok(srv, {"ativos": ["PETR4"], "quantidadeAtivos": 10 + i})
            check(srv.get(T + "/summary").json()["items"][0]["count"] >= 10 + i, "summary after race")
        if versions:
            v = [int(r[0]) for r in versions()]
            check(v == list(range(1, len(v) + 1)) and v, "schema_version rows: %r" % v)
    finally:
        ctx.stop_tracked()


# --- configuration ------------------------------------------------------------------------


def expect_refused(ctx, args, words, env=None):
    code, out = run_bolsa_once(ctx.args.bolsa, args, env=env)
    check(code != 0, "bolsa %s exited 0" % " ".join(args))
    check(not SANITIZER_REPORT.search(out), "sanitizer report:\n" + out[-2000:])
    for w in words:
        check(w.lower() in out.lower(), "bolsa %s: message lacks %r:\n%s" % (" ".join(args), w, out[-500:]))


@test("bad_config_is_refused")
def t_bad_config(ctx):
    db = ["--database-url", ctx.db.url, "--port", "0"]
    expect_refused(ctx, ["--port", "70000"] + db[:2], ["port"])
    expect_refused(ctx, ["--port", "abc"] + db[:2], ["port", "abc"])
    expect_refused(ctx, ["--port", "-1"] + db[:2], ["port"])
    expect_refused(ctx, ["--threads", "0"] + db, ["threads"])
    expect_refused(ctx, ["--max-rows", "0"] + db, ["max-rows"])
    expect_refused(ctx, ["--bogus"] + db, ["bogus"])
    expect_refused(ctx, ["--port"], ["port"])
    expect_refused(ctx, db[2:], ["port"], env={"BOLSA_PORT": "x"})
    expect_refused(ctx, ["--port", "0", "--database-url", "mysql://x"], ["mysql://x"])
    expect_refused(ctx, ["--port", "0", "--database-url",
                         "postgresql://postgres@127.0.0.1:1/postgres?connect_timeout=3"],
                   ["database", "refused"])
    expect_refused(ctx, ["--port", "0", "--database-url", "sqlite:/nonexistent-dir/x/bolsa.db"],
                   ["database", "nonexistent-dir"])
    expect_refused(ctx, ["--host", "256.1.1.1"] + db[:2] + ["--port", "0"], ["256.1.1.1"])


@test("port_in_use_is_refused")
def t_port_in_use(ctx):
    expect_refused(ctx, ["--port", str(ctx.server.port), "--database-url", ctx.db.url],
                   [str(ctx.server.port)])


# --- all or nothing -----------------------------------------------------------------------


@test("sqlite_disk_full_saves_nothing", db="sqlite", timeout=180)
def t_sqlite_full(ctx):
    """A real failure half-way through a chunked save: the database lives on a 2 MiB tmpfs,
    so the transaction runs out of space part-way. Nothing of it may remain."""
    mnt = os.path.join(ctx.workdir, "small-fs")
    os.mkdir(mnt)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt],
                      stderr=subprocess.DEVNULL).returncode != 0:
        return sqlite_locked_saves_nothing(ctx)
    try:
        db = SqliteDb(mnt, "full.db")
        srv = ctx.track(Bolsa(ctx.args.bolsa, db.url, ctx.workdir, "bolsa-full").start())
        post_ok(srv, {"ativos": ARTICLE_TICKERS, "quantidadeAtivos": 1000})
        check(db.count() == 1000, "the first 1,000 rows did not fit")
        resp = srv.post({"ativos": ARTICLE_TICKERS, "quantidadeAtivos": 300000}, timeout=120)
        check(resp.status in (500, 503, 507), "save on a full disk: %r" % resp)
        ctx.note("full disk: %d %s" % (resp.status, resp.json()["detail"][0]["msg"]))
        d = check_error_shape(resp)
        check(d["type"].startswith("database"), "error type %r" % d["type"])
        check(db.count() == 1000, "a failed chunked save left %d rows behind" % (db.count() - 1000))
        check(srv.get("/health").status in (200, 503), "/health broken after a full disk")
        srv.stop()
        check(db.count() == 1000, "rows appeared after the server stopped")
    finally:
        ctx.stop_tracked()
        subprocess.run(["umount", "-l", mnt], stderr=subprocess.DEVNULL)


def sqlite_locked_saves_nothing(ctx):
    """Where tmpfs cannot be mounted (not root): another process holds the write lock for
    longer than the server's busy timeout, so the save cannot start and must save nothing."""
    import sqlite3
    ctx.note("tmpfs mount not permitted: testing a held write lock instead (takes ~30 s)")
    before = ctx.db.count()
    con = sqlite3.connect(ctx.db.path, timeout=5, isolation_level=None)
    try:
        con.execute("BEGIN IMMEDIATE")
        resp = ctx.server.post({"ativos": ARTICLE_TICKERS, "quantidadeAtivos": 20000}, timeout=120)
    finally:
        con.execute("ROLLBACK")
        con.close()
    check(resp.status in (500, 503), "save while locked: %r" % resp)
    check_error_shape(resp)
    check(ctx.db.count() == before, "a failed save changed the row count")


def wait_copy_running(db, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = int(db.query("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY%'"
                         " AND state = 'active'")[0][0])
        if n:
            return
        time.sleep(0.02)
    raise TestFailure("the COPY never showed up in pg_stat_activity")


@test("pg_crash_during_copy_saves_nothing", db="postgresql", timeout=240)
def t_pg_crash(ctx):
    before = ctx.db.count()
    result = {}

    def big_post():
        try:
            result["resp"] = ctx.server.post({"ativos": ARTICLE_TICKERS, "quantidadeAtivos": 3000000},
                                             timeout=180)
        except Exception as e:  # noqa: BLE001
            result["exc"] = e

    t = threading.Thread(target=big_post, daemon=True)
    t.start()
    wait_copy_running(ctx.db)
    time.sleep(0.3)  # let some rows stream in
    ctx.db.crash()
    try:
        t.join(120)
        check(not t.is_alive(), "the request did not end after the database died")
        resp = result.get("resp")
        check(resp is not None, "no HTTP answer: %r" % result.get("exc"))
        check(resp.status in (500, 503), "save interrupted by a crash: %r" % resp)
        check_error_shape(resp)
        health = ctx.server.get("/health", timeout=30)
        check(health.status == 503, "/health while the database is down: %r" % health)
        check_server_timing(health)
        down = ctx.server.post({"ativos": ["PETR4"], "quantidadeAtivos": 5}, timeout=30)
        check(down.status == 503, "POST while the database is down: %r" % down)
        check(ctx.server.get(T + "?limit=1", timeout=30).status == 503, "GET while down is not 503")
    finally:
        ctx.db.resume()
    ctx.server.wait_healthy(30)
    check(ctx.db.count() == before, "%d rows of the interrupted COPY survived" % (ctx.db.count() - before))
    # Every pooled connection died with the server: each save, on whichever connection it
    # gets, must reconnect rather than fail.
    for i in range(8):
        post_ok(ctx.server, {"ativos": ["PETR4"], "quantidadeAtivos": 10},
                strategy="naive" if i % 2 else None)
    check(ctx.db.count() == before + 80, "saving after the restart did not work")


@test("second_signal_leaves_no_rows", timeout=180)
def t_second_signal(ctx):
    """On this database too: SIGTERM then SIGINT during a chunked save (sized to about 3 s
    here) end bolsa at once, and the save, one transaction never committed, leaves no row."""
    import signal
    srv = ctx.track(Bolsa(ctx.args.bolsa, ctx.db.url, ctx.workdir, "bolsa-signals").start())
    try:
        t0 = time.monotonic()
        post_ok(srv, {"ativos": ["PETR4"], "quantidadeAtivos": 100000})
        n = int(min(10000000, 3 * 100000 / (time.monotonic() - t0)))
        before, result = ctx.db.count(), {}

        def big_post():
            try:
                result["resp"] = srv.post({"ativos": ARTICLE_TICKERS, "quantidadeAtivos": n},
                                          timeout=120)
            except OSError as e:
                result["exc"] = e

        t = threading.Thread(target=big_post, daemon=True)
        t.start()
        if ctx.db.kind == "postgresql":
            wait_copy_running(ctx.db)
        time.sleep(0.3)
        check(t.is_alive(), "the %d-row save ended before the first signal: %r" % (n, result))
        srv.proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        check(t.is_alive(), "the %d-row save ended before the second signal: %r" % (n, result))
        srv.proc.send_signal(signal.SIGINT)
        t1 = time.monotonic()
        code = srv.proc.wait(10)
        secs = time.monotonic() - t1
        t.join(30)
        ctx.note("%d rows, SIGTERM then SIGINT: exit %d after %.2f s" % (n, code, secs))
        check(code == 1 and secs < 1.0, "exit %d, %.2f s after the second signal" % (code, secs))
        check("resp" not in result, "the client got an answer: %r" % result.get("resp"))
        check(ctx.db.count() == before, "%d rows of the unfinished save were left"
              % (ctx.db.count() - before))
    finally:
        ctx.stop_tracked()


# --- what a server-side error tells the client ----------------------------------------------

ERROR_ID = re.compile(r"^[0-9a-f]{16}$")


def check_concealed(resp, server, secrets):
    """A server-side error answered without its detail: FastAPI's shape, a plain message
    ending with "(error id <id>)", the id in detail[0].ctx.error_id, none of the secrets
    anywhere in the answer, and exactly one line of the server's log under that id.
    Returns (detail[0], that log line)."""
    check(resp.status >= 500, "not a server-side error: %r" % resp)
    d = check_error_shape(resp)
    error_id = (d.get("ctx") or {}).get("error_id")
    check(isinstance(error_id, str) and ERROR_ID.match(error_id),
          "detail[0].ctx.error_id is not 16 hex digits: %r" % d)
    check(d["msg"].endswith("(error id %s)" % error_id), "msg does not end with the id: %r" % d)
    # The id is random hex: a port number could turn up inside it by chance.
    text = resp.body.decode(errors="replace").replace(error_id, "") + repr(resp.headers)
    for secret in secrets:
        check(secret.lower() not in text.lower(), "the answer reveals %r: %s" % (secret, text))
    lines = [line for line in server.log_text().splitlines() if error_id in line]
    check(len(lines) == 1, "%d log lines with error id %s" % (len(lines), error_id))
    return d, lines[0]


def pg_secrets(db):
    """What a client must not learn about the PostgreSQL server: its address, port, user
    and libpq's words for a failed connection."""
    port = re.search(r":(\d+)/", db.url).group(1)
    return port, ["127.0.0.1", port, "postgres@", "connection to server", "refused",
                  "could not", "server closed", "terminating", "libpq"]


@test("database_errors_tell_clients_nothing", db="postgresql", timeout=180)
def t_pg_down_conceals(ctx):
    """With PostgreSQL stopped, /health, POST, GET and the summary answer 503 with a plain
    message and an error id; the host, port and libpq's message go to the log only."""
    port, secrets = pg_secrets(ctx.db)
    saves_at_once(ctx, "chunked")  # the pool holds several connections, none has run a naive save
    ctx.db.crash()
    try:
        health = ctx.server.get("/health", timeout=30)
        check(health.status == 503, "/health while the database is down: %r" % health)
        body = health.json()
        check(body.get("status") == "unavailable" and body.get("database") == "postgresql",
              "/health 503 body: %r" % body)
        d, line = check_concealed(health, ctx.server, secrets)
        check(d["type"] == "database_unavailable" and d["loc"] == [], "/health detail: %r" % d)
        check(port in line and "GET /health" in line, "log line lacks the detail: %r" % line)
        time.sleep(0.1)  # the request's own line follows its answer
        check(re.search(r"^GET /health 503 ", ctx.server.log_text(), re.M),
              "a failed /health check left no request log line")
        ids = {d["ctx"]["error_id"]}
        post = ctx.server.post({"ativos": ["PETR4"], "quantidadeAtivos": 5}, timeout=30)
        check(post.status == 503, "POST while the database is down: %r" % post)
        d, line = check_concealed(post, ctx.server, secrets)
        check(d["ctx"].get("rows_saved") == 0 and "no rows were saved" in d["msg"],
              "POST detail: %r" % d)
        ids.add(d["ctx"]["error_id"])
        for path in (T + "?limit=1", T + "/summary"):
            resp = ctx.server.get(path, timeout=30)
            check(resp.status == 503, "GET %s while down: %r" % (path, resp))
            d, line = check_concealed(resp, ctx.server, secrets)
            ids.add(d["ctx"]["error_id"])
        check(len(ids) == 4, "error ids repeat: %r" % ids)
    finally:
        ctx.db.resume()
    ctx.server.wait_healthy(30)
    # Every pooled connection died with the server, most of them unused since: saves at
    # once take them all, and each save's first command, here a naive save's PREPARE,
    # reopens its connection.
    saves_at_once(ctx, "naive")


def saves_at_once(ctx, strategy):
    """Eight saves of 300 rows at once, each answered 201."""
    writers = [post_in_background(ctx.server, {"ativos": ["PETR4"], "quantidadeAtivos": 300},
                                  strategy, 60) for _ in range(8)]
    for t, result in writers:
        t.join(90)
        resp = result.get("resp")
        check(resp is not None and resp.status == 201, "a %s save: %r" % (strategy, result))


def wait_rows(db, at_least, timeout=60, writer=None):
    """Waits for the table to hold at_least rows; writer, (thread, result) of the request
    adding them, ends the wait early, with what it got, if it finishes first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if db.count() >= at_least:
            return
        if writer and not writer[0].is_alive():
            raise TestFailure("the request ended before the table reached %d rows: %r"
                              % (at_least, writer[1]))
        time.sleep(0.05)
    raise TestFailure("the table never reached %d rows" % at_least)


def post_in_background(server, body, strategy, timeout):
    result = {}

    def run():
        try:
            result["resp"] = server.post(body, strategy, timeout=timeout)
        except Exception as e:  # noqa: BLE001
            result["exc"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, result


def check_rows_saved(d, resp):
    """detail[0] of a failed save says how many rows it committed, in ctx and in words."""
    saved = d["ctx"].get("rows_saved")
    check(isinstance(saved, int) and saved > 0, "no rows_saved in %r" % resp)
    check("{:,} rows were saved before the failure".format(saved) in d["msg"],
          "msg does not say how many rows were saved: %r" % d["msg"])
    return saved


@test("pg_crash_during_naive_save_says_rows_saved", db="postgresql", timeout=240)
def t_pg_naive_crash(ctx):
    """The naive strategy commits row by row, so a database lost half-way leaves the rows
    before it saved: the answer says how many, and the table holds that many."""
    _, secrets = pg_secrets(ctx.db)
    before = ctx.db.count()
    t, result = post_in_background(ctx.server, {"ativos": ARTICLE_TICKERS,
                                                "quantidadeAtivos": 1000000}, "naive", 180)
    try:
        wait_rows(ctx.db, before + 300, writer=(t, result))
        ctx.db.crash()
        t.join(120)
        check(not t.is_alive(), "the request did not end after the database died")
        resp = result.get("resp")
        check(resp is not None, "no HTTP answer: %r" % result.get("exc"))
        check(resp.status == 503, "naive save interrupted by a crash: %r" % resp)
        d, _ = check_concealed(resp, ctx.server, secrets)
        saved = check_rows_saved(d, resp)
    finally:
        ctx.db.resume()
    ctx.server.wait_healthy(30)
    ctx.note("naive save cut by a crash: %d rows saved" % saved)
    # A commit whose acknowledgement the crash swallowed is saved but was not counted.
    added = ctx.db.count() - before
    check(added in (saved, saved + 1), "the table gained %d rows, the answer said %d"
          % (added, saved))


@test("sqlite_disk_full_naive_says_rows_saved", db="sqlite", timeout=180)
def t_sqlite_naive_full(ctx):
    """The same on SQLite, the database on a 2 MiB tmpfs: the naive save fails when the
    disk is full, and says how many rows it had committed; the table holds exactly those."""
    mnt = os.path.join(ctx.workdir, "naive-fs")
    os.mkdir(mnt)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt],
                      stderr=subprocess.DEVNULL).returncode != 0:
        ctx.note("tmpfs mount not permitted: skipped (the PostgreSQL suite covers this)")
        return
    try:
        db = SqliteDb(mnt, "full.db")
        srv = ctx.track(Bolsa(ctx.args.bolsa, db.url, ctx.workdir, "bolsa-naive-full").start())
        resp = srv.post({"ativos": ARTICLE_TICKERS, "quantidadeAtivos": 300000}, "naive",
                        timeout=120)
        check(resp.status == 500, "naive save on a full disk: %r" % resp)
        d, line = check_concealed(resp, srv, [mnt, "sqlite", "disk is full"])
        check("full" in line and "POST /api/v1/transaction" in line, "log line: %r" % line)
        saved = check_rows_saved(d, resp)
        ctx.note("naive save on a full disk: %d rows saved" % saved)
        check(db.count() == saved, "the table has %d rows, the answer said %d"
              % (db.count(), saved))
        srv.stop()
    finally:
        ctx.stop_tracked()
        subprocess.run(["umount", "-l", mnt], stderr=subprocess.DEVNULL)


@test("server_stops_cleanly", timeout=60)
def t_stop(ctx):
    """Last: SIGTERM ends the server with 0, and no sanitizer complained in any log."""
    code = ctx.server.stop()
    check(code == 0, "bolsa exited with %r on SIGTERM:\n%s" % (code, ctx.server.tail()))
    for srv in ctx.all_servers:
        m = SANITIZER_REPORT.search(srv.log_text())
        check(not m, "sanitizer report in %s:\n%s" % (srv.log_path, srv.log_text()[m.start() - 200:][:3000] if m else ""))
