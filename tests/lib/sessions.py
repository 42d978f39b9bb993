"""sessions.py: gargalo session files for the black-box suites of the gargalo command:
made by build/progs/render_profile (a synthetic session and a real recording) or written
here from a list of stacks, and what the suites compute from a session on their own
(names, per-function flat and cumulative weights, per-path weights) to check the
command's outputs against. Python standard library only."""

import argparse
import json
import os
import subprocess

# A saved session with a non-empty sample list, from render_profile: name -> arguments.
RECORDED = {"synthetic": [], "real": ["--real", "--real-ms", "300"], "big": ["--big", "4000"],
            "rich": ["--rich"]}


def paths_from_command_line():
    """--gargalo (the command) and --progs (where render_profile is), as the suites take."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--gargalo", default="build/gargalo")
    parser.add_argument("--progs", default="build/progs")
    return parser.parse_args()


def run(cmd, timeout=120, env=None):
    """Runs cmd; returns (exit status, stdout bytes, stderr text)."""
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout,
                       env=env)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


def record(progs, directory, kind):
    """Writes render_profile's files for one kind of session into directory/kind and
    returns the path of its session JSON."""
    out = os.path.join(directory, kind)
    os.makedirs(out, exist_ok=True)
    code, _, err = run([os.path.join(progs, "render_profile"), *RECORDED[kind], out])
    assert code == 0, f"render_profile {kind}: {err}"
    return os.path.join(out, "profile.json")


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def frame_name(frame):
    """A frame's function, or module+0xOFFSET when unnamed, as gargalo names it."""
    if frame["function"] is not None:
        return frame["function"]
    return "%s+0x%x" % (frame["module"] or "??", int(frame["offset"], 16))


def frame_label(frame):
    """The name with " [module]" for a named library function, as the tree labels it."""
    name = frame_name(frame)
    if frame["library"] and frame["function"] is not None and frame["module"]:
        name += " [%s]" % frame["module"]
    return name


def sample_fields(sample):
    """(time, weight, stack, thread, label set or -1) of a sample of five numbers, or of
    three (older files: thread 0, no labels)."""
    return tuple(sample) if len(sample) == 5 else (*sample, 0, -1)


def threads(session):
    """[[tid, name, cpu_ns]]: the session's threads, or for older files the one thread its
    header names, as gargalo_session_load makes it."""
    if "threads" in session:
        return session["threads"]
    return [[session.get("tid", 0), session.get("thread") or "", 0]]


def thread_name(thread):
    """A thread as gargalo names it: "name (tid)", or "thread tid" without a name."""
    tid, name = thread[0], thread[1]
    return f"{name} ({tid})" if name else f"thread {tid}"


def sample_markers(session, sample):
    """{category: text} of the markers covering a sample (its thread's, start <= time <
    end), of each category the innermost one's: the latest to start, the shortest of
    those; markers without a category under "marker"."""
    time, _, _, thread, _ = sample_fields(sample)
    best = {}
    for start, end, th, category, text in session.get("markers", []):
        key = category or "marker"
        if th != thread or not start <= time < end:
            continue
        if key not in best or (-start, end) < (-best[key][0], best[key][1]):
            best[key] = (start, end, text or "")
    return {key: m[2] for key, m in best.items()}


def sample_labels(session, sample):
    """A sample's labels as pprof shows them: its label set's, the markers covering it
    (sample_markers), then its thread's name ("thread") and id ("tid"), values as text."""
    _, _, _, thread, labelset = sample_fields(sample)
    out = dict(session["labelsets"][labelset]) if labelset >= 0 else {}
    out.update(sample_markers(session, sample))
    tid, name, _ = threads(session)[thread]
    if name:
        out["thread"] = name
    if tid > 0:
        out["tid"] = str(tid)
    return out


def total(session):
    return sum(s[1] for s in session["samples"])


def stack_weights(session):
    """{stack index: [sample count, summed weight]} for the stacks that have samples."""
    out = {}
    for _, weight, stack, *_ in session["samples"]:  # thread and labels follow
        entry = out.setdefault(stack, [0, 0])
        entry[0] += 1
        entry[1] += weight
    return out


def flat_and_cum(session, value=1):
    """Per function name: (flat, cum) of one sample value (0: count, 1: weight). Flat is
    where the function is the leaf; cum counts a sample once wherever the function is."""
    frames, stacks = session["frames"], session["stacks"]
    flat, cum = {}, {}
    for stack, values in stack_weights(session).items():
        names = [frame_name(frames[i]) for i in stacks[stack]]
        if names:
            flat[names[-1]] = flat.get(names[-1], 0) + values[value]
        for name in set(names):
            cum[name] = cum.get(name, 0) + values[value]
    return flat, cum


def folded_path(session, stack, show_all=False):
    """A stack's labels root first, each run of library frames as its first frame (as
    the call tree folds them unless show_all)."""
    frames = session["frames"]
    path = []
    for k, i in enumerate(session["stacks"][stack]):
        lib = frames[i]["library"]
        if not show_all and lib and k > 0 and frames[session["stacks"][stack][k - 1]]["library"]:
            continue
        path.append(frame_label(frames[i]))
    return tuple(path)


def path_weights(session, show_all=False):
    """{path prefix: weight} over every prefix of every sampled stack's folded path."""
    out = {}
    for stack, (_, weight) in stack_weights(session).items():
        path = folded_path(session, stack, show_all)
        for n in range(1, len(path) + 1):
            out[path[:n]] = out.get(path[:n], 0) + weight
    return out


def make_session(frames, stacks, counts, weight_ns=1_000_000, clock="wall"):
    """A session from frames (dicts with function, file, line, module, library, inlined;
    offset defaults to the index), stacks (lists of frame indices, root first) and a
    sample count per stack; samples interleave in time, weight_ns each."""
    full = [{"function": f.get("function"), "file": f.get("file"), "line": f.get("line", 0),
             "module": f.get("module", "app"), "offset": "0x%x" % f.get("offset", 0x1000 + i),
             "library": f.get("library", False), "inlined": f.get("inlined", False)}
            for i, f in enumerate(frames)]
    left, samples, t = list(counts), [], 0
    while any(left):
        for stack, n in enumerate(left):
            if n:
                t += weight_ns
                samples.append([t, weight_ns, stack])
                left[stack] -= 1
    return {"gargalo": 1, "clock": clock, "start_unix_ns": 1_700_000_000_000_000_000,
            "duration_ns": t, "cpu_ns": t, "symbolize_ns": 0, "dropped": 0, "tid": 7,
            "thread": "test", "frames": full, "stacks": stacks, "samples": samples}


def save(session, path):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(session, f)
    return path
