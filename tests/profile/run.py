#!/usr/bin/env python3
"""Black-box tests of the ?profile=true middleware, against the real build/bolsa and a
real SQLite file: settings on and off, every format, bad parameters, the token, the
article's story (the naive save dominates, sqlite3_step under it), and hundreds of
concurrent requests, some profiled, whose profiles must never mix. Then slow-request
capture (--profile-slow-ms), the whole-process endpoint (/debug/gargalo/profile), the page
of profiles and its files, and who may use them.

    python3 tests/profile/run.py --bolsa build/bolsa
"""
import argparse
import concurrent.futures
import http.client
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ left in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import ARTICLE_TICKERS, SANITIZER_REPORT, Bolsa, path_with, run_bolsa_once  # noqa: E402

ARGS = None
EXTENSIONS = r"(html|speedscope\.json|txt|json|pb\.gz|folded)"
# profile-<ms>-<n>-<how>-<METHOD>-<route>-<status>-<duration>ms-<samples>samples.<ext>
UNIQUE_NAME = re.compile(r"^profile-(\d+)-(\d+)-(asked|slow)-([A-Z]+)-(\w+)-(\d{3})-(\d+)ms-"
                         r"(\d+)samples\." + EXTENSIONS + "$")
# ... and those of earlier versions, profile-<ms>-<n>.<ext>, still bolsa's to keep or remove
ANY_NAME = re.compile(r"^profile-(\d+)-(\d+)(-(asked|slow)-[A-Z]+-\w+-\d{3}-\d+ms-\d+samples)?\."
                      + EXTENSIONS + "$")
TRANSACTIONS = "/api/v1/transaction"


class Env:
    """A temp dir with a database and a profile dir, and a server over them."""

    def __init__(self, profile=True, args=(), env=None):
        self.dir = tempfile.mkdtemp(prefix="bolsa-profile-")
        self.profiles = os.path.join(self.dir, "profiles")
        os.mkdir(self.profiles)
        settings = {"BOLSA_PROFILE": "1" if profile else "0", "BOLSA_PROFILE_DIR": self.profiles}
        self.server = Bolsa(ARGS.bolsa, f"sqlite:{self.dir}/bolsa.db", self.dir,
                            args=args, env={**settings, **(env or {})})

    def __enter__(self):
        self.server.start()
        return self

    def __exit__(self, *exc):
        self.server.stop()
        report = SANITIZER_REPORT.search(self.server.log_text())
        shutil.rmtree(self.dir, ignore_errors=True)
        assert exc[0] or not report, "sanitizer report in the server's log"

    def post(self, n, query=None, headers=None, **extra):
        body = {"ativos": ARTICLE_TICKERS, "quantidadeAtivos": n, **extra}
        return self.server.request("POST", path_with(TRANSACTIONS, **(query or {})), body,
                                   headers=headers)

    def files(self):
        return sorted(os.listdir(self.profiles))

    def read(self, name):
        with open(os.path.join(self.profiles, name), encoding="utf-8") as f:
            return f.read()

    def row_count(self):
        resp = self.server.get(TRANSACTIONS + "/summary")
        assert resp.status == 200, resp
        return sum(item["count"] for item in resp.json()["items"])


def session_shares(session):
    """Share of the total weight per function, counting each function once per sample."""
    frames, stacks = session["frames"], session["stacks"]
    total = sum(s[1] for s in session["samples"]) or 1
    shares = {}
    for _, weight, stack, *_ in session["samples"]:  # thread and labels follow
        for name in {frames[i]["function"] for i in stacks[stack]}:
            shares[name] = shares.get(name, 0) + weight
    return {name: w / total for name, w in shares.items()}


def calls_below(session, caller, callee):
    """True when some sample has callee deeper in the stack than caller."""
    names = [f["function"] for f in session["frames"]]
    for stack in session["stacks"]:
        fs = [names[i] for i in stack]
        if caller in fs and callee in fs[fs.index(caller) + 1:]:
            return True
    return False


def profiled_post(env, n, fmt=None, **query):
    q = {"profile": "true", **({"profile_format": fmt} if fmt else {}), **query}
    resp = env.post(n, query=q, seed=7)
    assert resp.status == 201, resp
    assert resp.json()["saved"] == n, resp
    name = resp.headers.get("x-profile-file")
    assert name and UNIQUE_NAME.match(name), resp.headers
    return resp.headers, name


def test_disabled_ignores_profile():
    with Env(profile=False) as env:
        for q in ({"profile": "true"}, {"profile": "maybe", "profile_format": "pdf"}):
            resp = env.post(100, query=q)
            assert resp.status == 201 and resp.json()["saved"] == 100, resp
            assert "x-profile-file" not in resp.headers, resp.headers
        assert env.files() == [], env.files()


def test_html_by_default_and_latest_link():
    with Env() as env:
        headers, name = profiled_post(env, 20000)
        assert name.endswith(".html"), name
        page = env.read(name)
        assert page.lstrip().lower().startswith("<!doctype html"), page[:80]
        assert "bolsa_sqlite_save_chunked" in page
        latest = os.path.join(env.profiles, "profile.html")
        assert os.path.samefile(latest, os.path.join(env.profiles, name))
        assert int(headers["x-profile-samples"]) > 0
        assert "profile;dur=" in headers["server-timing"], headers["server-timing"]


def test_every_format_and_spelling():
    with Env() as env:
        for flag, fmt, ext in (("1", "speedscope", "speedscope.json"), ("yes", "text", "txt"),
                               ("TRUE", "json", "json")):
            resp = env.post(20000, query={"profile": flag, "profile_format": fmt})
            assert resp.status == 201, resp
            name = resp.headers["x-profile-file"]
            assert name.endswith("." + ext), name
            content = env.read(name)
            if fmt == "speedscope":
                profile = json.loads(content)["profiles"][0]
                assert profile["type"] == "sampled", profile["type"]
                assert len(profile["samples"]) == len(profile["weights"]) > 0, resp.headers
            elif fmt == "json":
                assert json.loads(content)["samples"], resp.headers
            else:
                assert "bolsa_post_transaction" in content and "%" in content, content
            assert os.path.exists(os.path.join(env.profiles, "profile." + ext))


def test_bad_parameters_get_422_and_change_nothing():
    cases = [("profile", "maybe"), ("profile_format", "pdf"), ("profile_format", "../../etc/x"),
             ("profile_interval", "0"), ("profile_interval", "-1"), ("profile_interval", "abc"),
             ("profile_interval", "1000"), ("profile_interval", "nan"), ("profile_interval", ""),
             ("profile_mode", "gpu"),
             # What strtod takes and a decimal is not, and values whose decoded NUL (%00)
             # would end them early as C strings: each would have been profiled.
             ("profile_interval", "0x10"), ("profile_interval", "1e1"),
             ("profile_interval", "inf"), ("profile_interval", " 16"),
             ("profile_interval", "16\x00"), ("profile_interval", "0x1p4"),
             ("profile", "true\x00"), ("profile_format", "html\x00x"),
             ("profile_mode", "cpu\x00")]
    with Env() as env:
        before = env.row_count()
        for param, value in cases:
            query = {"profile": "true", param: value} if param != "profile" else {param: value}
            resp = env.post(1000, query=query)
            assert resp.status == 422, (param, value, resp)
            detail = resp.json()["detail"][0]
            assert detail["loc"] == ["query", param], (param, value, resp)
            assert detail["msg"] and detail["type"], resp
        assert env.row_count() == before
        assert env.files() == [], env.files()


def test_interval_and_cpu_mode():
    with Env() as env:
        _, name = profiled_post(env, 20000, "json", profile_interval="0.2", profile_mode="cpu")
        session = json.loads(env.read(name))
        assert session["clock"] == "cpu", session["clock"]
        assert session["samples"]
        _, name = profiled_post(env, 20000, "json", profile_mode="wall")
        assert json.loads(env.read(name))["clock"] == "wall"


def test_token_is_required_when_configured():
    with Env(args=("--profile-token", "s3cret")) as env:
        before = env.row_count()
        for headers in ({}, {"X-Profile-Token": "wrong"}, {"X-Profile-Token": "s3cre"}):
            resp = env.post(100, query={"profile": "1"}, headers=headers)
            assert resp.status == 403, (headers, resp)
            assert resp.json()["detail"][0]["loc"] == ["header", "X-Profile-Token"], resp
        assert env.row_count() == before and env.files() == []
        resp = env.post(100, query={"profile": "1"}, headers={"X-Profile-Token": "s3cret"})
        assert resp.status == 201 and resp.headers.get("x-profile-file"), resp


def test_other_sites_cannot_profile():
    """An <img src=".../health?profile=true"> on another site's page writes nothing: the
    browser says cross-site (an image request carries no Origin), or names the page."""
    with Env() as env:
        before = env.row_count()
        for headers, loc in (({"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Dest": "image"},
                              "sec-fetch-site"),
                             ({"Sec-Fetch-Site": "same-site"}, "sec-fetch-site"),
                             ({"Origin": "http://evil.example"}, "origin"),
                             ({"Origin": "null"}, "origin")):
            resp = env.server.get("/health?profile=true", headers=headers)
            assert resp.status == 403, (headers, resp)
            assert resp.json()["detail"][0]["loc"] == ["header", loc], resp
            assert resp.json()["detail"][0]["type"] == "cross_origin", resp
            post = env.post(100, query={"profile": "1"}, headers=headers)
            assert post.status == 403, (headers, post)
        assert env.row_count() == before and env.files() == [], env.files()
        # The server's own pages and clients that are not browsers may.
        port = env.server.port
        for headers in ({}, {"Sec-Fetch-Site": "same-origin", "Origin": f"http://127.0.0.1:{port}"},
                        {"Sec-Fetch-Site": "none"}):
            resp = env.server.get("/health?profile=true", headers=headers)
            assert resp.status == 200 and resp.headers.get("x-profile-file"), (headers, resp)
        assert len(env.files()) == 4, env.files()  # three profiles and the profile.html link


def test_naive_story_save_dominates():
    with Env() as env:
        _, name = profiled_post(env, 3000, "json", save_strategy="naive")
        session = json.loads(env.read(name))
        shares = session_shares(session)
        naive = shares.get("bolsa_sqlite_save_naive", 0)
        print(f"      naive save share {naive:.1%} of {len(session['samples'])} samples")
        assert naive > 0.6, sorted(shares.items(), key=lambda kv: -kv[1])[:8]
        assert calls_below(session, "bolsa_sqlite_save_naive", "sqlite3_step")


def test_concurrent_profiles_never_mix():
    """300 requests from 24 clients: profiled POSTs and summaries, and unprofiled ones."""
    with Env() as env:
        def one(i):
            kind = i % 4
            profiled = {"profile": "1", "profile_format": "json"}
            if kind == 0:
                return "post", env.post(200, query=profiled)
            if kind == 1:
                return "summary", env.server.get(path_with(TRANSACTIONS + "/summary", **profiled))
            if kind == 2:
                return "plain-post", env.post(200)
            return "plain-get", env.server.get(path_with(TRANSACTIONS, limit=5))

        with concurrent.futures.ThreadPoolExecutor(24) as pool:
            results = list(pool.map(one, range(300)))
        names, with_own_handler = set(), 0
        for kind, resp in results:
            assert resp.status in (200, 201), (kind, resp)
            name = resp.headers.get("x-profile-file")
            assert bool(name) == (kind in ("post", "summary")), (kind, resp.headers)
            if not name:
                continue
            assert name not in names, name
            names.add(name)
            functions = {f["function"] for f in json.loads(env.read(name))["frames"]}
            mine, other = (("bolsa_post_transaction", "bolsa_summary") if kind == "post"
                           else ("bolsa_summary", "bolsa_post_transaction"))
            assert other not in functions, (kind, name)
            with_own_handler += mine in functions
        assert len(names) == 150
        # A very short request may end before its first sample; most must show their handler.
        assert with_own_handler >= 0.8 * len(names), with_own_handler
        assert env.row_count() == 150 * 200
        assert env.server.get("/health").status == 200


def server_timing(resp, phase):
    m = re.search(r"(?:^|,\s*)%s;dur=([\d.]+)" % phase, resp.headers.get("server-timing", ""))
    return float(m.group(1)) if m else None


def test_concurrent_profiled_writers_never_busy():
    """30 profiled POSTs of 20,000 rows at once, sampled every 50 us with signals
    (GARGALO_MECHANISM=signal): every sample cuts short a writer's sleep while it waits
    for another's lock. Each must still wait its turn, up to SQLite's 30 s budget: no 503
    from a shorter wait. (SQLite's own busy timeout counted the cut sleeps whole and gave
    up after milliseconds: "database is locked" for 2-8 of 150 such requests at the
    default interval, 43-57 at 0.05 ms.) Only a build slowed down many times (TSan) may
    queue past the budget; its 503s must then show a whole budget spent waiting."""
    with Env(args=("--threads", "8"), env={"GARGALO_MECHANISM": "signal"}) as env:
        before = env.row_count()
        query = {"profile": "1", "profile_interval": "0.05", "profile_format": "json"}

        def one(i):
            return env.post(20000, query=query)

        start = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(30) as pool:
            results = list(pool.map(one, range(30)))
        took = time.monotonic() - start
        busy = [r for r in results if r.status == 503]
        print(f"      30 profiled writers in {took:.1f} s: {len(results) - len(busy)} saved, "
              f"{len(busy)} answered 503 (db phases {[server_timing(r, 'db') for r in busy]} ms)")
        assert all(server_timing(r, "db") >= 29900 for r in busy), busy[:2]
        assert all(r.status in (201, 503) for r in results), [r for r in results if r.status != 201]
        saved = [r for r in results if r.status == 201]
        assert all(r.headers.get("x-profile-file") for r in saved)
        assert env.row_count() == before + sum(r.json()["saved"] for r in saved)
        session = json.loads(env.read(saved[0].headers["x-profile-file"]))
        assert session["mechanism"] == "signal", session["mechanism"]


def test_unusable_profile_dir_is_refused_at_start():
    """A profile directory that cannot be made (its parent is missing), that is a file, or
    that every user may write stops bolsa at start, naming it; with profiling off the same
    setting is not looked at."""
    tmp = tempfile.mkdtemp(prefix="bolsa-profile-dir-")
    try:
        a_file = os.path.join(tmp, "a-file")
        open(a_file, "w").close()
        shared = os.path.join(tmp, "shared")
        os.mkdir(shared)
        os.chmod(shared, 0o1777)  # like /tmp: the sticky bit does not make it private
        db = ["--port", "0", "--database-url", f"sqlite:{tmp}/bolsa.db"]
        for bad, words in ((os.path.join(tmp, "missing", "profiles"), "nor can it be made"),
                           (a_file, "not a writable directory"),
                           (shared, "writable by every user")):
            code, out = run_bolsa_once(ARGS.bolsa, db + ["--profile", "--profile-dir", bad])
            assert code == 1, (bad, code, out)
            assert "BOLSA_PROFILE_DIR" in out and bad in out and words in out, out
            assert not os.path.exists(os.path.join(tmp, "bolsa.db")), "started before refusing"
        server = Bolsa(ARGS.bolsa, f"sqlite:{tmp}/bolsa.db", tmp,
                       env={"BOLSA_PROFILE": "0", "BOLSA_PROFILE_DIR": a_file}).start()
        server.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_profiles_are_private():
    """A missing profile directory is created 0700; every profile, and the profile.<ext>
    link to it, is 0600 whatever the umask, since profiles show the service's insides."""
    tmp = tempfile.mkdtemp(prefix="bolsa-profile-private-")
    old_umask = os.umask(0o002)  # bolsa inherits it: a lax umask must not widen the modes
    try:
        profiles = os.path.join(tmp, "profiles")
        server = Bolsa(ARGS.bolsa, f"sqlite:{tmp}/bolsa.db", tmp,
                       env={"BOLSA_PROFILE": "1", "BOLSA_PROFILE_DIR": profiles}).start()
        try:
            assert os.stat(profiles).st_mode & 0o7777 == 0o700, oct(os.stat(profiles).st_mode)
            for fmt in ("html", "text"):
                resp = server.request("POST", path_with(TRANSACTIONS, profile="1", profile_format=fmt),
                                      {"ativos": ARTICLE_TICKERS, "quantidadeAtivos": 2000})
                assert resp.status == 201, resp
            names = os.listdir(profiles)
            assert sorted(n for n in names if n.startswith("profile.")) == ["profile.html",
                                                                            "profile.txt"], names
            assert len(names) == 4, names  # no temporary file left behind
            for name in names:
                mode = os.lstat(os.path.join(profiles, name)).st_mode & 0o7777
                assert mode == 0o600, (name, oct(mode))
        finally:
            server.stop()
    finally:
        os.umask(old_umask)
        shutil.rmtree(tmp, ignore_errors=True)


def profile_files(env):
    """bolsa's own profile files in the profile directory, oldest first."""
    def key(name):
        m = ANY_NAME.match(name)
        return int(m.group(1)), int(m.group(2))
    return sorted((n for n in env.files() if ANY_NAME.match(n)), key=key)


def test_profiles_are_kept_within_a_count():
    """--profile-keep 5: an earlier run's 7 profiles are cut to the newest 5 at start-up;
    after 9 more profiles only the 5 newest are left; a profile.<ext> link goes with the
    file it points to; files that are not bolsa's profiles are never touched."""
    env = Env(args=("--profile-keep", "5"))
    foreign = ["notes.txt", "profile-old.html", "profile-1-x.txt", "my-profile-1-1.txt",
               "profile-1-1.pdf", "profile-1-1.txt.bak"]
    earlier = ["profile-1000-%d.%s" % (i, "txt" if i % 2 else "json") for i in range(1, 8)]
    for name in foreign + earlier:
        with open(os.path.join(env.profiles, name), "w") as f:
            f.write("kept" if name in foreign else "old")
    with env:
        assert profile_files(env) == earlier[2:], env.files()
        _, html = profiled_post(env, 1000, "html")
        names = [profiled_post(env, 1000, "text")[1] for _ in range(8)]
        kept = profile_files(env)
        assert kept == names[-5:], (kept, names)
        assert not os.path.exists(os.path.join(env.profiles, html))
        # profile.html pointed at the removed html profile: it went too; profile.txt stays.
        assert not os.path.exists(os.path.join(env.profiles, "profile.html")), env.files()
        assert os.path.samefile(os.path.join(env.profiles, "profile.txt"),
                                os.path.join(env.profiles, names[-1]))
        for name in foreign:
            assert env.read(name) == "kept", name


def test_profiles_are_kept_within_a_size():
    """--profile-keep-mb 1: the profiles left take at most 1 MiB, the newest kept; past it,
    the oldest go down to nine tenths of it."""
    with Env(args=("--profile-keep-mb", "1")) as env:
        names = [profiled_post(env, 20000, "html")[1] for _ in range(30)]
        sizes = {n: os.path.getsize(os.path.join(env.profiles, n)) for n in profile_files(env)}
        total, largest = sum(sizes.values()), max(sizes.values())
        print(f"      30 html profiles of ~{largest // 1024} KiB: {len(sizes)} kept, "
              f"{total // 1024} KiB")
        assert total <= 1 << 20, sizes
        assert list(sizes) == names[-len(sizes):], (list(sizes), names)
        assert len(sizes) < 30, "nothing had to go"
        assert total > 0.9 * (1 << 20) - largest, "more went than had to: %r" % sizes


def test_default_limit_holds_under_concurrent_profiles():
    """The default BOLSA_PROFILE_KEEP, 200: 240 profiled requests from 8 clients at once
    leave at most 200 profiles (2,000 profiled requests used to leave 2,001 files), no
    temporary file, and profile.txt pointing at one of them."""
    with Env() as env:
        def one(i):
            return env.post(100, query={"profile": "1", "profile_format": "text"})

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            results = list(pool.map(one, range(240)))
        assert all(r.status == 201 and r.headers.get("x-profile-file") for r in results)
        kept = profile_files(env)
        assert 180 <= len(kept) <= 200, len(kept)
        assert sorted(env.files()) == sorted(kept + ["profile.txt"]), set(env.files()) - set(kept)
        latest = os.path.join(env.profiles, "profile.txt")
        assert any(os.path.samefile(latest, os.path.join(env.profiles, n)) for n in kept)


def test_bad_retention_settings_are_refused():
    tmp = tempfile.mkdtemp(prefix="bolsa-profile-keep-")
    try:
        db = ["--port", "0", "--database-url", f"sqlite:{tmp}/bolsa.db", "--profile"]
        for args, env, word in ((["--profile-keep", "0"], {}, "--profile-keep"),
                                (["--profile-keep", "many"], {}, "--profile-keep"),
                                (["--profile-keep-mb", "-1"], {}, "--profile-keep-mb"),
                                ([], {"BOLSA_PROFILE_KEEP": "2.5"}, "BOLSA_PROFILE_KEEP"),
                                ([], {"BOLSA_PROFILE_KEEP_MB": "0"}, "BOLSA_PROFILE_KEEP_MB")):
            code, out = run_bolsa_once(ARGS.bolsa, db + args, env=env)
            assert code == 2 and word in out, (args, env, code, out)
        assert not os.path.exists(os.path.join(tmp, "bolsa.db"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --- names that tell the request -----------------------------------------------------------


def name_parts(name):
    """What a profile's name says: how, method, route, status, duration ms, samples, ext."""
    m = UNIQUE_NAME.match(name)
    assert m, name
    return {"how": m.group(3), "method": m.group(4), "route": m.group(5),
            "status": int(m.group(6)), "ms": int(m.group(7)), "samples": int(m.group(8)),
            "ext": m.group(9)}


def test_names_tell_the_request():
    """An asked profile's name says asked, the method, the route pattern (not the path as
    sent, nor its query), the status, the duration and the samples the header gives."""
    with Env() as env:
        headers, name = profiled_post(env, 20000, "text", seed=3)
        parts = name_parts(name)
        assert parts == {"how": "asked", "method": "POST", "route": "api_v1_transaction",
                         "status": 201, "ms": parts["ms"], "samples": int(headers["x-profile-samples"]),
                         "ext": "txt"}, parts
        resp = env.server.get(path_with(TRANSACTIONS + "/summary", profile="1", profile_format="json"))
        parts = name_parts(resp.headers["x-profile-file"])
        assert (parts["method"], parts["route"], parts["status"]) == ("GET", "api_v1_transaction_summary",
                                                                      200), parts
        resp = env.server.get(path_with("/nowhere", profile="1", profile_format="pprof"))
        assert resp.status == 404, resp
        parts = name_parts(resp.headers["x-profile-file"])
        assert (parts["route"], parts["status"], parts["ext"]) == ("unmatched", 404, "pb.gz"), parts


# --- slow-request capture ------------------------------------------------------------------

SLOW = ("--profile-slow-ms", "100", "--profile-slow-format", "json")


def slow_files(env):
    return [n for n in profile_files(env) if UNIQUE_NAME.match(n) and name_parts(n)["how"] == "slow"]


def sample_labels(session):
    """The label sets the samples carry, as dicts, with how many samples carry each."""
    sets = [dict(ls) for ls in session["labelsets"]]
    out = {}
    for sample in session["samples"]:
        key = tuple(sorted(sets[sample[4]].items())) if sample[4] >= 0 else ()
        out[key] = out.get(key, 0) + 1
    return out


def test_slow_capture_keeps_slow_requests_only():
    """--profile-slow-ms 100: the article's naive request of 20,000 rows leaves a profile
    without asking, named after it, its samples labelled with its route and strategy; a
    100-row POST and a hundred health checks leave none; the answer names no file."""
    with Env(args=SLOW) as env:
        before = env.row_count()
        resp = env.post(20000, query={"save_strategy": "naive"}, seed=5)
        assert resp.status == 201 and "x-profile-file" not in resp.headers, resp.headers
        names = slow_files(env)
        assert len(names) == 1, env.files()
        parts = name_parts(names[0])
        assert (parts["method"], parts["route"], parts["status"], parts["ext"]) == (
            "POST", "api_v1_transaction", 201, "json"), parts
        assert parts["ms"] >= 100 and parts["samples"] > 0, parts
        session = json.loads(env.read(names[0]))
        assert len(session["samples"]) == parts["samples"], (len(session["samples"]), parts)
        labels = sample_labels(session)
        want = (("method", "POST"), ("route", TRANSACTIONS), ("strategy", "naive"))
        print(f"      {names[0]}: {labels.get(want, 0)} of {parts['samples']} samples labelled")
        assert labels.get(want, 0) >= 0.8 * parts["samples"], labels
        # Under TSan a signal is handled late, in its runtime, and its samples come out
        # without the request's stack (docs/sampling.md): where they land says nothing.
        if any(session["stacks"][sample[2]] for sample in session["samples"]):
            assert session_shares(session).get("bolsa_sqlite_save_naive", 0) > 0.6
        for _ in range(100):
            assert env.server.get("/health").status == 200
        assert env.post(100).status == 201
        assert slow_files(env) == names, env.files()
        assert env.row_count() == before + 20100
        assert "slow request profiled: POST /api/v1/transaction 201: " + names[0] in \
            env.server.log_text()


def test_slow_capture_asked_is_not_twice():
    """With capture on, a slow request that asks for its profile gets it, once, as asked."""
    with Env(args=SLOW) as env:
        headers, name = profiled_post(env, 20000, "json", save_strategy="naive")
        assert name_parts(name)["how"] == "asked"
        assert [n for n in profile_files(env)] == [name], env.files()
        resp = env.post(20000, query={"save_strategy": "naive"})  # the thread captures again
        assert resp.status == 201 and len(slow_files(env)) == 1, env.files()


def test_slow_capture_concurrent_profiles_never_mix():
    """120 requests from 16 clients under capture: naive POSTs (slow), chunked POSTs of
    40,000 rows (slow too, some), summaries, health checks and small POSTs. Each slow
    profile holds one request: one thread, and labels of one route and one strategy, those
    its name says; no crash, no sanitizer report (Env checks the log). Each client keeps
    its connection: thousands of connections opened and closed on loopback end up reusing
    ports still held by connections the server has not closed yet, which then fail. No
    request deadline: a worker busy with a long save does not read its other connections,
    and under TSan their next request waited past 30 s to be read, and was cut."""
    with Env(args=SLOW + ("--request-timeout", "0")) as env:
        local = threading.local()

        def one(i):
            if not hasattr(local, "conn"):
                local.conn = http.client.HTTPConnection("127.0.0.1", env.server.port, timeout=300)
            kind, body = i % 5, None
            path = {0: path_with(TRANSACTIONS, save_strategy="naive"), 1: TRANSACTIONS,
                    2: TRANSACTIONS + "/summary", 3: "/health", 4: TRANSACTIONS}[kind]
            if kind in (0, 1, 4):
                body = json.dumps({"ativos": ARTICLE_TICKERS,
                                   "quantidadeAtivos": {0: 2000, 1: 40000, 4: 50}[kind]})
            local.conn.request("POST" if body else "GET", path, body,
                               {"Content-Type": "application/json"} if body else {})
            resp = local.conn.getresponse()
            resp.read()
            return resp.status

        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            results = list(pool.map(one, range(120)))
        assert all(r in (200, 201) for r in results), results
        names = slow_files(env)
        strategies = {}
        for name in names:
            parts, session = name_parts(name), json.loads(env.read(name))
            assert len(session["threads"]) == 1, (name, session["threads"])
            routes = {dict(k).get("route") for k in sample_labels(session) if k}
            kinds = {dict(k).get("strategy") for k in sample_labels(session) if k} - {None}
            assert routes <= {"/" + parts["route"].replace("_", "/")}, (name, routes)
            assert len(kinds) <= 1, (name, kinds)
            for k in kinds:
                strategies[k] = strategies.get(k, 0) + 1
        print(f"      {len(names)} slow profiles of 120 requests: {strategies}")
        assert names and set(strategies) <= {"naive", "chunked"}, strategies
        assert env.server.get("/health").status == 200


def test_bad_capture_settings_are_refused():
    tmp = tempfile.mkdtemp(prefix="bolsa-profile-slow-")
    try:
        db = ["--port", "0", "--database-url", f"sqlite:{tmp}/bolsa.db", "--profile"]
        for args, env, word in ((["--profile-slow-ms", "-1"], {}, "--profile-slow-ms"),
                                (["--profile-slow-ms", "0.5"], {}, "--profile-slow-ms"),
                                (["--profile-slow-interval-us", "10"], {}, "--profile-slow-interval-us"),
                                (["--profile-slow-format", "pdf"], {}, "--profile-slow-format"),
                                ([], {"BOLSA_PROFILE_SLOW_MS": "soon"}, "BOLSA_PROFILE_SLOW_MS"),
                                ([], {"BOLSA_PROFILE_SLOW_FORMAT": "HTML"}, "BOLSA_PROFILE_SLOW_FORMAT")):
            code, out = run_bolsa_once(ARGS.bolsa, db + args, env=env)
            assert code == 2 and word in out, (args, env, code, out)
        assert not os.path.exists(os.path.join(tmp, "bolsa.db"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_capture_needs_profiling():
    """--profile-slow-ms without --profile 1 keeps nothing: the directory is not even looked at."""
    with Env(profile=False, args=SLOW) as env:
        assert env.post(20000, query={"save_strategy": "naive"}).status == 201
        assert env.files() == [], env.files()


# --- the whole process over HTTP -----------------------------------------------------------

WHOLE = "/debug/gargalo/profile"


class Load:
    """Clients keeping the server busy (small POSTs, lists, health checks) until stopped,
    each on one kept-alive connection, as a browser or a proxy would."""

    def __init__(self, env, clients=4):
        self.env, self.stop, self.count, self.bad = env, threading.Event(), 0, []
        self.threads = [threading.Thread(target=self.run, args=(i,)) for i in range(clients)]

    def one(self, conn, kind):
        if kind == 0:
            body = json.dumps({"ativos": ARTICLE_TICKERS, "quantidadeAtivos": 500})
            conn.request("POST", TRANSACTIONS, body, {"Content-Type": "application/json"})
        else:
            conn.request("GET", path_with(TRANSACTIONS, limit=50) if kind == 1 else "/health")
        resp = conn.getresponse()
        resp.read()
        return resp.status

    def run(self, i):
        conn = http.client.HTTPConnection("127.0.0.1", self.env.server.port, timeout=120)
        while not self.stop.is_set():
            status = self.one(conn, self.count % 3)
            self.count += 1
            if status not in (200, 201):
                self.bad.append(status)
        conn.close()

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join()
        assert exc[0] or not self.bad, self.bad[:3]


def test_whole_process_profile_under_load():
    """Two seconds of the whole server under load: a JSON session of several threads, the
    workers' samples labelled with their routes; pprof by default, gzip, named to download.
    A second call meanwhile is 409; a profile asked meanwhile, and slow capture, still work.
    On the CPU clock: on the wall clock every sample blocked on a socket is described at
    stop from /proc/net/tcp, which the test suites fill with thousands of closed
    connections (seconds per profile); the wall clock is checked without load below."""
    with Env(args=SLOW) as env, Load(env):
        first = {}
        t = threading.Thread(target=lambda: first.update(
            r=env.server.get(path_with(WHOLE, seconds=2, format="json", clock="cpu"))))
        t.start()
        time.sleep(0.5)
        busy = env.server.get(path_with(WHOLE, seconds=1))
        _, asked = profiled_post(env, 2000, "json")
        slow = env.post(10000, query={"save_strategy": "naive"})
        t.join()
        resp = first["r"]
        assert resp.status == 200, resp
        assert resp.headers["content-type"] == "application/json", resp.headers
        assert re.match(r'^attachment; filename="gargalo-\d{8}T\d{6}Z\.json"$',
                        resp.headers["content-disposition"]), resp.headers
        session = resp.json()
        routes = {}
        for k, n in sample_labels(session).items():
            route = dict(k).get("route")
            routes[route] = routes.get(route, 0) + n
        print(f"      2 s of the whole server: {len(session['samples'])} samples, "
              f"{len(session['threads'])} threads, by route {routes}")
        assert session["scope"] == "process" and len(session["threads"]) >= 4, session["threads"]
        assert routes.get(TRANSACTIONS, 0) > 0, routes
        assert busy.status == 409 and busy.json()["detail"][0]["type"] == "profile_in_progress", busy
        assert name_parts(asked)["how"] == "asked"
        assert slow.status == 201 and len(slow_files(env)) >= 1, env.files()
        pprof = env.server.get(path_with(WHOLE, seconds=1, clock="cpu"))
        assert pprof.status == 200 and pprof.body[:2] == b"\x1f\x8b", pprof
        assert pprof.headers["content-type"] == "application/octet-stream", pprof.headers
        assert pprof.headers["content-disposition"].endswith('.pb.gz"'), pprof.headers


def test_whole_process_bad_parameters():
    cases = [("seconds", "0", "greater_than"), ("seconds", "61", "less_than_equal"),
             ("seconds", "abc", "int_type"), ("seconds", "1.5", "int_type"),
             ("seconds", "5\x00", "int_type"), ("format", "pdf", "enum"),
             ("format", "json\x00", "enum"), ("clock", "gpu", "enum"), ("clock", "", "enum")]
    with Env() as env:
        for param, value, kind in cases:
            resp = env.server.get(path_with(WHOLE, **{param: value}))
            assert resp.status == 422, (param, value, resp)
            detail = resp.json()["detail"][0]
            assert detail["loc"] == ["query", param] and detail["type"] == kind, (param, value, resp)
        resp = env.server.request("POST", WHOLE, {})
        assert resp.status == 405 and resp.headers.get("allow") == "GET", resp
        resp = env.server.get(path_with(WHOLE, seconds=1, format="text"))  # the wall clock
        assert resp.status == 200 and resp.headers["content-type"] == "text/plain; charset=utf-8"
        text = resp.body.decode()
        assert "Clock wall" in text and "MHD-worker" in text, text[:400]


def test_whole_process_without_perf_events():
    """With signals only (GARGALO_MECHANISM=signal stands for a kernel that refuses perf
    events), there is no whole-process session: 503, saying why; per-request profiles and
    capture still work."""
    with Env(args=SLOW, env={"GARGALO_MECHANISM": "signal"}) as env:
        resp = env.server.get(path_with(WHOLE, seconds=1))
        assert resp.status == 503, resp
        detail = resp.json()["detail"][0]
        assert detail["type"] == "profiling_unavailable" and "perf events" in detail["msg"], detail
        profiled_post(env, 2000, "json")
        assert env.post(20000, query={"save_strategy": "naive"}).status == 201
        assert len(slow_files(env)) == 1, env.files()


# --- who may use the debug endpoints -----------------------------------------------------------

DEBUG_PATHS = ("/debug/gargalo/", WHOLE + "?seconds=1", "/debug/gargalo/profiles/"
               "profile-1-1-asked-GET-health-200-1ms-1samples.txt")


def test_debug_endpoints_follow_profiling_rules():
    """Disabled: 404, as any unknown path. A token set: needed, exactly. Another site's page
    (Sec-Fetch-Site, Origin): 403, even on loopback without a token."""
    with Env(profile=False) as env:
        for path in DEBUG_PATHS:
            assert env.server.get(path).status == 404, path
    with Env(args=("--profile-token", "s3cret")) as env:
        for path in DEBUG_PATHS:
            for headers in ({}, {"X-Profile-Token": "wrong"}):
                resp = env.server.get(path, headers=headers)
                assert resp.status == 403, (path, headers, resp)
                assert resp.json()["detail"][0]["loc"] == ["header", "X-Profile-Token"], resp
        resp = env.server.get("/debug/gargalo/", headers={"X-Profile-Token": "s3cret"})
        assert resp.status == 200, resp
    with Env() as env:
        for path in DEBUG_PATHS:
            for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
                            {"Origin": "http://evil.example"}):
                resp = env.server.get(path, headers=headers)
                assert resp.status == 403, (path, headers, resp)
                assert resp.json()["detail"][0]["type"] == "cross_origin", resp
        assert env.server.get("/debug/gargalo/nothing").status == 404
        assert env.server.get("/debug/gargalo/", headers={"Sec-Fetch-Site": "same-origin"}).status == 200


# --- the page of profiles and its files ----------------------------------------------------------

def test_page_lists_profiles_newest_first():
    """The page: every profile of the directory, newest first, with what its name says and
    links that open or download it; a strict policy (no script, its style by nonce)."""
    with Env(args=SLOW) as env:
        _, asked = profiled_post(env, 2000, "html")
        env.post(20000, query={"save_strategy": "naive"})
        [slow] = slow_files(env)
        resp = env.server.get("/debug/gargalo/")
        assert resp.status == 200 and resp.headers["content-type"] == "text/html; charset=utf-8", resp
        csp = resp.headers["content-security-policy"]
        nonce = re.search(r"style-src 'nonce-([0-9a-f]{32})'", csp).group(1)
        assert csp.startswith("default-src 'none'") and "script" not in csp, csp
        page = resp.body.decode()
        assert f'<style nonce="{nonce}">' in page and "<script" not in page.lower(), page[:300]
        rows = re.findall(r'<a href="/debug/gargalo/profiles/([^"?]+)">open</a>', page)
        assert rows == [slow, asked], rows
        assert f'href="/debug/gargalo/profiles/{slow}?download=1" download' in page
        assert "<code>POST /api/v1/transaction</code>" in page and 'class="how slow"' in page
        again = env.server.get("/debug/gargalo/").headers["content-security-policy"]
        assert again != csp, "the nonce must change with every answer"


def test_profile_files_are_served_safely():
    """A profile opens with its format's type (an HTML one with its own sandboxed policy),
    or downloads; no other file of the directory, no link, nothing outside, ever."""
    with Env() as env:
        _, html = profiled_post(env, 2000, "html")
        _, pprof = profiled_post(env, 2000, "pprof")
        base = "/debug/gargalo/profiles/"
        resp = env.server.get(base + html)
        assert resp.status == 200 and resp.body.decode() == env.read(html), resp
        assert resp.headers["content-type"] == "text/html; charset=utf-8", resp.headers
        csp = resp.headers["content-security-policy"]
        assert csp.startswith("sandbox allow-scripts; default-src 'none'"), csp
        assert resp.headers["content-disposition"] == f'inline; filename="{html}"', resp.headers
        assert resp.headers["x-content-type-options"] == "nosniff"
        resp = env.server.get(base + pprof + "?download=1")
        assert resp.status == 200 and resp.body[:2] == b"\x1f\x8b", resp
        assert resp.headers["content-type"] == "application/octet-stream", resp.headers
        assert resp.headers["content-disposition"] == f'attachment; filename="{pprof}"'
        assert env.server.get(base + html + "?download=maybe").status == 422
        with open(os.path.join(env.profiles, "notes.txt"), "w") as f:
            f.write("not a profile")
        fake = "profile-1-1-asked-GET-health-200-1ms-1samples.txt"
        os.symlink(os.path.join(env.dir, "bolsa.db"), os.path.join(env.profiles, fake))
        for bad in ("notes.txt", "profile.html", fake, "..%2Fbolsa.db", "%2e%2e/bolsa.db",
                    html + "%00.txt", html + ".bak", "profile-1-1-asked-GET-health-200-1ms-1samples.txt%2F",
                    "profile-9-9.html", "", html.replace("asked", "other")):
            resp = env.server.get(base + bad)
            assert resp.status == 404, (bad, resp)
        assert env.server.get("/debug/gargalo/profiles/../bolsa.db").status == 404


TESTS = (test_disabled_ignores_profile, test_unusable_profile_dir_is_refused_at_start, test_html_by_default_and_latest_link,
         test_every_format_and_spelling, test_bad_parameters_get_422_and_change_nothing,
         test_interval_and_cpu_mode, test_token_is_required_when_configured,
         test_other_sites_cannot_profile,
         test_naive_story_save_dominates, test_concurrent_profiles_never_mix,
         test_concurrent_profiled_writers_never_busy, test_profiles_are_private,
         test_profiles_are_kept_within_a_count, test_profiles_are_kept_within_a_size,
         test_default_limit_holds_under_concurrent_profiles,
         test_bad_retention_settings_are_refused, test_names_tell_the_request,
         test_slow_capture_keeps_slow_requests_only, test_slow_capture_asked_is_not_twice,
         test_slow_capture_concurrent_profiles_never_mix, test_bad_capture_settings_are_refused,
         test_capture_needs_profiling, test_whole_process_profile_under_load,
         test_whole_process_bad_parameters, test_whole_process_without_perf_events,
         test_debug_endpoints_follow_profiling_rules, test_page_lists_profiles_newest_first,
         test_profile_files_are_served_safely)


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--bolsa", default="build/bolsa")
    ARGS = parser.parse_args()
    failed = []
    for test in TESTS:
        start = time.monotonic()
        try:
            test()
            print(f"ok    {test.__name__} ({time.monotonic() - start:.2f} s)", flush=True)
        except Exception as e:  # a failed check or a crash: both fail the case
            failed.append(test.__name__)
            print(f"FAIL  {test.__name__}: {type(e).__name__}: {e}", flush=True)
    print(f"profile: {len(TESTS) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
