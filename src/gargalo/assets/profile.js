/*
 * gargalo profile page: draws the header, the call tree, the search and the timeline
 * from the JSON the C renderer put in #gg-data. Plain DOM and one canvas; the trees
 * arrive already built (grouped and with every frame), so this only displays them.
 */
'use strict';
(function () {
  const D = JSON.parse(document.getElementById('gg-data').textContent);
  const F = D.frames;
  const MAX_ROWS = 3000;   // rows drawn at once; past that a note says how many are left
  const AUTO_OPEN = 25;    // besides the hot path, nodes above this share open at load
  const ROW_H = 16, AXIS_H = 20, MAX_LANES = 400;
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

  // Where a frame is: file:line, or its module when it has no debug information.
  function where(f) {
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

  // Links each tree's children (nodes come parent first, heavier siblings first).
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
    const labels = new Array(n);
    labels[0] = '';
    for (let i = 1; i < n; i++) {
      const h = T.hidden[i];
      labels[i] = F.name[T.frame[i]] + (h ? ` (+${h} frame${h === 1 ? '' : 's'})` : '');
    }
    const st = { T, n, first, next, depth, maxDepth, hot, labels, lower: null,
      open: new Uint8Array(n), match: null, keep: null, rects: null };
    openDefault(st);
    return st;
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
    if (F.lib[f]) cls.push('lib');
    if (st.match && st.match[i]) cls.push('match');
    const hasKids = kid(st, i) > 0, open = hasKids && isOpen(st, i);
    const file = F.file[f], line = F.line[f];
    const loc = file ? shortPath(file) + (line ? ':' + line : '') : '';
    const tip = `self ${fmtMs(T.self[i])}, ${plural(T.count[i], 'sample')}` +
      (F.module[f] ? `, ${F.module[f]}` : '');
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
  }

  function applyQuery(st) {
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

  // Merges consecutive samples that share a node at the same depth into one rectangle.
  function buildRects(st) {
    const S = D.samples, leaf = st.T.leaf, parent = st.T.parent;
    const x0 = [], x1 = [], lane = [], node = [];
    const byLane = [];
    const openNode = [], openRect = [];
    const path = [];
    let prevEnd = -Infinity;
    for (let k = 0; k < S.t.length; k++) {
      const end = S.t[k], start = end - S.w[k];
      path.length = 0;
      for (let i = leaf[S.s[k]]; i > 0; i = parent[i]) path.push(i);
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

  const view = { t0: 0, t1: 1, v0: 0, v1: 1 };
  (function setDomain() {
    const S = D.samples, n = S.t.length;
    const first = n ? Math.min(0, S.t[0] - S.w[0]) : 0;
    const last = n ? S.t[n - 1] : 0;
    view.t0 = view.v0 = first;
    view.t1 = view.v1 = Math.max(D.duration_ns, last, first + 1);
  })();

  // Warm hues for the program, grey for libraries; one colour per function.
  function color(st, i) {
    const f = st.T.frame[i];
    let h = 0;
    const s = F.name[f];
    for (let k = 0; k < s.length; k++) h = (h * 31 + s.charCodeAt(k)) | 0;
    h = Math.abs(h);
    if (F.lib[f]) return `hsl(210, 8%, ${68 + (h % 12)}%)`;
    return `hsl(${(h % 50) + 5}, ${70 + (h % 20)}%, ${62 + (h % 14)}%)`;
  }

  let drawPending = false;
  function drawSoon() {
    if (drawPending) return;
    drawPending = true;
    requestAnimationFrame(() => { drawPending = false; drawTimeline(); });
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

  function drawTimeline() {
    const st = cur, canvas = $('timeline');
    if (!st.rects) st.rects = buildRects(st);
    const R = st.rects, lanes = Math.min(R.byLane.length, MAX_LANES);
    const W = canvas.parentElement.clientWidth, H = AXIS_H + Math.max(lanes, 1) * ROW_H + 4;
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(W * dpr);
    canvas.height = Math.round(H * dpr);
    canvas.style.height = H + 'px';
    const ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, H);
    drawAxis(ctx, W);
    const scale = W / (view.v1 - view.v0);
    ctx.font = '11px ui-monospace, Menlo, Consolas, monospace';
    for (let d = 0; d < lanes; d++) drawLane(ctx, st, R, d, scale, W);
    ctx.globalAlpha = 1;
  }

  function drawLane(ctx, st, R, d, scale, W) {
    const list = R.byLane[d] || [], y = AXIS_H + d * ROW_H;
    let lastPx = -1;
    for (let k = lowerBound(R, list, view.v0); k < list.length; k++) {
      const r = list[k];
      if (R.x0[r] > view.v1) break;
      const a = (R.x0[r] - view.v0) * scale, b = (R.x1[r] - view.v0) * scale;
      if (b - a < 1 && Math.floor(b) <= lastPx) continue; // that pixel is already painted
      lastPx = Math.floor(b);
      const n = R.node[r];
      ctx.globalAlpha = st.match && !st.match[n] ? 0.25 : 1;
      ctx.fillStyle = color(st, n);
      const x = Math.max(a, -1), w = Math.max(Math.min(b, W + 1) - x, 1);
      ctx.fillRect(x, y, w > 2 ? w - 0.5 : w, ROW_H - 1);
      if (w > 36) {
        ctx.fillStyle = '#1d1f21';
        const maxChars = Math.floor((w - 6) / 6.6);
        const s = st.labels[n];
        ctx.fillText(s.length > maxChars ? s.slice(0, Math.max(maxChars - 1, 1)) + '…' : s, x + 3, y + ROW_H / 2);
      }
    }
  }

  // First rectangle of a lane that may reach past time t (lanes are in time order).
  function lowerBound(R, list, t) {
    let lo = 0, hi = list.length;
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      if (R.x1[list[m]] < t) lo = m + 1; else hi = m;
    }
    return lo;
  }

  function rectAt(ev) {
    const canvas = $('timeline'), box = canvas.getBoundingClientRect();
    const d = Math.floor((ev.clientY - box.top - AXIS_H) / ROW_H);
    const R = cur.rects;
    if (!R || d < 0 || d >= R.byLane.length || !R.byLane[d]) return -1;
    const t = view.v0 + (ev.clientX - box.left) / box.width * (view.v1 - view.v0);
    const list = R.byLane[d], k = lowerBound(R, list, t);
    return k < list.length && R.x0[list[k]] <= t ? list[k] : -1;
  }

  function showTip(ev) {
    const tip = $('tooltip'), r = rectAt(ev);
    if (r < 0) { tip.hidden = true; return; }
    const R = cur.rects, n = R.node[r], f = cur.T.frame[n];
    tip.innerHTML = `<b>${esc(cur.labels[n])}</b>${fmtMs(R.x1[r] - R.x0[r])} here, ` +
      `${fmtMs(cur.T.total[n])} (${share(cur, n)}) in all<br>${esc(where(f))}`;
    tip.hidden = false;
    tip.style.left = Math.min(ev.clientX + 12, window.innerWidth - tip.offsetWidth - 8) + 'px';
    tip.style.top = ev.clientY + 14 + 'px';
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
      if (drag && !drag.moved && ev.target === canvas) {
        const r = rectAt(ev);
        if (r >= 0) reveal(cur.rects.node[r]);
      }
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
    canvas.addEventListener('dblclick', () => setView(view.t0, view.t1 - view.t0));
    window.addEventListener('resize', drawSoon);
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
    if (D.thread || D.tid) stats.push(['Thread', `${D.thread} (${D.tid})`]);
    if (D.dropped) stats.push(['Dropped', String(D.dropped)]);
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
      showSearchCount();
      renderTree();
      drawSoon();
    });
    $('expand-hot').addEventListener('click', () => { openDefault(cur); renderTree(); });
    $('collapse-all').addEventListener('click', () => { cur.open.fill(0); renderTree(); });
    $('tree').addEventListener('click', (ev) => {
      const row = ev.target.closest('.row');
      if (row) toggle(Number(row.dataset.i));
    });
  }

  header();
  wireControls();
  wireTimeline();
  renderTree();
  drawTimeline();
  document.body.dataset.ready = '1';
})();
