"""cases.py: runs the declarative cases in tests/api/cases/, one JSON file per case:

    {"about": "why this case exists",
     "server": "small",                  optional: the server started with --max-rows 1000
     "method": "POST", "path": "/api/v1/transaction?save_strategy=naive",
     "json": {...} | "body": "raw text" | "body_repeat": ["x", 1048577],
     "chunked": true,                    optional: send with Transfer-Encoding: chunked
     "headers": {"Origin": "http://{authority}", "Content-Type": null},
                                         optional request headers; {authority} is the
                                         server's 127.0.0.1:port, {port} its port; null
                                         leaves a header out (a body's default Content-Type)
     "expect": {"status": 422,
                "loc": ["body", "ativos", 0],   detail[0].loc, exactly
                "loc_prefix": ["body"],         or only its start
                "type": "a|b",                  detail[0].type, one of the alternatives
                "headers": {"allow": "GET"},    response headers, exactly
                "json_has": {"saved": 10}},     top-level members of the body, exactly
     "rows_added": 10}                   rows the request must add (default 0)

Every answer must carry Server-Timing with a total, and every error must be FastAPI-shaped:
{"detail": [{"loc": [...], "msg": "...", "type": "..."}]}."""

import json
import os
import re

from harness import TestFailure, check

CASES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cases")
SERVER_TIMING = re.compile(r"(^|,\s*)total;dur=\d+(\.\d+)?(\s*,|$)")


def load_cases():
    for name in sorted(os.listdir(CASES_DIR)):
        if name.endswith(".json"):
            with open(os.path.join(CASES_DIR, name)) as f:
                yield name[:-5], json.load(f)


def case_body(case):
    if "json" in case:
        return json.dumps(case["json"]).encode()
    if "body_repeat" in case:
        text, times = case["body_repeat"]
        return text.encode() * times
    return case.get("body", "").encode() if "body" in case else None


def check_server_timing(resp):
    st = resp.headers.get("server-timing")
    check(st is not None, "no Server-Timing header")
    check(SERVER_TIMING.search(st), "Server-Timing has no total;dur=: %r" % st)


def check_error_shape(resp):
    """Returns detail[0] of a FastAPI-shaped error body."""
    body = resp.json()
    check(isinstance(body, dict) and isinstance(body.get("detail"), list) and body["detail"],
          "error body is not {\"detail\": [...]}: %r" % resp.body[:300])
    d = body["detail"][0]
    check(isinstance(d.get("loc"), list), "detail[0].loc is not a list: %r" % d)
    check(isinstance(d.get("msg"), str) and d["msg"], "detail[0].msg is not a message: %r" % d)
    check(isinstance(d.get("type"), str) and d["type"], "detail[0].type is missing: %r" % d)
    return d


def check_expect(resp, expect):
    check(resp.status == expect["status"],
          "status %d, want %d: %s" % (resp.status, expect["status"], resp.body[:300]))
    check_server_timing(resp)
    if resp.status >= 400:
        d = check_error_shape(resp)
        if "loc" in expect:
            check(d["loc"] == expect["loc"], "loc %r, want %r" % (d["loc"], expect["loc"]))
        if "loc_prefix" in expect:
            n = len(expect["loc_prefix"])
            check(d["loc"][:n] == expect["loc_prefix"],
                  "loc %r does not start with %r" % (d["loc"], expect["loc_prefix"]))
        if "type" in expect:
            check(d["type"] in expect["type"].split("|"),
                  "type %r, want %r" % (d["type"], expect["type"]))
    for name, value in expect.get("headers", {}).items():
        check(resp.headers.get(name) == value,
              "header %s: %r, want %r" % (name, resp.headers.get(name), value))
    if "json_has" in expect:
        body = resp.json()
        for key, value in expect["json_has"].items():
            check(body.get(key, KeyError) == value,
                  "body.%s = %r, want %r" % (key, body.get(key, "<absent>"), value))


def case_headers(case, port):
    """The case's request headers, with {authority} and {port} filled in."""
    fill = {"authority": "127.0.0.1:%d" % port, "port": str(port)}
    return {name: value.format(**fill) if isinstance(value, str) else value
            for name, value in case.get("headers", {}).items()}


def run_case(ctx, case):
    server = ctx.small_server() if case.get("server") == "small" else ctx.server
    before = ctx.db.count()
    resp = server.request(case["method"], case["path"], case_body(case),
                          chunked=case.get("chunked", False),
                          headers=case_headers(case, server.port))
    check_expect(resp, case["expect"])
    added = ctx.db.count() - before
    want = case.get("rows_added", 0)
    check(added == want, "the request added %d rows, want %d" % (added, want))


def register(tests):
    """Adds one test per case file to tests (the runner's list)."""
    for name, case in load_cases():
        tests.append(("case/" + name, lambda ctx, c=case: run_case(ctx, c), False, 60))
