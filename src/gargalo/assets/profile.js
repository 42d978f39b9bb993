/*
 * gargalo profile page: draws the header, the call tree, the search, the flame graph, the
 * SQL statements and the timeline (samples, and the marked intervals above them) from the
 * JSON the C renderer put in #gg-data. Plain DOM and two canvases; the trees, the kinds of
 * marker and the statements' figures arrive already computed, so this only displays
 * them: the flame graph is the very tree the call tree shows, laid out by width.
 */
'use strict';
(function () {
  const D = JSON.parse(document.getElementById('gg-data').textContent);
  const F = D.frames;
  const MAX_ROWS = 3000;   // rows drawn at once; past that a note says how many are left
  const AUTO_OPEN = 25;    // besides the hot path, nodes above this share open at load
  const ROW_H = 16, AXIS_H = 20, MAX_LANES = 400; // timeline
  const LANE_FONT = '11px system-ui, sans-serif'; // the names of the timeline's thread lanes
  const MK_ROW = 16, MK_GAP = 6, MK_MAX_ROWS = 12; // the timeline's marker track
  const SQL_SITES = 3; // call sites listed per statement; the rest are counted
  const FG_ROW = 18, FG_MIN_W = 0.5, FG_CRUMBS = 10; // flame graph
  const FG_FONT = '11px ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace';
  const INK = '#1d1f21', INK_SOFT = '#4a4d50'; // text on the (always light) bars
  const ROOT_FILL = 'hsl(210, 10%, 82%)';
  const THREAD_FILL = 'hsl(205, 25%, 78%)', IDLE_FILL = 'hsl(205, 12%, 88%)'; // threads' roots
  const WAIT_FILL = 'hsl(200, 45%, 76%)'; // time blocked in a system call
  const $ = (id) => document.getElementById(id);

  const esc = (s) => String(s).replace(/[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));

  function fmtMs(ns) {
    const ms = ns / 1e6;
    return (ms < 10 ? ms.toFixed(2) : ms.toFixed(1)) + ' ms';
  }

  function shortPath(p) {
    const parts = p.split('/');
    return parts.slice(-2).join('/');
  }

  function plural(k, word) {
    return `${k.toLocaleString('en-US')} ${word}${k === 1 ? '' : 's'}`;
  }

  // Where a frame is: file:line, or its module when it has no debug information; nothing
  // for a thread's root (frame -1).
  function where(f) {
    if (f < 0) return '';
    return F.file[f] ? F.file[f] + (F.line[f] ? ':' + F.line[f] : '') : (F.module[f] || '');
  }

  // ---- shares and their margin ----

  // Shares are by time (the samples' weights), but what makes a share uncertain is how
  // few samples it rests on: for k of n samples, p = k/n, one binomial standard error is
  // sqrt(p(1-p)/n). So the margin comes from the counts. In percentage points.
  function marginPct(k, n) {
    if (!n) return 0;
    const p = k / n;
    return 100 * Math.sqrt(p * (1 - p) / n);
  }

  function fmtShare(share, margin) {
    return `${share.toFixed(1)}% ±${margin.toFixed(1)}`;
  }

  // ---- trees ----

  // Links each tree's children (nodes come parent first, heavier siblings first). A
  // process-wide session's trees have a root per thread under the root (T.roots says
  // which thread each is, or which idle threads a folded group holds), and say where each
  // sample ends (T.sleaf), as a stack ends in a different node in each thread.
  function prepare(T) {
    const n = T.parent.length;
    const first = new Int32Array(n).fill(-1), next = new Int32Array(n).fill(-1);
    const last = new Int32Array(n).fill(-1), depth = new Int32Array(n);
    let maxDepth = 0;
    for (let i = 1; i < n; i++) {
      const p = T.parent[i];
      depth[i] = depth[p] + 1;
      if (depth[i] > maxDepth) maxDepth = depth[i];
      if (last[p] < 0) first[p] = i; else next[last[p]] = i;
      last[p] = i;
    }
    const hot = new Uint8Array(n);
    for (let i = first[0]; i >= 0; i = first[i]) hot[i] = 1;
    const labels = new Array(n), root = new Map();
    labels[0] = '';
    for (const r of T.roots || []) root.set(r.node, r);
    for (let i = 1; i < n; i++) {
      const h = T.hidden[i];
      labels[i] = root.has(i) ? root.get(i).name :
        F.name[T.frame[i]] + (h ? ` (+${h} frame${h === 1 ? '' : 's'})` : '');
    }
    const st = { T, n, first, next, depth, maxDepth, hot, labels, lower: null, root,
      threaded: !!T.roots, sleaf: sampleLeaves(T), top: null, under: null,
      open: new Uint8Array(n), match: null, keep: null, rects: new Map(), zoom: 0, focus: -1 };
    openDefault(st);
    return st;
  }

  // The node where each sample ends.
  function sampleLeaves(T) {
    if (T.sleaf) return T.sleaf;
    const s = D.samples.s, out = new Int32Array(s.length);
    for (let k = 0; k < s.length; k++) out[k] = T.leaf[s[k]];
    return out;
  }

  // Per node, the node under the root it lies in: its thread's (or idle group's) root.
  function topOf(st) {
    if (st.top) return st.top;
    st.top = new Int32Array(st.n);
    for (let i = 1; i < st.n; i++) st.top[i] = st.depth[i] === 1 ? i : st.top[st.T.parent[i]];
    return st.top;
  }

  // What the tree says beside a thread's root: its CPU time, or where an idle one is
  // parked; nothing for an idle group, whose name says it all.
  function rootNote(st, i) {
    const r = st.root.get(i);
    if (!r || r.thread < 0) return '';
    return r.parked ? `idle: parked in ${r.parked}` : `CPU ${fmtMs(r.cpu)}`;
  }

  function pct(st, i) {
    const all = st.T.total[0];
    return all ? 100 * st.T.total[i] / all : 0;
  }

  function margin(st, i) {
    return marginPct(st.T.count[i], st.T.count[0]);
  }

  // A node's share with its margin, e.g. "12.3% ±1.1".
  function share(st, i) {
    return fmtShare(pct(st, i), margin(st, i));
  }

  function label(st, i) {
    return i ? st.labels[i] : 'all samples';
  }

  // The first node after i's subtree (nodes come in depth-first order, so a subtree is
  // the run of nodes deeper than its root that follows it).
  function subtreeEnd(st, i) {
    let e = i + 1;
    while (e < st.n && st.depth[e] > st.depth[i]) e++;
    return e;
  }

  function openDefault(st) {
    st.open.fill(0);
    for (let i = 1; i < st.n; i++)
      if (st.hot[i] || pct(st, i) >= AUTO_OPEN) st.open[i] = 1;
  }

  const trees = D.trees.map(prepare);
  let cur = trees[D.show_all ? 1 : 0];
  let query = '';

  // Children shown under i: all of them, or while searching only those leading to a match.
  function kid(st, i) {
    let c = st.first[i];
    if (st.keep) while (c >= 0 && !st.keep[c]) c = st.next[c];
    return c;
  }
  function sibling(st, i) {
    let c = st.next[i];
    if (st.keep) while (c >= 0 && !st.keep[c]) c = st.next[c];
    return c;
  }
  function isOpen(st, i) {
    return st.keep ? st.keep[i] === 2 : st.open[i] === 1;
  }

  // Nodes to show, depth first, without recursion (stacks may be very deep).
  function visibleRows(st) {
    const out = [];
    let i = kid(st, 0), total = 0;
    while (i > 0) {
      if (out.length < MAX_ROWS) out.push(i);
      total++;
      const c = isOpen(st, i) ? kid(st, i) : -1;
      if (c > 0) { i = c; continue; }
      while (i > 0 && sibling(st, i) < 0) i = st.T.parent[i];
      i = i > 0 ? sibling(st, i) : -1;
    }
    return { rows: out, total };
  }

  function rowHtml(st, i) {
    const T = st.T, f = T.frame[i], p = pct(st, i);
    const cls = ['row'];
    if (p >= 50) cls.push('hot'); else if (p >= 20) cls.push('warm'); else if (p < 5) cls.push('cool');
    if (st.hot[i]) cls.push('hotpath');
    if (f >= 0 && F.lib[f]) cls.push('lib');
    if (f < 0) cls.push(st.root.get(i).parked ? 'idle' : 'thread');
    if (st.match && st.match[i]) cls.push('match');
    const hasKids = kid(st, i) > 0, open = hasKids && isOpen(st, i);
    const file = f >= 0 ? F.file[f] : '', line = f >= 0 ? F.line[f] : 0;
    const loc = f < 0 ? rootNote(st, i) : file ? shortPath(file) + (line ? ':' + line : '') : '';
    const tip = `self ${fmtMs(T.self[i])}, ${plural(T.count[i], 'sample')}` +
      (f >= 0 && F.module[f] ? `, ${F.module[f]}` : '');
    const errTip = `margin of the share: one standard error from the sample counts, ` +
      `${T.count[i]} of ${T.count[0]} samples`;
    const indent = Math.min(st.depth[i] - 1, 60) * 14 + 4;
    return `<div class="${cls.join(' ')}" data-i="${i}" role="treeitem" aria-level="${st.depth[i]}"` +
      (hasKids ? ` aria-expanded="${open}"` : '') + ` style="padding-left:${indent}px" title="${esc(tip)}">` +
      `<span class="tog">${hasKids ? (open ? '▾' : '▸') : ''}</span>` +
      `<span class="time">${fmtMs(T.total[i])}</span>` +
      `<span class="pct" style="background-size:${p.toFixed(1)}% 100%">${p.toFixed(1)}%</span>` +
      `<span class="err" title="${esc(errTip)}">±${margin(st, i).toFixed(1)}</span>` +
      `<span class="count">${plural(T.count[i], 'sample')}</span>` +
      `<span class="name">${esc(st.labels[i])}</span>` +
      `<span class="loc" title="${esc(file ? file + (line ? ':' + line : '') : '')}">${esc(loc)}</span></div>`;
  }

  function renderTree() {
    const st = cur, el = $('tree');
    if (st.n < 2) {
      el.innerHTML = '<div class="more">No samples were recorded.</div>';
      return;
    }
    const { rows, total } = visibleRows(st);
    let html = rows.map((i) => rowHtml(st, i)).join('');
    if (total > rows.length)
      html += `<div class="more">${total - rows.length} more rows not shown; collapse or search to narrow.</div>`;
    if (!rows.length) html = '<div class="more">Nothing matches.</div>';
    el.innerHTML = html;
  }

  function toggle(i) {
    if (cur.keep) {
      cur.keep[i] = cur.keep[i] === 2 ? 1 : 2;
    } else {
      cur.open[i] ^= 1;
    }
    renderTree();
  }

  // Opens i's ancestors, draws the tree and brings i's row into view.
  function reveal(i) {
    if (query) { $('search').value = ''; setQuery(''); }
    for (let p = cur.T.parent[i]; p > 0; p = cur.T.parent[p]) cur.open[p] = 1;
    renderTree();
    const row = $('tree').querySelector(`[data-i="${i}"]`);
    if (row) {
      row.scrollIntoView({ block: 'center' });
      row.classList.add('flash');
    }
  }

  // ---- search ----

  // keep[i]: 1 when i or a node below it matches, 2 when also opened to show a match below.
  function setQuery(q) {
    query = q.trim().toLowerCase();
    for (const st of trees) applyQuery(st);
    showSearchCount();
    renderTree();
    drawSoon();
    flameSoon();
  }

  function applyQuery(st) {
    st.under = null;
    if (!query) {
      st.match = st.keep = null;
      return;
    }
    if (!st.lower) st.lower = st.labels.map((s) => s.toLowerCase());
    st.match = new Uint8Array(st.n);
    st.keep = new Uint8Array(st.n);
    st.matches = 0;
    for (let i = 1; i < st.n; i++) {
      if (!st.lower[i].includes(query)) continue;
      st.match[i] = 1;
      st.matches++;
      if (!st.keep[i]) st.keep[i] = 1;
      for (let p = st.T.parent[i]; p > 0 && st.keep[p] !== 2; p = st.T.parent[p]) st.keep[p] = 2;
    }
  }

  // Time and samples under z that pass through a match, each sample counted once: a
  // match's whole subtree is counted and skipped, so a match below a match adds nothing.
  function matchedUnder(st, z) {
    for (let a = z; a > 0; a = st.T.parent[a])
      if (st.match[a]) return { ns: st.T.total[z], k: st.T.count[z] };
    const end = subtreeEnd(st, z);
    let ns = 0, k = 0;
    for (let i = z + 1; i < end;) {
      if (!st.match[i]) { i++; continue; }
      ns += st.T.total[i];
      k += st.T.count[i];
      i = subtreeEnd(st, i);
    }
    return { ns, k };
  }

  // The matched share of node z's time, with its margin from the sample counts.
  function matchedShare(st, z) {
    const m = matchedUnder(st, z), T = st.T;
    return fmtShare(T.total[z] ? 100 * m.ns / T.total[z] : 0, marginPct(m.k, T.count[z]));
  }

  function showSearchCount() {
    const st = cur, el = $('search-count');
    if (!query || !st.match) { el.textContent = ''; return; }
    const n = st.matches;
    el.textContent = `${n} match${n === 1 ? '' : 'es'}` +
      (n && st.n > 1 ? ` · ${matchedShare(st, 0)} of the time` : '');
  }

  // ---- timeline ----

  // What the timeline shows. For one thread: its samples in time order, callers on top, a
  // lane per depth. For a process-wide session, at first every thread at once, a lane per
  // thread (busiest first, then the idle ones or their groups), each sample drawn in its
  // thread's lane in the colour of the function it ended in; or, picked in the menu above
  // the timeline, one thread's samples with a lane per depth, as for one thread.
  // tl.pick is 'all' or the picked root's key, which outlives a switch of tree.
  const tl = { pick: 'all' };

  // A root's key: its thread, or for an idle group the call its threads are parked in.
  function rootKey(st, i) {
    const r = st.root.get(i);
    return r.thread >= 0 ? `t${r.thread}` : `g${r.parked}`;
  }

  // The root picked in tree st, or -1 for all of them (and for a tree without threads).
  function pickedRoot(st) {
    if (!st.threaded || tl.pick === 'all') return -1;
    for (const i of st.root.keys()) if (rootKey(st, i) === tl.pick) return i;
    return -1;
  }

  // The rectangles to draw for the tree and pick shown, each set made once.
  function rects() {
    const st = cur, top = pickedRoot(st), key = st.threaded && top < 0 ? 'threads' : String(top);
    if (!st.rects.has(key)) st.rects.set(key, key === 'threads' ? threadRects(st) : buildRects(st, top));
    return st.rects.get(key);
  }

  // Merges consecutive samples that share a node at the same depth into one rectangle;
  // with top >= 0, only the samples under that root.
  function buildRects(st, top) {
    const S = D.samples, parent = st.T.parent, under = top >= 0 ? topOf(st) : null;
    const x0 = [], x1 = [], lane = [], node = [];
    const byLane = [];
    const openNode = [], openRect = [];
    const path = [];
    let prevEnd = -Infinity;
    for (let k = 0; k < S.t.length; k++) {
      if (under && under[st.sleaf[k]] !== top) continue;
      const end = S.t[k], start = end - S.w[k];
      path.length = 0;
      for (let i = st.sleaf[k]; i > 0; i = parent[i]) path.push(i);
      path.reverse();
      const joined = start - prevEnd <= Math.max(S.w[k], 1);
      let d = 0;
      if (joined)
        for (; d < path.length && d < openNode.length && openNode[d] === path[d]; d++)
          x1[openRect[d]] = end;
      openNode.length = openRect.length = d;
      for (; d < path.length; d++) {
        const r = x0.length;
        x0.push(start); x1.push(end); lane.push(d); node.push(path[d]);
        if (d < MAX_LANES) (byLane[d] || (byLane[d] = [])).push(r);
        openNode.push(path[d]); openRect.push(r);
      }
      prevEnd = end;
    }
    return { x0, x1, lane, node, byLane };
  }

  // Every thread at once: a lane per root, in the tree's order; a thread's consecutive
  // samples that end in the same node merge into one rectangle. names[d] is lane d's root.
  function threadRects(st) {
    const S = D.samples, top = topOf(st), laneOf = new Map(), names = [];
    const x0 = [], x1 = [], node = [], byLane = [], last = [], lastEnd = [];
    for (let c = st.first[0]; c >= 0 && names.length < MAX_LANES; c = st.next[c]) {
      laneOf.set(c, names.length);
      names.push(c);
      byLane.push([]);
    }
    for (let k = 0; k < S.t.length; k++) {
      const leaf = st.sleaf[k], d = laneOf.get(top[leaf]), end = S.t[k], start = end - S.w[k];
      if (d === undefined) continue;
      const r = last[d];
      if (r !== undefined && node[r] === leaf && start - lastEnd[d] <= Math.max(S.w[k], 1)) {
        x1[r] = end;
      } else {
        last[d] = x0.length;
        x0.push(start); x1.push(end); node.push(leaf); byLane[d].push(last[d]);
      }
      lastEnd[d] = end;
    }
    return { x0, x1, node, byLane, names };
  }

  const view = { t0: 0, t1: 1, v0: 0, v1: 1 };
  (function setDomain() {
    const S = D.samples, n = S.t.length;
    const first = n ? Math.min(0, S.t[0] - S.w[0]) : 0;
    const last = n ? S.t[n - 1] : 0;
    const lastMark = D.markers.end.reduce((a, b) => Math.max(a, b), 0);
    view.t0 = view.v0 = first;
    view.t1 = view.v1 = Math.max(D.duration_ns, last, lastMark, first + 1);
  })();

  // Warm hues for the program, grey for libraries; one colour per function, the same in
  // the timeline and the flame graph (and kept, since both ask for it on every draw).
  // Threads' roots are a cool grey, idle ones paler; time blocked in a system call (the
  // leaves gargalo names "[blocked] ..." or "[off-CPU ...") a cool blue.
  const frameColor = [];
  function color(st, i) {
    const f = st.T.frame[i];
    if (f < 0) return st.root.get(i).parked ? IDLE_FILL : THREAD_FILL;
    return frameColor[f] || (frameColor[f] = /^\[(blocked\] |off-CPU)/.test(F.name[f]) ? WAIT_FILL :
      hashColor(F.name[f], F.lib[f]));
  }

  function hashColor(name, lib) {
    let h = 0;
    for (let k = 0; k < name.length; k++) h = (h * 31 + name.charCodeAt(k)) | 0;
    h = Math.abs(h);
    if (lib) return `hsl(210, 8%, ${68 + (h % 12)}%)`;
    return `hsl(${(h % 50) + 5}, ${70 + (h % 20)}%, ${62 + (h % 14)}%)`;
  }

  // Draws happen at most once a frame, however many events ask for one.
  const pending = new Set();
  function soon(draw) {
    if (!pending.size) {
      requestAnimationFrame(() => {
        const draws = [...pending];
        pending.clear();
        for (const d of draws) d();
      });
    }
    pending.add(draw);
  }
  const drawSoon = () => soon(drawTimeline);
  const flameSoon = () => soon(drawFlame);

  // Sizes a canvas to W x H CSS pixels, sharp on high-density screens; returns it cleared.
  function sizeCanvas(canvas, W, H) {
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(W * dpr);
    canvas.height = Math.round(H * dpr);
    canvas.style.height = H + 'px';
    const ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, H);
    return ctx;
  }

  // Shows the tooltip with this HTML next to the pointer, kept inside the window.
  function placeTip(ev, html) {
    const tip = $('tooltip');
    tip.innerHTML = html;
    tip.hidden = false;
    tip.style.left = Math.min(ev.clientX + 12, window.innerWidth - tip.offsetWidth - 8) + 'px';
    const below = ev.clientY + 14;
    tip.style.top = (below + tip.offsetHeight > window.innerHeight ?
      Math.max(ev.clientY - tip.offsetHeight - 8, 0) : below) + 'px';
  }

  function drawAxis(ctx, W) {
    const span = view.v1 - view.v0;
    const step = niceStep(span / Math.max(1, W / 110));
    ctx.fillStyle = getComputedStyle(document.body).color;
    ctx.font = '11px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    for (let t = Math.ceil(view.v0 / step) * step; t <= view.v1; t += step) {
      const x = (t - view.v0) / span * W;
      ctx.fillRect(x, AXIS_H - 5, 1, 5);
      ctx.fillText(fmtMs(t - view.t0), x + 3, AXIS_H / 2 - 1);
    }
  }

  function niceStep(raw) {
    const p = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1))));
    for (const m of [1, 2, 5, 10]) if (p * m >= raw) return p * m;
    return p * 10;
  }

  // From the top: the time axis, the marker track (when there are markers), the samples.
  function drawTimeline() {
    const st = cur, canvas = $('timeline');
    const R = rects(), lanes = Math.min(R.byLane.length, MAX_LANES), top = laneTop();
    const W = canvas.parentElement.clientWidth, H = top + Math.max(lanes, 1) * ROW_H + 4;
    const ctx = sizeCanvas(canvas, W, H);
    drawAxis(ctx, W);
    drawMarkers(ctx, W);
    const scale = W / (view.v1 - view.v0);
    ctx.font = '11px ui-monospace, Menlo, Consolas, monospace';
    for (let d = 0; d < lanes; d++) drawLane(ctx, st, R, d, scale, W);
    ctx.globalAlpha = 1;
    drawVeil(ctx, W, top, H);
    if (R.names) drawLaneNames(ctx, st, R, lanes);
  }

  // Each thread's name at the left of its lane, on a backing that keeps it readable over
  // the samples.
  function drawLaneNames(ctx, st, R, lanes) {
    const colors = flameColors(), panel = getComputedStyle(document.documentElement)
      .getPropertyValue('--panel').trim() || '#fff', names = laneNames(ctx, st, R);
    ctx.font = LANE_FONT;
    ctx.textBaseline = 'middle';
    for (let d = 0; d < lanes; d++) {
      const y = laneTop() + d * ROW_H;
      ctx.globalAlpha = 0.85;
      ctx.fillStyle = panel;
      ctx.fillRect(0, y, names[d].w, ROW_H - 1);
      ctx.globalAlpha = 1;
      ctx.fillStyle = colors.fg;
      ctx.fillText(names[d].s, 4, y + ROW_H / 2);
    }
  }

  // The lanes' names as drawn (long ones cut) and the width of their backing, measured once.
  function laneNames(ctx, st, R) {
    if (R.nameW) return R.nameW;
    const font = ctx.font;
    ctx.font = LANE_FONT;
    R.nameW = R.names.map((i) => {
      const name = st.labels[i], s = name.length > 48 ? name.slice(0, 47) + '…' : name;
      return { s, w: ctx.measureText(s).width + 8 };
    });
    ctx.font = font;
    return R.nameW;
  }

  // Whether rectangle node n stands out while searching: in the lanes of every thread, a
  // sample's rectangle is its leaf, which stands out when any node of its stack matches.
  function searchHit(st, R, n) {
    if (!R.names) return st.match[n];
    if (!st.under) {
      st.under = new Uint8Array(st.n);
      for (let i = 1; i < st.n; i++) st.under[i] = st.match[i] || st.under[st.T.parent[i]];
    }
    return st.under[n];
  }

  function drawLane(ctx, st, R, d, scale, W) {
    const list = R.byLane[d] || [], y = laneTop() + d * ROW_H, inset = R.names ? laneNames(ctx, st, R)[d].w : 0;
    let lastPx = -1;
    for (let k = lowerBound(list, R.x1, view.v0); k < list.length; k++) {
      const r = list[k];
      if (R.x0[r] > view.v1) break;
      const a = (R.x0[r] - view.v0) * scale, b = (R.x1[r] - view.v0) * scale;
      if (b - a < 1 && Math.floor(b) <= lastPx) continue; // that pixel is already painted
      lastPx = Math.floor(b);
      const n = R.node[r];
      ctx.globalAlpha = st.match && !searchHit(st, R, n) ? 0.25 : 1;
      ctx.fillStyle = color(st, n);
      const x = Math.max(a, -1), w = Math.max(Math.min(b, W + 1) - x, 1);
      ctx.fillRect(x, y, w > 2 ? w - 0.5 : w, ROW_H - 1);
      const tx = Math.max(x, inset) + 3, room = x + w - tx - 3; // right of the lane's name
      if (room > 30) {
        ctx.fillStyle = '#1d1f21';
        const maxChars = Math.floor(room / 6.6);
        const s = st.labels[n];
        ctx.fillText(s.length > maxChars ? s.slice(0, Math.max(maxChars - 1, 1)) + '…' : s, tx, y + ROW_H / 2);
      }
    }
  }

  // First item of a list in time order (a lane's rectangles, a row's markers) whose end,
  // end[item], reaches t.
  function lowerBound(list, end, t) {
    let lo = 0, hi = list.length;
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      if (end[list[m]] < t) lo = m + 1; else hi = m;
    }
    return lo;
  }

  // The time under the pointer.
  function timeAt(ev, box) {
    return view.v0 + (ev.clientX - box.left) / box.width * (view.v1 - view.v0);
  }

  function rectAt(ev) {
    const canvas = $('timeline'), box = canvas.getBoundingClientRect();
    const d = Math.floor((ev.clientY - box.top - laneTop()) / ROW_H);
    const R = rects();
    if (!R || d < 0 || d >= R.byLane.length || !R.byLane[d]) return -1;
    const t = timeAt(ev, box), list = R.byLane[d], k = lowerBound(list, R.x1, t);
    return k < list.length && R.x0[list[k]] <= t ? list[k] : -1;
  }

  function showTip(ev) {
    const m = markerAt(ev);
    if (m >= 0) { placeTip(ev, markerTipHtml(m)); return; }
    const r = rectAt(ev);
    if (r < 0) { $('tooltip').hidden = true; return; }
    const R = rects(), n = R.node[r], f = cur.T.frame[n];
    const thread = cur.threaded && cur.depth[n] > 1 ? `<br>${esc(cur.labels[topOf(cur)[n]])}` : '';
    placeTip(ev, `<b>${esc(cur.labels[n])}</b>${fmtMs(R.x1[r] - R.x0[r])} here, ` +
      `${fmtMs(cur.T.total[n])} (${share(cur, n)}) in all<br>${esc(where(f))}${thread}`);
  }

  function zoom(ev) {
    ev.preventDefault();
    const box = $('timeline').getBoundingClientRect();
    const at = view.v0 + (ev.clientX - box.left) / box.width * (view.v1 - view.v0);
    const k = Math.exp(ev.deltaY * 0.002);
    const span = Math.min(Math.max((view.v1 - view.v0) * k, 1000), view.t1 - view.t0);
    const f = (at - view.v0) / (view.v1 - view.v0);
    setView(at - f * span, span);
  }

  function setView(v0, span) {
    span = Math.min(Math.max(span, 1000), view.t1 - view.t0);
    v0 = Math.max(view.t0, Math.min(v0, view.t1 - span));
    view.v0 = v0;
    view.v1 = v0 + span;
    drawSoon();
  }

  function wireTimeline() {
    const canvas = $('timeline');
    let drag = null;
    canvas.addEventListener('wheel', zoom, { passive: false });
    canvas.addEventListener('mousedown', (ev) => { drag = { x: ev.clientX, v0: view.v0, moved: false }; });
    window.addEventListener('mouseup', (ev) => {
      if (drag && !drag.moved && ev.target === canvas) clickTimeline(ev);
      drag = null;
    });
    canvas.addEventListener('mousemove', (ev) => {
      if (drag && Math.abs(ev.clientX - drag.x) > 2) {
        drag.moved = true;
        const span = view.v1 - view.v0;
        setView(drag.v0 - (ev.clientX - drag.x) / canvas.clientWidth * span, span);
      }
      showTip(ev);
    });
    canvas.addEventListener('mouseleave', () => { $('tooltip').hidden = true; });
    canvas.addEventListener('dblclick', resetView);
    canvas.addEventListener('keydown', timelineKey);
    canvas.addEventListener('focus', () => {
      // The keyboard starts on the first marker; the outline shows only while focused.
      if (mkFocus < 0 && mk.byRow.length) focusMarker(mk.byRow[0][0]); else drawSoon();
    });
    canvas.addEventListener('blur', drawSoon);
    window.addEventListener('resize', drawSoon);
  }

  // A click on a marker zooms to it; on a sample, finds its function in the call tree.
  function clickTimeline(ev) {
    const m = markerAt(ev);
    if (m >= 0) {
      focusMarker(m);
      zoomToMarker(m);
      return;
    }
    const r = rectAt(ev);
    if (r >= 0) reveal(rects().node[r]);
  }

  function resetView() {
    setView(view.t0, view.t1 - view.t0);
  }

  // Zooms by a factor around the middle of the view.
  function zoomBy(f) {
    const span = view.v1 - view.v0, mid = (view.v0 + view.v1) / 2;
    setView(mid - span * f / 2, span * f);
  }

  // Arrows walk the markers (sideways along a row, up and down between rows), Enter zooms
  // to the marker, + and - zoom, Escape or Home shows the whole session. Without markers,
  // left and right pan, and up and down are left to the page.
  function timelineKey(ev) {
    const span = view.v1 - view.v0;
    const keys = { '+': () => zoomBy(0.5), '=': () => zoomBy(0.5), '-': () => zoomBy(2),
      Escape: resetView, Home: resetView };
    if (mk.byRow.length) {
      Object.assign(keys, { ArrowLeft: () => moveMarker(0, -1), ArrowRight: () => moveMarker(0, 1),
        ArrowUp: () => moveMarker(-1, 0), ArrowDown: () => moveMarker(1, 0),
        Enter: () => mkFocus >= 0 && zoomToMarker(mkFocus) });
    } else {
      Object.assign(keys, { ArrowLeft: () => setView(view.v0 - span / 10, span),
        ArrowRight: () => setView(view.v0 + span / 10, span) });
    }
    if (!keys[ev.key]) return;
    ev.preventDefault();
    keys[ev.key]();
  }

  // ---- markers ----

  // Marked intervals of the threads (gargalo_mark_begin .. gargalo_mark_end), such as
  // requests and SQL statements, drawn above the samples on the same time axis: each row
  // holds intervals that do not overlap, and a marker nested in another goes below it, so
  // rows read as nesting levels. (Past MK_MAX_ROWS, the last row takes what is left and
  // may overlap itself: hover then finds one of the markers there.) While the timeline
  // shows one thread, only that thread's markers.
  const M = D.markers, K = D.kinds;
  let mk = layoutMarkers(-1);
  let mkFocus = -1; // the keyboard's marker

  function layoutMarkers(thread) {
    const n = M.start.length, row = new Int32Array(n), byRow = [], lastEnd = [], open = new Map();
    const order = Array.from({ length: n }, (_, i) => i).filter((m) => thread < 0 || M.thread[m] === thread)
      .sort((a, b) => M.start[a] - M.start[b] || M.end[b] - M.end[a] || a - b);
    for (const m of order) {
      if (!open.has(M.thread[m])) open.set(M.thread[m], []);
      const stack = open.get(M.thread[m]); // the thread's markers still open at m's start
      while (stack.length && M.end[stack[stack.length - 1]] <= M.start[m]) stack.pop();
      let r = stack.length ? row[stack[stack.length - 1]] + 1 : 0;
      while (r < MK_MAX_ROWS - 1 && lastEnd[r] > M.start[m]) r++;
      row[m] = r = Math.min(r, MK_MAX_ROWS - 1);
      lastEnd[r] = Math.max(lastEnd[r] || 0, M.end[m]);
      (byRow[r] || (byRow[r] = [])).push(m);
      stack.push(m);
    }
    return { row, byRow, thread };
  }

  // Where the sample lanes start: under the axis and the marker track.
  function laneTop() {
    return AXIS_H + (mk.byRow.length ? mk.byRow.length * MK_ROW + MK_GAP : 0);
  }

  function kindLabel(k) {
    return `${K.category[k]}: ${K.text[k]}`;
  }

  function threadName(i) {
    const T = D.threads;
    if (i >= T.tid.length) return '';
    return T.name[i] ? `thread ${T.name[i]} (${T.tid[i]})` : `thread ${T.tid[i]}`;
  }

  // Cool hues, one per category in the order of the kinds (most time first), so markers
  // never look like the samples' warm frames and the main categories never share one.
  const MK_COLORS = ['hsl(195, 60%, 76%)', 'hsl(265, 45%, 82%)', 'hsl(160, 40%, 74%)',
    'hsl(220, 55%, 82%)', 'hsl(295, 30%, 80%)', 'hsl(180, 35%, 80%)'];
  const categoryColor = new Map();
  K.category.forEach((cat) => {
    if (!categoryColor.has(cat)) categoryColor.set(cat, MK_COLORS[categoryColor.size % MK_COLORS.length]);
  });
  function markerColor(m) {
    return categoryColor.get(K.category[M.kind[m]]);
  }

  function drawMarkers(ctx, W) {
    if (!mk.byRow.length) return;
    const scale = W / (view.v1 - view.v0), colors = flameColors();
    ctx.font = '11px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    mk.byRow.forEach((list, r) => drawMarkerRow(ctx, list, AXIS_H + r * MK_ROW, scale, W, colors));
    ctx.fillStyle = colors.muted;
    ctx.globalAlpha = 0.4;
    ctx.fillRect(0, laneTop() - MK_GAP / 2, W, 1);
    ctx.globalAlpha = 1;
    drawMarkerFocus(ctx, scale, colors);
  }

  // One row: each marker as a bar with its label when it fits; a marker too narrow to see
  // on a pixel already painted is skipped, but never one of the selected statement.
  function drawMarkerRow(ctx, list, y, scale, W, colors) {
    let lastPx = -1;
    for (let k = lowerBound(list, M.end, view.v0); k < list.length; k++) {
      const m = list[k], picked = M.kind[m] === sel.kind;
      if (M.start[m] > view.v1) break;
      const a = (M.start[m] - view.v0) * scale, b = (M.end[m] - view.v0) * scale;
      if (b - a < 1 && Math.floor(b) <= lastPx && !picked) continue;
      lastPx = Math.floor(b);
      const x = Math.max(a, -1), w = Math.max(Math.min(b, W + 1) - x, 1);
      ctx.fillStyle = markerColor(m);
      ctx.fillRect(x, y, w > 2 ? w - 0.5 : w, MK_ROW - 1);
      if (picked) {
        ctx.strokeStyle = colors.accent;
        ctx.lineWidth = 2;
        ctx.strokeRect(x + 1, y + 1, Math.max(w - 2.5, 1), MK_ROW - 3);
      }
      if (w > 36) {
        // "category: text" when it fits, else as much of the text as fits (the colour
        // tells the category).
        const full = kindLabel(M.kind[m]).replace(/\s+/g, ' '), room = Math.floor((w - 6) / 6);
        const s = full.length <= room ? full : K.text[M.kind[m]].replace(/\s+/g, ' ');
        ctx.fillStyle = INK;
        ctx.fillText(s.length > room ? s.slice(0, Math.max(room - 1, 1)) + '…' : s, x + 3, y + MK_ROW / 2);
      }
    }
  }

  // The keyboard's marker gets an outline while the timeline has the focus.
  function drawMarkerFocus(ctx, scale, colors) {
    if (mkFocus < 0 || document.activeElement !== $('timeline')) return;
    const a = (M.start[mkFocus] - view.v0) * scale, b = (M.end[mkFocus] - view.v0) * scale;
    ctx.strokeStyle = colors.fg;
    ctx.lineWidth = 2;
    ctx.strokeRect(a + 1, AXIS_H + mk.row[mkFocus] * MK_ROW + 1, Math.max(b - a - 2, 2), MK_ROW - 3);
  }

  // The marker under the pointer, or -1.
  function markerAt(ev) {
    const box = $('timeline').getBoundingClientRect(), y = ev.clientY - box.top - AXIS_H;
    const list = y >= 0 ? mk.byRow[Math.floor(y / MK_ROW)] : null;
    if (!list) return -1;
    const t = timeAt(ev, box), k = lowerBound(list, M.end, t);
    return k < list.length && M.start[list[k]] <= t ? list[k] : -1;
  }

  // What the tooltip and the line under the timeline say about marker m.
  function describeMarker(m) {
    const k = M.kind[m], parts = [kindLabel(k)];
    parts.push(`${fmtMs(M.end[m] - M.start[m])}, from ${fmtMs(M.start[m] - view.t0)} to ${fmtMs(M.end[m] - view.t0)}`);
    parts.push(threadName(M.thread[m]));
    if (K.count[k] > 1) parts.push(`${plural(K.count[k], 'marker')} of this kind, ${fmtMs(K.total[k])} in all`);
    return parts.filter(Boolean);
  }

  function markerTipHtml(m) {
    const [name, ...rest] = describeMarker(m);
    return `<b>${esc(name)}</b>${rest.map(esc).join('<br>')}`;
  }

  // Moves the keyboard to marker m, bringing it into view when it is out of it.
  function focusMarker(m) {
    mkFocus = m;
    $('timeline-info').textContent = describeMarker(m).join(' — ');
    const span = view.v1 - view.v0;
    if (M.end[m] < view.v0 || M.start[m] > view.v1)
      setView(Math.min((M.start[m] + M.end[m]) / 2 - span / 2, M.start[m]), span);
    drawSoon();
  }

  // Sideways: the next or previous marker of the row; up or down: the marker of that row
  // nearest in time.
  function moveMarker(dr, step) {
    if (mkFocus < 0) return focusMarker(mk.byRow[0][0]);
    const list = mk.byRow[mk.row[mkFocus] + dr];
    if (!list) return;
    if (!dr) {
      const k = list.indexOf(mkFocus) + step;
      return focusMarker(list[Math.min(Math.max(k, 0), list.length - 1)]);
    }
    const t = (M.start[mkFocus] + M.end[mkFocus]) / 2, k = lowerBound(list, M.end, t);
    const gap = (m) => (m === undefined ? Infinity : Math.max(M.start[m] - t, t - M.end[m], 0));
    focusMarker(gap(list[k - 1]) < gap(list[k]) ? list[k - 1] : list[k]);
  }

  // Shows marker m across the timeline, with a little room on both sides.
  function zoomToMarker(m) {
    const d = M.end[m] - M.start[m], pad = Math.max(d / 10, 1000);
    setView(M.start[m] - pad, d + 2 * pad);
  }

  // ---- SQL statements ----

  // The statements (markers of category "sql" grouped by text) in a table sorted by any
  // column; selecting one highlights the samples taken while it ran, on the same thread,
  // in the flame graph and the timeline. Their figures come computed from the C side:
  // executions, total time, and the functions the covered samples were in.
  const sqlSort = { key: 'total', desc: true };
  // What is highlighted: the samples of mask (null: nothing), those of statement `kind` or
  // of row `wait` of the "Waiting on" table (-1: not that one).
  const sel = { kind: -1, wait: -1, mask: null, k: 0, ns: 0, spans: [], nodes: new Map() };

  // What each column sorts by (a share sorts as its total).
  const sqlValue = {
    text: (q) => K.text[q.kind],
    count: (q) => K.count[q.kind],
    total: (q) => K.total[q.kind],
    share: (q) => K.total[q.kind],
    mean: (q) => K.total[q.kind] / K.count[q.kind],
  };

  function sqlShare(ns) {
    return D.duration_ns ? (100 * ns / D.duration_ns).toFixed(1) + '%' : 'n/a';
  }

  // The note above the table: what the share is of, or how to get statements at all.
  function sqlNote() {
    $('sql-note').textContent = D.sql.length ?
      `Share of session: a statement's total time over the session's duration ` +
      `(${fmtMs(D.duration_ns)}, wall clock); statements running on several threads at once can ` +
      'add up to more than 100%.' :
      'No SQL statements were marked in this session. Code that wraps each statement in ' +
      'gargalo_mark_begin("sql", text) and gargalo_mark_end(), with literals replaced by ' +
      'placeholders, gets a row per statement here.';
  }

  // The statements in the order asked for; ties by total time.
  function sortedSql() {
    const get = sqlValue[sqlSort.key], dir = sqlSort.desc ? -1 : 1;
    return [...D.sql].sort((a, b) => {
      const x = get(a), y = get(b);
      return dir * (typeof x === 'string' ? x.localeCompare(y) : x - y) || K.total[b.kind] - K.total[a.kind];
    });
  }

  function renderSql() {
    if (!D.sql.length) return;
    $('sql-table').hidden = false;
    // Drawn again, the rows are new elements: the focus goes back to the same statement.
    const focused = document.activeElement && document.activeElement.closest('#sql-body tr');
    $('sql-body').innerHTML = sortedSql().map(sqlRowHtml).join('');
    if (focused) $('sql-body').querySelector(`tr[data-kind="${focused.dataset.kind}"] .stmt button`).focus();
    for (const th of document.querySelectorAll('#sql-table th[data-key]')) {
      const on = th.dataset.key === sqlSort.key;
      th.setAttribute('aria-sort', on ? (sqlSort.desc ? 'descending' : 'ascending') : 'none');
    }
  }

  function sqlRowHtml(q) {
    const k = q.kind, on = sel.kind === k;
    return `<tr data-kind="${k}"${on ? ' class="selected"' : ''}>` +
      `<td class="stmt"><button type="button" aria-pressed="${on}" title="${esc(K.text[k])}">${esc(K.text[k])}</button></td>` +
      `<td class="num">${K.count[k].toLocaleString('en-US')}</td>` +
      `<td class="num">${fmtMs(K.total[k])}</td>` +
      `<td class="num">${sqlShare(K.total[k])}</td>` +
      `<td class="num">${fmtMs(K.total[k] / K.count[k])}</td>` +
      `<td>${sitesHtml(q)}</td></tr>`;
  }

  // The functions the statement's samples were in, most samples first.
  function sitesHtml(q) {
    if (!q.samples) return '<span class="loc">no sample was taken while it ran</span>';
    const item = (s) => `<li><span class="fn">${esc(F.name[s.frame])}</span> ` +
      `<span class="loc">${esc(shortWhere(s.frame))}</span> <span class="n">${plural(s.samples, 'sample')}</span></li>`;
    const rest = q.sites.slice(SQL_SITES), more = rest.reduce((a, s) => a + s.samples, 0);
    return `<ul class="sites">${q.sites.slice(0, SQL_SITES).map(item).join('')}` +
      (rest.length ? `<li class="n">${plural(rest.length, 'more function')}, ${plural(more, 'sample')}</li>` : '') + '</ul>';
  }

  function shortWhere(f) {
    return F.file[f] ? shortPath(F.file[f]) + (F.line[f] ? ':' + F.line[f] : '') : (F.module[f] || '');
  }

  // Samples in time order (as the session keeps them; sorted here if a page's are not).
  let byTime = null;
  function samplesByTime() {
    if (byTime) return byTime;
    const t = D.samples.t;
    byTime = Uint32Array.from(t.keys());
    for (let i = 1; i < t.length; i++)
      if (t[i - 1] > t[i]) return byTime.sort((a, b) => t[a] - t[b] || a - b);
    return byTime;
  }

  // The first sample, in time order, taken at t or later.
  function firstSampleAt(order, t) {
    const time = D.samples.t;
    let lo = 0, hi = order.length;
    while (lo < hi) {
      const h = (lo + hi) >> 1;
      if (time[order[h]] < t) lo = h + 1; else hi = h;
    }
    return lo;
  }

  // The samples the markers of kind cover, as the C side counts them: of the marker's
  // thread, taken at start <= time < end.
  function coveredSamples(kind) {
    const S = D.samples, order = samplesByTime(), mask = new Uint8Array(S.t.length);
    for (let m = 0; m < M.kind.length; m++) {
      if (M.kind[m] !== kind) continue;
      for (let j = firstSampleAt(order, M.start[m]); j < order.length && S.t[order[j]] < M.end[m]; j++)
        if (S.th[order[j]] === M.thread[m]) mask[order[j]] = 1;
    }
    return mask;
  }

  // The time the selected samples stand for, as spans merged where they touch.
  function maskSpans(mask) {
    const S = D.samples, spans = [];
    for (const i of samplesByTime()) {
      if (!mask[i]) continue;
      const a = S.t[i] - S.w[i], last = spans[spans.length - 1];
      if (last && a <= last[1] + 1) last[1] = Math.max(last[1], S.t[i]);
      else spans.push([a, S.t[i]]);
    }
    return spans;
  }

  // Selects a statement (or none: -1; the selected one again toggles it off).
  function selectStatement(kind) {
    const on = kind >= 0 && kind !== sel.kind;
    select(on ? kind : -1, -1, on ? coveredSamples(kind) : null);
  }

  // Highlights the samples of mask, for statement kind or row wait of the waits (one of
  // them -1; mask null for nothing).
  function select(kind, wait, mask) {
    const S = D.samples;
    Object.assign(sel, { kind, wait, mask, k: 0, ns: 0, spans: [], nodes: new Map() });
    if (mask) {
      sel.spans = maskSpans(mask);
      mask.forEach((v, i) => { if (v) { sel.k++; sel.ns += S.w[i]; } });
    }
    showSelection();
    renderSql();
    renderWaits();
    drawSoon();
    flameSoon();
  }

  // Says what is highlighted, above its table and beside the flame graph.
  function showSelection() {
    $('sql-selected').hidden = sel.kind < 0;
    $('waits-selected').hidden = sel.wait < 0;
    $('flame-sel').textContent = '';
    if (!sel.mask) return;
    const n = D.samples.t.length, all = trees[0].T.total[0];
    const text = sel.kind >= 0 ? K.text[sel.kind].replace(/\s+/g, ' ') : waitName(sel.wait);
    const short = text.length > 60 ? text.slice(0, 59) + '…' : text;
    const when = sel.kind >= 0 ? `taken while ${short} ran` : `blocked on ${short}`;
    $(sel.kind >= 0 ? 'sql-selected-text' : 'waits-selected-text').textContent =
      `Highlighted in the flame graph and the timeline: ${plural(sel.k, 'sample')}, ` +
      `${fmtMs(sel.ns)} (${fmtShare(all ? 100 * sel.ns / all : 0, marginPct(sel.k, n))} of all), ${when}.`;
    $('flame-sel').textContent = `highlighted: ${plural(sel.k, 'sample')} ` +
      (sel.kind >= 0 ? `of ${short}` : `blocked on ${short}`);
  }

  // Per node of a tree, the weight and count of the selected samples passing through it.
  function selWeights(st) {
    if (sel.nodes.has(st)) return sel.nodes.get(st);
    const S = D.samples, parent = st.T.parent;
    const w = { ns: new Float64Array(st.n), k: new Uint32Array(st.n) };
    for (let i = 0; i < sel.mask.length; i++) {
      if (!sel.mask[i]) continue;
      for (let n = st.sleaf[i]; n >= 0; n = parent[n]) { w.ns[n] += S.w[i]; w.k[n]++; }
    }
    sel.nodes.set(st, w);
    return w;
  }

  // Outside the selected samples' time, the sample lanes are veiled.
  function drawVeil(ctx, W, top, H) {
    if (!sel.mask) return;
    const scale = W / (view.v1 - view.v0);
    ctx.fillStyle = getComputedStyle(document.documentElement).getPropertyValue('--panel').trim() || '#fff';
    ctx.globalAlpha = 0.75;
    let x = 0;
    for (const [a, b] of sel.spans) {
      const xa = (a - view.v0) * scale, xb = (b - view.v0) * scale;
      if (xb < 0) continue;
      if (xa > W) break;
      if (xa > x) ctx.fillRect(x, top, xa - x, H - top);
      x = Math.max(x, xb);
    }
    if (x < W) ctx.fillRect(x, top, W - x, H - top);
    ctx.globalAlpha = 1;
  }

  function wireSql() {
    $('sql-body').addEventListener('click', (ev) => {
      const b = ev.target.closest('.stmt button');
      if (b) selectStatement(Number(b.closest('tr').dataset.kind));
    });
    document.querySelector('#sql-table thead').addEventListener('click', (ev) => {
      const th = ev.target.closest('th[data-key]');
      if (!th) return;
      const key = th.dataset.key;
      Object.assign(sqlSort, { desc: key === sqlSort.key ? !sqlSort.desc : key !== 'text', key });
      renderSql();
    });
    $('sql-section').addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape' && sel.kind >= 0) selectStatement(-1);
    });
    $('sql-clear').addEventListener('click', () => selectStatement(-1));
  }

  // ---- what blocked threads waited on ----

  // Samples whose leaf is a blocking system call (wall clock: "[blocked] fdatasync fd 7:
  // .../bolsa.db-wal"), summed per descriptor on the C side, most time first: a row per
  // descriptor with the calls that waited on it. Selecting one highlights its samples as
  // a statement's are.
  const W = D.waits;

  // A row's descriptor as the table names it: "fd 7: .../bolsa.db-wal", or its call for a
  // call that named no descriptor.
  function waitName(r) {
    const w = W.rows[r];
    return w.what !== null ? `fd ${w.fd}: ${w.what}` : `${w.calls[0].name} (no descriptor)`;
  }

  function waitsNote() {
    const all = trees[0].T.total[0];
    $('waits-note').textContent = W.rows.length ?
      `Share: of the sampled time (${fmtMs(all)}), with its margin from the sample counts; a descriptor is ` +
      'described as it was when the session stopped.' :
      'No sample found its thread blocked in a system call. In wall-clock sessions, a sample taken while its ' +
      'thread waits in a call such as read, poll or fdatasync names the file, socket or pipe it waited on here.';
  }

  function renderWaits() {
    if (!W.rows.length) return;
    $('waits-table').hidden = false;
    const focused = document.activeElement && document.activeElement.closest('#waits-body tr');
    $('waits-body').innerHTML = W.rows.map(waitRowHtml).join('');
    if (focused) $('waits-body').querySelector(`tr[data-row="${focused.dataset.row}"] .what button`).focus();
  }

  function waitRowHtml(w, r) {
    const on = sel.wait === r, n = D.samples.t.length, all = trees[0].T.total[0];
    const what = w.what !== null ? esc(w.what) : '<span class="none">no descriptor</span>';
    const fd = w.what !== null ? `<span class="fd">fd ${w.fd}</span> ` : '';
    const calls = w.calls.map((c) => `${esc(c.name)} <span class="n">${fmtMs(c.ns)}</span>`).join(', ');
    return `<tr data-row="${r}"${on ? ' class="selected"' : ''}>` +
      `<td class="what">${fd}<button type="button" aria-pressed="${on}" title="${esc(waitName(r))}">${what}</button></td>` +
      `<td class="calls">${calls}</td>` +
      `<td class="num">${fmtMs(w.ns)}</td>` +
      `<td class="num">${fmtShare(all ? 100 * w.ns / all : 0, marginPct(w.samples, n))}</td>` +
      `<td class="num">${w.samples.toLocaleString('en-US')}</td></tr>`;
  }

  // Selects a row (or none: -1; the selected one again toggles it off).
  function selectWait(r) {
    const on = r >= 0 && r !== sel.wait;
    select(-1, on ? r : -1, on ? waitSamples(r) : null);
  }

  function waitSamples(r) {
    const s = D.samples.s, mask = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) mask[i] = W.stack[s[i]] === r ? 1 : 0;
    return mask;
  }

  function wireWaits() {
    $('waits-body').addEventListener('click', (ev) => {
      const b = ev.target.closest('.what button');
      if (b) selectWait(Number(b.closest('tr').dataset.row));
    });
    $('waits-section').addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape' && sel.wait >= 0) selectWait(-1);
    });
    $('waits-clear').addEventListener('click', () => selectWait(-1));
  }

  // ---- flame graph ----

  // An icicle of the tree the call tree shows (the same `cur`, so "Show all frames" folds
  // it the same way): the root on top, each node under its caller, as wide as its share of
  // the time. Each tree keeps its own zoom (st.zoom, the node drawn full width) and
  // keyboard position (st.focus). The layout is kept for hit tests and redone only when
  // the tree, the zoom or the width change; search and focus only repaint.
  const fg = { st: null, zoom: -1, W: 0, L: null, charW: 0 };

  // Rectangles in columns: node, x, w, row; byRow[r] lists row r's rectangles left to
  // right; at maps a node to its rectangle.
  function flameLayout(st, W) {
    const L = { node: [], x: [], w: [], row: [], byRow: [], at: new Map() };
    const add = (i, x, w, r) => {
      const k = L.node.length;
      L.node.push(i); L.x.push(x); L.w.push(w); L.row.push(r);
      (L.byRow[r] || (L.byRow[r] = [])).push(k);
      L.at.set(i, k);
    };
    // The zoomed node's callers stay on top, full width: the way back out.
    const chain = zoomChain(st);
    chain.forEach((a, r) => add(a, 0, W, r));
    layoutBelow(st, W, chain.length - 1, add);
    for (const list of L.byRow) list.sort((a, b) => L.x[a] - L.x[b]);
    return L;
  }

  // The root, its descendants down to the zoomed node, and that node.
  function zoomChain(st) {
    const chain = [];
    for (let a = st.zoom; a >= 0; a = st.T.parent[a]) chain.push(a);
    return chain.reverse();
  }

  // The zoomed node's descendants, heaviest first from the left, without recursion (stacks
  // may be very deep). A node narrower than FG_MIN_W is left out with all it holds.
  function layoutBelow(st, W, top, add) {
    const T = st.T, z = st.zoom, scale = T.total[z] ? W / T.total[z] : 0;
    const todo = [z], left = [0];
    while (todo.length) {
      const p = todo.pop();
      let x = left.pop();
      for (let c = st.first[p]; c >= 0; c = st.next[c]) {
        const w = T.total[c] * scale;
        if (w >= FG_MIN_W) {
          add(c, x, w, top + st.depth[c] - st.depth[z]);
          todo.push(c);
          left.push(x);
        }
        x += w;
      }
    }
  }

  // Colours the page's stylesheet decides (light or dark scheme).
  function flameColors() {
    const css = getComputedStyle(document.documentElement);
    return { match: css.getPropertyValue('--flame-match').trim() || '#c77ddb',
      muted: css.getPropertyValue('--muted').trim() || '#6b7075',
      accent: css.getPropertyValue('--accent').trim() || '#d84315',
      fg: getComputedStyle(document.body).color };
  }

  function drawFlame(again) {
    const st = cur, canvas = $('flame'), wrap = canvas.parentElement, W = wrap.clientWidth;
    if (st.n < 2) {
      sizeCanvas(canvas, W, 0);
      $('flame-info').textContent = 'No samples were recorded.';
      return;
    }
    if (fg.st !== st || fg.zoom !== st.zoom || fg.W !== W)
      Object.assign(fg, { st, zoom: st.zoom, W, L: flameLayout(st, W) });
    const L = fg.L, ctx = sizeCanvas(canvas, W, L.byRow.length * FG_ROW + 1);
    ctx.font = FG_FONT;
    ctx.textBaseline = 'middle';
    if (!fg.charW) fg.charW = ctx.measureText('0000000000').width / 10;
    const colors = flameColors(), zoomRow = L.row[L.at.get(st.zoom)];
    for (let k = 0; k < L.node.length; k++) drawFlameRect(ctx, st, k, L.row[k] < zoomRow, colors);
    drawFlameFocus(ctx, st, colors);
    showCrumbs(st);
    showFlameMatch(st);
    // The new height may have brought or taken away a scrollbar, and so changed the width.
    if (!again && wrap.clientWidth !== W) drawFlame(true);
  }

  // How a frame is painted. With a statement selected, the part of each frame's time
  // taken while it ran is drawn solid from the left, the rest faded (the selection wins
  // over the search while it lasts). While searching, matches stand out and the rest
  // fades; otherwise the zoomed node's callers, kept on top as the way back out, are paler.
  function flameStyle(st, i, caller, colors) {
    const fill = i ? color(st, i) : ROOT_FILL;
    if (sel.mask) {
      const part = st.T.total[i] ? selWeights(st).ns[i] / st.T.total[i] : 0;
      if (!part) return { fill, alpha: 0.3, ink: colors.muted, tail: colors.muted };
      return { fill, alpha: 0.3, part, ink: INK, tail: INK_SOFT };
    }
    if (st.match && st.match[i]) return { fill: colors.match, alpha: 1, ink: INK, tail: INK_SOFT };
    if (st.match) return { fill, alpha: 0.3, ink: colors.muted, tail: colors.muted };
    return caller ? { fill, alpha: 0.6, ink: INK_SOFT, tail: INK_SOFT } : { fill, alpha: 1, ink: INK, tail: INK_SOFT };
  }

  // One frame: its bar, then as much of its name as fits and, when there is room, its
  // share with its margin.
  function drawFlameRect(ctx, st, k, caller, colors) {
    const L = fg.L, i = L.node[k], x = L.x[k], w = L.w[k], y = L.row[k] * FG_ROW;
    const look = flameStyle(st, i, caller, colors), bw = w > 2 ? w - 1 : w;
    ctx.globalAlpha = look.alpha;
    ctx.fillStyle = look.fill;
    ctx.fillRect(x, y, bw, FG_ROW - 1);
    ctx.globalAlpha = 1;
    if (look.part) ctx.fillRect(x, y, bw * look.part, FG_ROW - 1);
    const room = Math.floor((w - 6) / fg.charW);
    if (room < 3) return;
    const name = label(st, i), tail = share(st, i);
    ctx.textAlign = 'left';
    flameText(ctx, look, name.length > room ? name.slice(0, room - 1) + '…' : name, x + 3, [x, y, w],
      [look.ink, colors.fg]);
    if (name.length + tail.length + 3 > room) return;
    ctx.textAlign = 'right';
    flameText(ctx, look, tail, x + w - 4, [x, y, w], [look.tail, colors.muted]);
  }

  // Text on a bar in its ink; on a bar partly solid (a selection), the faded rest takes the
  // page's own colour instead, which reads on it in either colour scheme.
  function flameText(ctx, look, text, tx, [x, y, w], [ink, faded]) {
    const solid = look.part ? look.part * w : w, ty = y + FG_ROW / 2;
    ctx.fillStyle = ink;
    if (solid >= w) {
      ctx.fillText(text, tx, ty);
      return;
    }
    for (const [from, to, style] of [[x, x + solid, ink], [x + solid, x + w, faded]]) {
      ctx.save();
      ctx.beginPath();
      ctx.rect(from, y, to - from, FG_ROW);
      ctx.clip();
      ctx.fillStyle = style;
      ctx.fillText(text, tx, ty);
      ctx.restore();
    }
  }

  // The keyboard's frame gets an outline while the graph has the focus.
  function drawFlameFocus(ctx, st, colors) {
    const k = fg.L.at.get(st.focus);
    if (k === undefined || document.activeElement !== $('flame')) return;
    ctx.strokeStyle = colors.fg;
    ctx.lineWidth = 2;
    ctx.strokeRect(fg.L.x[k] + 1, fg.L.row[k] * FG_ROW + 1, Math.max(fg.L.w[k] - 3, 1), FG_ROW - 3);
  }

  // The path from the root to the zoomed node, each step a button back to it; a long
  // path keeps its first step and its last few. Rebuilt only when the zoom changes; a
  // keyboard user who zoomed from it stays on it.
  function showCrumbs(st) {
    const el = $('flame-crumbs'), key = `${trees.indexOf(st)}:${st.zoom}`;
    if (el.dataset.key === key) return;
    el.dataset.key = key;
    const hadFocus = el.contains(document.activeElement), chain = zoomChain(st);
    const shown = chain.length > FG_CRUMBS ? [chain[0], -1, ...chain.slice(1 - FG_CRUMBS)] : chain;
    el.innerHTML = shown.map((a) => a < 0 ? '<span class="sep">…</span>' :
      `<button type="button" data-i="${a}"${a === st.zoom ? ' aria-current="true"' : ''}` +
      ` title="${esc(label(st, a))}">${esc(label(st, a))}</button>`)
      .join('<span class="sep" aria-hidden="true">›</span>');
    if (hadFocus) el.querySelector('[aria-current]').focus();
    $('flame-reset').disabled = st.zoom === 0;
  }

  // While searching and zoomed, the matched share of the zoomed node (the search box
  // already shows the share of the whole).
  function showFlameMatch(st) {
    $('flame-match').textContent = st.match && st.zoom > 0 ?
      `matches: ${matchedShare(st, st.zoom)} of ${label(st, st.zoom)}` : '';
  }

  // What the tooltip and the line under the graph say about node i.
  function describe(st, i) {
    const T = st.T, parts = [label(st, i)];
    if (i) parts.push(T.frame[i] < 0 ? rootNote(st, i) : where(T.frame[i]));
    parts.push(`${fmtMs(T.total[i])}, ${share(st, i)} of all`,
      `${plural(T.count[i], 'sample')} of ${T.count[0].toLocaleString('en-US')}`);
    const z = st.zoom;
    if (z > 0 && i !== z && st.depth[i] > st.depth[z])
      parts.push(`${(100 * T.total[i] / T.total[z]).toFixed(1)}% of ${label(st, z)}`);
    if (sel.mask) {
      const w = selWeights(st);
      parts.push(`highlighted: ${plural(w.k[i], 'sample')}, ${fmtMs(w.ns[i])}`);
    }
    return parts.filter(Boolean);
  }

  function flameTipHtml(st, i) {
    const [name, ...rest] = describe(st, i);
    return `<b>${esc(name)}</b>${rest.map(esc).join('<br>')}` +
      '<br><span class="muted">± is one standard error, from the sample counts</span>';
  }

  // The layout of what is on screen now: a zoom asked for in this frame is drawn at once,
  // so that the next key or click is read against it.
  function flameNow() {
    if (fg.st !== cur || fg.zoom !== cur.zoom) drawFlame();
    return fg.L;
  }

  // The rectangle under the pointer, or -1.
  function flameAt(ev) {
    const L = flameNow(), box = $('flame').getBoundingClientRect();
    if (!L || !box.width) return -1;
    const r = Math.floor((ev.clientY - box.top) / FG_ROW);
    const x = (ev.clientX - box.left) * fg.W / box.width;
    for (const k of L.byRow[r] || []) if (x >= L.x[k] && x < L.x[k] + L.w[k]) return k;
    return -1;
  }

  function zoomTo(i) {
    cur.zoom = i;
    setFocus(i);
  }

  function setFocus(i) {
    cur.focus = i;
    $('flame-info').textContent = describe(cur, i).join(' — ');
    flameSoon();
  }

  // Arrows walk the graph (up to the caller, down to the heaviest callee, sideways along
  // the row), Enter or Space zooms to the frame, Escape or Backspace zooms out one level,
  // Home resets the zoom.
  function flameKey(ev) {
    const st = cur;
    if (st.n < 2) return;
    const L = flameNow();
    const f = L.at.has(st.focus) ? st.focus : st.zoom, k = L.at.get(f);
    const moves = {
      ArrowUp: () => setFocus(L.row[k] > 0 ? st.T.parent[f] : f),
      ArrowDown: () => setFocus(drawnChild(st, f)),
      ArrowLeft: () => setFocus(rowNeighbour(k, -1)),
      ArrowRight: () => setFocus(rowNeighbour(k, 1)),
      Enter: () => zoomTo(f),
      ' ': () => zoomTo(f),
      Escape: () => zoomTo(st.zoom > 0 ? st.T.parent[st.zoom] : 0),
      Backspace: () => zoomTo(st.zoom > 0 ? st.T.parent[st.zoom] : 0),
      Home: () => zoomTo(0),
    };
    if (!moves[ev.key]) return;
    ev.preventDefault();
    moves[ev.key]();
  }

  function drawnChild(st, f) {
    for (let c = st.first[f]; c >= 0; c = st.next[c]) if (fg.L.at.has(c)) return c;
    return f;
  }

  function rowNeighbour(k, step) {
    const list = fg.L.byRow[fg.L.row[k]], j = list.indexOf(k) + step;
    return fg.L.node[list[Math.min(Math.max(j, 0), list.length - 1)]];
  }

  function wireFlame() {
    const canvas = $('flame');
    canvas.addEventListener('mousemove', (ev) => {
      const k = flameAt(ev);
      if (k < 0) $('tooltip').hidden = true;
      else placeTip(ev, flameTipHtml(cur, fg.L.node[k]));
    });
    canvas.addEventListener('mouseleave', () => { $('tooltip').hidden = true; });
    canvas.addEventListener('click', (ev) => {
      const k = flameAt(ev);
      if (k >= 0) zoomTo(fg.L.node[k]);
    });
    canvas.addEventListener('keydown', flameKey);
    canvas.addEventListener('focus', () => { if (cur.focus < 0) setFocus(cur.zoom); else flameSoon(); });
    canvas.addEventListener('blur', flameSoon);
    $('flame-crumbs').addEventListener('click', (ev) => {
      const b = ev.target.closest('button');
      if (b) zoomTo(Number(b.dataset.i));
    });
    $('flame-reset').addEventListener('click', (ev) => {
      zoomTo(0);
      if (ev.detail === 0) $('flame').focus(); // from the keyboard: the button goes disabled
    });
    window.addEventListener('resize', flameSoon);
  }

  // ---- page ----

  function header() {
    $('title').textContent = D.title;
    const sampled = cur.T.total[0] || 0;
    const stats = [
      ['Duration', fmtMs(D.duration_ns)],
      ['Samples', String(D.samples.t.length)],
      ['Sampled', fmtMs(sampled)],
      ['CPU', D.duration_ns ? (100 * D.cpu_ns / D.duration_ns).toFixed(1) + '%' : 'n/a'],
      ['Clock', D.clock],
    ];
    if (trees[1].threaded) stats.push(['Threads', String(trees[1].root.size)]);
    else if (D.thread || D.tid) stats.push(['Thread', `${D.thread} (${D.tid})`]);
    if (D.dropped) stats.push(['Dropped', String(D.dropped)]);
    if (M.start.length || M.dropped)
      stats.push(['Markers', M.start.length.toLocaleString('en-US') + (M.dropped ? ` (${M.dropped} dropped)` : '')]);
    if (D.start_unix_ns) {
      const d = new Date(D.start_unix_ns / 1e6);
      if (!isNaN(d)) stats.push(['Recorded', d.toISOString().replace('T', ' ').slice(0, 19) + ' UTC']);
    }
    $('stats').innerHTML = stats.map(([k, v]) => `<div><dt>${esc(k)}</dt><dd>${esc(v)}</dd></div>`).join('');
  }

  function wireControls() {
    let timer = 0;
    $('search').addEventListener('input', (ev) => {
      clearTimeout(timer);
      timer = setTimeout(() => setQuery(ev.target.value), 120);
    });
    $('show-all').checked = !!D.show_all;
    $('show-all').addEventListener('change', (ev) => {
      cur = trees[ev.target.checked ? 1 : 0];
      showThreadPicker();
      showSearchCount();
      renderTree();
      drawSoon();
      showFlameHint();
      flameSoon();
    });
    $('expand-hot').addEventListener('click', () => { openDefault(cur); renderTree(); });
    $('collapse-all').addEventListener('click', () => { cur.open.fill(0); renderTree(); });
    $('tree').addEventListener('click', (ev) => {
      const row = ev.target.closest('.row');
      if (row) toggle(Number(row.dataset.i));
    });
  }

  // The menu of what the timeline shows in a process-wide session: every thread, or one
  // thread (or idle group) of the tree shown. A thread picked in one tree stays picked in
  // the other; folded into a group there, the group is.
  function showThreadPicker() {
    if (!cur.threaded) return;
    const other = trees[cur === trees[0] ? 1 : 0];
    if (tl.pick !== 'all' && pickedRoot(cur) < 0) {
      const was = pickedRoot(other), parked = was >= 0 && other.root.get(was).parked;
      tl.pick = parked && [...cur.root.keys()].some((i) => rootKey(cur, i) === `g${parked}`) ? `g${parked}` : 'all';
    }
    const options = [['all', 'every thread, a lane each']];
    for (const i of cur.root.keys()) options.push([rootKey(cur, i), cur.labels[i]]);
    $('timeline-thread').innerHTML = options.map(([v, text]) =>
      `<option value="${esc(v)}">${esc(text)}</option>`).join('');
    $('timeline-thread').value = tl.pick;
    $('timeline-pick').hidden = false;
    pickMarkers();
  }

  // The markers of the thread the timeline shows, or all of them.
  function pickMarkers() {
    const top = pickedRoot(cur), thread = top >= 0 ? cur.root.get(top).thread : -1;
    if (mk.thread === thread) return;
    mk = layoutMarkers(thread);
    mkFocus = -1;
    showTimelineHint();
  }

  function wirePicker() {
    $('timeline-thread').addEventListener('change', (ev) => {
      tl.pick = ev.target.value;
      pickMarkers();
      drawSoon();
    });
  }

  function showTimelineHint() {
    $('timeline-info').textContent = mk.byRow.length ?
      'Hover a marker or a sample for its details; click a marker to zoom to it, a sample to find it in the call tree.' :
      'Hover a sample for its details; click it to find it in the call tree.';
  }

  // The line under the flame graph: the keyboard's frame, or how to use the graph.
  function showFlameHint() {
    if (cur.focus >= 0) setFocus(cur.focus);
    else if (cur.n > 1) $('flame-info').textContent = 'Hover a frame for its details; click it to zoom.';
  }

  header();
  wireControls();
  wireTimeline();
  wirePicker();
  showThreadPicker();
  wireFlame();
  wireSql();
  wireWaits();
  renderTree();
  sqlNote();
  renderSql();
  waitsNote();
  renderWaits();
  showTimelineHint();
  showFlameHint();
  drawFlame();
  drawTimeline();
  // Ready (and how long it took since navigation began, for the benchmark) once the
  // frame with everything drawn has been painted.
  requestAnimationFrame(() => setTimeout(() => {
    document.body.dataset.readyMs = performance.now().toFixed(1);
    document.body.dataset.ready = '1';
  }, 0));
})();
