#!/usr/bin/env python3
"""Black-box tests of the ?profile=true middleware, against the real build/bolsa and a
real SQLite file: settings on and off, every format, bad parameters, the token, the
article's story (the naive save dominates, sqlite3_step under it), and hundreds of
concurrent requests, some profiled, whose profiles must never mix.

    python3 tests/profile/run.py --bolsa build/bolsa
"""
import argparse
import concurrent.futures
import json
import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from bolsatest import Results, Server  # noqa: E402

ARGS = None
UNIQUE_NAME = re.compile(r"^profile-\d+-\d+\.(html|speedscope\.json|txt|json)$")


class Env:
    """A temp dir with a database and a profile dir, and a server over them."""

    def __init__(self, profile=True, args=(), env=None):
        self.dir = tempfile.mkdtemp(prefix="bolsa-profile-")
        self.profiles = os.path.join(self.dir, "profiles")
        os.mkdir(self.profiles)
        settings = {"BOLSA_PROFILE": "1" if profile else "0", "BOLSA_PROFILE_DIR": self.profiles}
        self.server = Server(ARGS.bolsa, f"sqlite:{self.dir}/bolsa.db", env={**settings, **(env or {})},
                             args=args, log=os.path.join(self.dir, "server.log"))

    def __enter__(self):
        self.server.__enter__()
        return self

    def __exit__(self, *exc):
        self.server.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def files(self):
        return sorted(os.listdir(self.profiles))

    def read(self, name):
        with open(os.path.join(self.profiles, name), encoding="utf-8") as f:
            return f.read()

    def row_count(self):
        status, _, body = self.server.request("GET", "/api/v1/transaction/summary")
        assert status == 200, body
        return sum(item["count"] for item in body["items"])


def session_shares(session):
    """Share of the total weight per function, counting each function once per sample."""
    frames, stacks = session["frames"], session["stacks"]
    total = sum(s[1] for s in session["samples"]) or 1
    shares = {}
    for _, weight, stack in session["samples"]:
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
    status, headers, body = env.server.post_transactions(n, query=q, seed=7)
    assert status == 201, (status, body)
    assert body["saved"] == n, body
    name = headers.get("x-profile-file")
    assert name and UNIQUE_NAME.match(name), headers
    return headers, name


def test_disabled_ignores_profile():
    with Env(profile=False) as env:
        for q in ({"profile": "true"}, {"profile": "maybe", "profile_format": "pdf"}):
            status, headers, body = env.server.post_transactions(100, query=q)
            assert status == 201 and body["saved"] == 100, (status, body)
            assert "x-profile-file" not in headers, headers
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
            status, headers, body = env.server.post_transactions(
                20000, query={"profile": flag, "profile_format": fmt})
            assert status == 201, (status, body)
            name = headers["x-profile-file"]
            assert name.endswith("." + ext), name
            content = env.read(name)
            if fmt == "speedscope":
                doc = json.loads(content)
                profile = doc["profiles"][0]
                assert profile["type"] == "sampled", profile["type"]
                assert len(profile["samples"]) == len(profile["weights"]) > 0, headers
            elif fmt == "json":
                assert json.loads(content)["samples"], headers
            else:
                assert "bolsa_post_transaction" in content and "%" in content, content
            assert os.path.exists(os.path.join(env.profiles, "profile." + ext))


def test_bad_parameters_get_422_and_change_nothing():
    cases = [("profile", "maybe"), ("profile_format", "pdf"), ("profile_format", "../../etc/x"),
             ("profile_interval", "0"), ("profile_interval", "-1"), ("profile_interval", "abc"),
             ("profile_interval", "1000"), ("profile_interval", "nan"), ("profile_interval", ""),
             ("profile_mode", "gpu")]
    with Env() as env:
        before = env.row_count()
        for param, value in cases:
            query = {"profile": "true", param: value} if param != "profile" else {param: value}
            status, _, body = env.server.post_transactions(1000, query=query)
            assert status == 422, (param, value, status, body)
            detail = body["detail"][0]
            assert detail["loc"] == ["query", param], (param, value, body)
            assert detail["msg"] and detail["type"], body
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
            status, _, body = env.server.post_transactions(100, query={"profile": "1"},
                                                           headers=headers)
            assert status == 403, (headers, status, body)
            assert body["detail"][0]["loc"] == ["header", "X-Profile-Token"], body
        assert env.row_count() == before and env.files() == []
        status, resp_headers, _ = env.server.post_transactions(
            100, query={"profile": "1"}, headers={"X-Profile-Token": "s3cret"})
        assert status == 201 and resp_headers.get("x-profile-file"), (status, resp_headers)


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
                return "post", env.server.post_transactions(200, query=profiled)
            if kind == 1:
                return "summary", env.server.request("GET", "/api/v1/transaction/summary",
                                                     query=profiled)
            if kind == 2:
                return "plain-post", env.server.post_transactions(200)
            return "plain-get", env.server.request("GET", "/api/v1/transaction", query={"limit": 5})

        with concurrent.futures.ThreadPoolExecutor(24) as pool:
            results = list(pool.map(one, range(300)))
        names, with_own_handler = set(), 0
        for kind, (status, headers, body) in results:
            assert status in (200, 201), (kind, status, body)
            name = headers.get("x-profile-file")
            assert bool(name) == (kind in ("post", "summary")), (kind, headers)
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
        assert env.server.request("GET", "/health")[0] == 200


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--bolsa", default="build/bolsa")
    ARGS = parser.parse_args()
    results = Results("profile")
    for test in (test_disabled_ignores_profile, test_html_by_default_and_latest_link,
                 test_every_format_and_spelling, test_bad_parameters_get_422_and_change_nothing,
                 test_interval_and_cpu_mode, test_token_is_required_when_configured,
                 test_naive_story_save_dominates, test_concurrent_profiles_never_mix):
        results.run(test)
    return results.finish()


if __name__ == "__main__":
    sys.exit(main())
