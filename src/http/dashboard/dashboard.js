// Sentry live dashboard (served by sentryd as /dashboard.js).
//
// Plain JavaScript, no build step, no external resource: Chart.js 3 comes
// from /chart.js (Debian's libjs-chart.js, embedded in sentryd).
//
// Once a second it fetches /metrics (Prometheus text, parsed here),
// /v1/status, /v1/topics and /v1/groups, plus /v1/groups/{id} for each group
// and /v1/topics/{name} for a few topics at a time (each at most every
// TOPIC_DETAIL_MS). Rates and latency quantiles come from the difference
// between two scrapes; the last five minutes of samples live in a ring in
// memory (nothing is stored).
//
// Hooks for tests (tests/http/dashboard_test.py):
//   <body data-ready="1">      after the second scrape has been charted
//   <body data-connected="1|0"> whether the last /metrics fetch succeeded
//   <body data-scrapes="N">    successful scrapes so far
//   <body data-theme="light|dark"> the colours in use (prefers-color-scheme)
//   #tile-*[data-value]         the raw number each tile shows
//   tr.topic-row[data-topic], tr.partition-row[data-topic][data-partition][data-offline],
//   tr.group-row[data-group], tr.offset-row, td[data-col][data-value] in the tables
//
// Errors never escape: a failed poll shows "disconnected" and the next
// tick tries again.

'use strict';

(function () {
  const POLL_MS = 1000;
  const WINDOW_MS = 5 * 60 * 1000;     // charts show the last 5 minutes
  const FETCH_TIMEOUT_MS = 4000;
  const TOPIC_DETAIL_MS = 5000;        // refresh one topic's partitions at most this often
  const MAX_TOPIC_DETAILS_PER_TICK = 4;
  const MAX_GROUP_DETAILS_PER_TICK = 20;
  const MAX_PARTITION_ROWS = 100;      // per expanded topic (offline ones always shown)
  const AUTO_EXPAND_PARTITIONS = 32;   // expand every topic when the broker has at most this many partitions
  const LATENCY_APIS = ['produce_acks_1', 'produce_acks_all', 'fetch'];

  // ---------------------------------------------------------------------
  // Prometheus text format 0.0.4 parser.
  // Returns Map(name -> [{key, labels, value}]); `key` is the label text as
  // written, which identifies a series between two scrapes.

  function parseValue(s) {
    if (s === '+Inf' || s === 'Inf') return Infinity;
    if (s === '-Inf') return -Infinity;
    if (s === 'NaN') return NaN;
    return Number(s);
  }

  function parsePrometheus(text) {
    const out = new Map();
    const lines = text.split('\n');
    for (const raw of lines) {
      const line = raw.trim();
      if (line === '') continue;
      if (line[0] === '#') {
        // "# TYPE name type" declares a family even when it has no series yet
        // (no consumer group: lag sums to 0 rather than "no data").
        const t = /^#\s*TYPE\s+(\S+)\s+(\S+)/.exec(line);
        if (t) {
          const names = t[2] === 'histogram' ? [t[1] + '_bucket', t[1] + '_sum', t[1] + '_count'] : [t[1]];
          for (const n of names) if (!out.has(n)) out.set(n, []);
        }
        continue;
      }
      let i = 0;
      while (i < line.length && line[i] !== '{' && line[i] !== ' ' && line[i] !== '\t') i++;
      const name = line.slice(0, i);
      const labels = {};
      let key = '';
      if (line[i] === '{') {
        const start = i;
        i++;
        for (;;) {
          while (i < line.length && (line[i] === ' ' || line[i] === ',')) i++;
          if (i >= line.length) break;
          if (line[i] === '}') { i++; break; }
          const eq = line.indexOf('=', i);
          if (eq < 0) { i = line.length; break; }
          const lname = line.slice(i, eq).trim();
          i = eq + 1;
          if (line[i] !== '"') { i = line.length; break; }
          i++;
          let v = '';
          while (i < line.length && line[i] !== '"') {
            if (line[i] === '\\' && i + 1 < line.length) {
              const c = line[i + 1];
              v += c === 'n' ? '\n' : c;  // \\ -> \, \" -> ", \n -> newline
              i += 2;
            } else {
              v += line[i++];
            }
          }
          i++;  // closing quote
          labels[lname] = v;
        }
        key = line.slice(start, i);
      }
      const rest = line.slice(i).trim().split(/\s+/);
      if (name === '' || rest.length === 0 || rest[0] === '') continue;
      const value = parseValue(rest[0]);
      let arr = out.get(name);
      if (!arr) { arr = []; out.set(name, arr); }
      arr.push({ key, labels, value });
    }
    return out;
  }

  // ---------------------------------------------------------------------
  // Helpers over parsed metrics.

  function matches(labels, filter) {
    if (!filter) return true;
    for (const k in filter) {
      const want = filter[k];
      if (Array.isArray(want) ? !want.includes(labels[k]) : labels[k] !== want) return false;
    }
    return true;
  }

  // Sum of every series of `name` matching `filter` (null when absent).
  function sum(m, name, filter) {
    const arr = m.get(name);
    if (!arr) return null;
    let s = 0;
    for (const x of arr) if (matches(x.labels, filter)) s += x.value;
    return s;
  }

  // Map(label value -> sum) of `name` grouped by one label.
  function sumBy(m, name, label, filter) {
    const res = new Map();
    for (const x of m.get(name) || []) {
      if (!matches(x.labels, filter)) continue;
      const k = x.labels[label] || '';
      res.set(k, (res.get(k) || 0) + x.value);
    }
    return res;
  }

  // Increase of a counter between two scrapes, series by series (a series
  // that went down was reset: its whole value counts, as in Prometheus),
  // summed into groups by keyFn(labels). Series gone since are ignored.
  function increaseBy(cur, prev, name, filter, keyFn) {
    const before = new Map();
    for (const x of prev.get(name) || []) before.set(x.key, x.value);
    const res = new Map();
    for (const x of cur.get(name) || []) {
      if (!matches(x.labels, filter)) continue;
      const p = before.get(x.key);
      let d = p === undefined ? x.value : x.value - p;
      if (d < 0) d = x.value;
      const k = keyFn(x.labels);
      res.set(k, (res.get(k) || 0) + d);
    }
    return res;
  }

  function increase(cur, prev, name, filter) {
    return increaseBy(cur, prev, name, filter, () => '').get('') || 0;
  }

  // Buckets of a histogram's increase between two scrapes: [[le, count]]
  // sorted by le, counts cumulative, summed over the other labels.
  function histogramIncrease(cur, prev, base, filter) {
    const byLe = increaseBy(cur, prev, base + '_bucket', filter, (l) => l.le);
    const buckets = [];
    for (const [le, c] of byLe) buckets.push([parseValue(le), c]);
    buckets.sort((a, b) => a[0] - b[0]);
    return buckets;
  }

  // Prometheus' histogram_quantile: linear interpolation inside the bucket
  // holding the rank; the +Inf bucket answers the highest finite bound.
  // null when there were no observations.
  function histogramQuantile(q, buckets) {
    if (buckets.length < 2 || buckets[buckets.length - 1][0] !== Infinity) return null;
    // Enforce monotonic counts (a scrape can race with an observation).
    for (let i = 1; i < buckets.length; i++) {
      if (buckets[i][1] < buckets[i - 1][1]) buckets[i][1] = buckets[i - 1][1];
    }
    const total = buckets[buckets.length - 1][1];
    if (!(total > 0)) return null;
    let rank = q * total;
    let b = buckets.findIndex((x) => x[1] >= rank);
    if (b < 0) b = buckets.length - 1;
    if (b === buckets.length - 1) return buckets[buckets.length - 2][0];
    if (b === 0 && buckets[0][0] <= 0) return buckets[0][0];
    let start = 0;
    let end = buckets[b][0];
    let count = buckets[b][1];
    if (b > 0) {
      start = buckets[b - 1][0];
      count -= buckets[b - 1][1];
      rank -= buckets[b - 1][1];
    }
    if (count <= 0) return end;
    return start + (end - start) * (rank / count);
  }

  function distinctLabel(m, name, label) {
    const s = new Set();
    for (const x of m.get(name) || []) s.add(x.labels[label]);
    return s;
  }

  // ---------------------------------------------------------------------
  // Formatting.

  const intFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

  function isNum(v) { return typeof v === 'number' && isFinite(v); }
  function fmtInt(v) { return isNum(v) ? intFmt.format(v) : '\u2013'; }
  function fmtSig(v, digits) {
    if (!isNum(v)) return '\u2013';
    if (v === 0) return '0';
    const a = Math.abs(v);
    if (a >= 1000) return intFmt.format(v);
    return Number(v.toPrecision(digits || 3)).toString();
  }
  function fmtShort(v) {  // axis labels: 1.2k, 3.4M
    if (!isNum(v)) return '';
    const a = Math.abs(v);
    if (a >= 1e12) return fmtSig(v / 1e12) + 'T';
    if (a >= 1e9) return fmtSig(v / 1e9) + 'G';
    if (a >= 1e6) return fmtSig(v / 1e6) + 'M';
    if (a >= 1e3) return fmtSig(v / 1e3) + 'k';
    return fmtSig(v);
  }
  // Bytes in decimal units; returns [number text, unit].
  function fmtBytes(v) {
    if (!isNum(v)) return ['\u2013', ''];
    const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
    let i = 0;
    let x = v;
    while (Math.abs(x) >= 1000 && i < units.length - 1) { x /= 1000; i++; }
    return [i === 0 ? intFmt.format(x) : fmtSig(x), units[i]];
  }
  function bytesText(v) { const [n, u] = fmtBytes(v); return u ? n + ' ' + u : n; }
  function fmtDuration(s) {
    if (!isNum(s)) return '\u2013';
    s = Math.floor(s);
    const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
    const sec = s % 60;
    if (d > 0) return `${d}d ${h}h ${m}m`;
    if (h > 0) return `${h}h ${m}m ${sec}s`;
    if (m > 0) return `${m}m ${sec}s`;
    return `${sec}s`;
  }
  function pad2(n) { return n < 10 ? '0' + n : String(n); }
  function clock(ms) {
    const d = new Date(ms);
    return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
  }

  // ---------------------------------------------------------------------
  // DOM helpers (text only, never innerHTML with data: group ids may hold anything).

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    if (attrs) {
      for (const k in attrs) {
        const v = attrs[k];
        if (v === undefined || v === null || v === false) continue;
        if (k === 'class') e.className = v;
        else if (k === 'text') e.textContent = v;
        else e.setAttribute(k, v === true ? '' : String(v));
      }
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return e;
  }
  const $ = (id) => document.getElementById(id);
  function setText(id, text) { const e = $(id); if (e && e.textContent !== text) e.textContent = text; }

  // ---------------------------------------------------------------------
  // Tiles. `value` is the raw number (data-value); `show` formats it.

  const TILES = [
    { id: 'tile-records-in-rate', label: 'Records in / s', show: (v) => [fmtSig(v), ''] },
    { id: 'tile-records-out-rate', label: 'Records out / s', show: (v) => [fmtSig(v), ''] },
    { id: 'tile-bytes-in-rate', label: 'In (MB/s)', show: (v) => [fmtSig(v / 1e6), 'MB/s'] },
    { id: 'tile-bytes-out-rate', label: 'Out (MB/s)', show: (v) => [fmtSig(v / 1e6), 'MB/s'] },
    { id: 'tile-records-in-total', label: 'Records in (total)', show: (v) => [fmtInt(v), ''] },
    { id: 'tile-records-out-total', label: 'Records out (total)', show: (v) => [fmtInt(v), ''] },
    { id: 'tile-bytes-in-total', label: 'Bytes in (total)', show: fmtBytes },
    { id: 'tile-bytes-out-total', label: 'Bytes out (total)', show: fmtBytes },
    { id: 'tile-produce-acks-all-p99', label: 'p99 acks=all (1m)', hint: 'produce latency p99, acks=all, over the last minute', show: (v) => [fmtSig(v * 1e3), 'ms'] },
    { id: 'tile-produce-acks-1-p99', label: 'p99 acks=1 (1m)', hint: 'produce latency p99, acks=1, over the last minute', show: (v) => [fmtSig(v * 1e3), 'ms'] },
    { id: 'tile-fetch-p99', label: 'p99 fetch (1m)', hint: 'fetch latency p99 over the last minute', show: (v) => [fmtSig(v * 1e3), 'ms'] },
    { id: 'tile-msync-p99', label: 'p99 msync (1m)', hint: 'msync duration p99 over the last minute', show: (v) => [fmtSig(v * 1e3), 'ms'] },
    { id: 'tile-writer-queue', label: 'Writer queue', show: (v) => [fmtInt(v), ''] },
    { id: 'tile-consumer-lag', label: 'Consumer lag', show: (v) => [fmtInt(v), ''] },
    { id: 'tile-connections', label: 'Connections', show: (v) => [fmtInt(v), ''] },
    { id: 'tile-topics', label: 'Topics', show: (v) => [fmtInt(v), ''] },
    { id: 'tile-groups', label: 'Consumer groups', show: (v) => [fmtInt(v), ''] },
    { id: 'tile-partitions-online', label: 'Partitions online', show: (v) => [fmtInt(v), ''] },
    { id: 'tile-partitions-offline', label: 'Partitions OFFLINE', show: (v) => [fmtInt(v), ''], bad: (v) => v > 0 },
    { id: 'tile-disk-used', label: 'Disk used', show: fmtBytes },
    { id: 'tile-disk-free', label: 'Disk free', show: fmtBytes },
  ];

  function buildTiles() {
    const box = $('tiles');
    for (const t of TILES) {
      box.appendChild(el('div', { class: 'tile', id: t.id + '-box' },
        el('div', { class: 'label', text: t.label, title: t.hint || t.label }),
        el('div', { class: 'value', id: t.id, 'data-value': '' }, '\u2013')));
    }
  }

  function setTile(t, v) {
    const e = $(t.id);
    if (!e) return;
    const ok = isNum(v);
    const raw = ok ? String(v) : '';
    if (e.dataset.value === raw && e.childNodes.length > 0 && e.dataset.shown === '1') return;
    const [num, unit] = ok ? t.show(v) : ['\u2013', ''];
    e.textContent = num;
    if (unit) e.appendChild(el('span', { class: 'unit', text: unit }));
    e.dataset.value = raw;
    e.dataset.shown = '1';
    const box = $(t.id + '-box');
    box.classList.toggle('bad', ok && !!t.bad && t.bad(v));
    box.classList.toggle('warn', ok && !!t.warn && t.warn(v));
  }

  // ---------------------------------------------------------------------
  // Samples: a ring of the last five minutes. Each sample is
  // {t, v: {seriesKey: number|null}}; keys are "<chart>|<series>".

  const ring = [];
  let prevScrape = null;  // {t, m, start}

  // The latency tiles use the last minute (one second often holds no
  // request): cumulative buckets of each scrape within it, summed over series.
  const TILE_QUANTILE_WINDOW_MS = 60 * 1000;
  const tileHist = [];    // [{t, start, h: {name: Map(le -> cumulative count)}}]

  function cumulativeBuckets(m, base, filter) {
    return sumBy(m, base + '_bucket', 'le', filter);
  }

  // p99 over the tile window for each histogram of `h` (null: no observation).
  function windowQuantiles(now, start, h) {
    tileHist.push({ t: now, start, h });
    while (tileHist.length > 1 && (tileHist[0].t < now - TILE_QUANTILE_WINDOW_MS || tileHist[0].start !== start)) tileHist.shift();
    const res = {};
    const base = tileHist[0];
    for (const k in h) {
      if (base.t === now) { res[k] = null; continue; }
      const buckets = [];
      for (const [le, c] of h[k]) {
        const before = base.h[k] ? base.h[k].get(le) : undefined;
        const d = before === undefined ? c : c - before;
        buckets.push([parseValue(le), d < 0 ? c : d]);
      }
      buckets.sort((a, b) => a[0] - b[0]);
      res[k] = histogramQuantile(0.99, buckets);
    }
    return res;
  }

  function pushSample(s) {
    ring.push(s);
    const cutoff = s.t - WINDOW_MS;
    while (ring.length > 0 && ring[0].t < cutoff) ring.shift();
  }

  // Everything derived from one scrape (and the one before it).
  function computeSample(m, now) {
    const v = {};
    const start = sum(m, 'sentry_start_time_seconds');
    const prev = prevScrape && prevScrape.start === start && now > prevScrape.t ? prevScrape : null;
    const cur = {
      recordsIn: sum(m, 'sentry_records_in_total'),
      recordsOut: sum(m, 'sentry_records_out_total'),
      bytesIn: sum(m, 'sentry_bytes_in_total'),
      bytesOut: sum(m, 'sentry_bytes_out_total'),
      rates: null,
      p99: {},
      msyncP99: null,
    };
    if (prev) {
      const dt = (now - prev.t) / 1000;
      const pm = prev.m;
      const rates = {
        recordsIn: increase(m, pm, 'sentry_records_in_total') / dt,
        recordsOut: increase(m, pm, 'sentry_records_out_total') / dt,
        bytesIn: increase(m, pm, 'sentry_bytes_in_total') / dt,
        bytesOut: increase(m, pm, 'sentry_bytes_out_total') / dt,
      };
      cur.rates = rates;
      v['records|in'] = rates.recordsIn;
      v['records|out'] = rates.recordsOut;
      v['bytes|in'] = rates.bytesIn / 1e6;
      v['bytes|out'] = rates.bytesOut / 1e6;
      for (const api of LATENCY_APIS) {
        const b = histogramIncrease(m, pm, 'sentry_request_duration_seconds', { api });
        const p50 = histogramQuantile(0.5, b);
        const p99 = histogramQuantile(0.99, b);
        v[`latency|${api} p50`] = p50 === null ? null : p50 * 1e3;
        v[`latency|${api} p99`] = p99 === null ? null : p99 * 1e3;
      }
      const dCount = increase(m, pm, 'sentry_msync_duration_seconds_count');
      const dSum = increase(m, pm, 'sentry_msync_duration_seconds_sum');
      const mb = histogramIncrease(m, pm, 'sentry_msync_duration_seconds');
      const mp99 = histogramQuantile(0.99, mb);
      v['msync|mean'] = dCount > 0 ? (dSum / dCount) * 1e3 : null;
      v['msync|p99'] = mp99 === null ? null : mp99 * 1e3;
    }
    const hs = { msync: cumulativeBuckets(m, 'sentry_msync_duration_seconds') };
    for (const api of LATENCY_APIS) hs[api] = cumulativeBuckets(m, 'sentry_request_duration_seconds', { api });
    const wq = windowQuantiles(now, start, hs);
    for (const api of LATENCY_APIS) cur.p99[api] = wq[api];
    cur.msyncP99 = wq.msync;
    v['queue|depth'] = sum(m, 'sentry_writer_queue_depth');
    for (const [g, lag] of sumBy(m, 'sentry_consumer_group_lag', 'group')) v['lag|' + g] = lag;
    const total = sum(m, 'sentry_disk_total_bytes');
    const free = sum(m, 'sentry_disk_free_bytes');
    cur.diskFree = free;
    cur.diskUsed = total !== null && free !== null ? total - free : null;
    v['disk|used'] = cur.diskUsed === null ? null : cur.diskUsed / 1e9;
    v['disk|free'] = free === null ? null : free / 1e9;
    for (const [l, c] of sumBy(m, 'sentry_connections', 'listener')) v['conn|' + l] = c;
    prevScrape = { t: now, m, start };
    return { t: now, v, cur };
  }

  // ---------------------------------------------------------------------
  // Charts (Chart.js 3, linear x axis in epoch milliseconds).

  const CHARTS = [
    { id: 'chart-records', prefix: 'records' },
    { id: 'chart-bytes', prefix: 'bytes' },
    { id: 'chart-latency', prefix: 'latency', dashed: (k) => k.endsWith('p50') },
    { id: 'chart-queue', prefix: 'queue' },
    { id: 'chart-msync', prefix: 'msync' },
    { id: 'chart-lag', prefix: 'lag' },
    { id: 'chart-disk', prefix: 'disk' },
    { id: 'chart-connections', prefix: 'conn' },
  ];
  const charts = [];  // {def, chart, series: Map(key -> dataset)}
  let theme = null;   // {text, grid, series: [...]} from the CSS variables

  function readTheme() {
    const cs = getComputedStyle(document.documentElement);
    const get = (n) => cs.getPropertyValue(n).trim();
    const series = [];
    for (let i = 0; i < 10; i++) series.push(get('--series-' + i) || '#888');
    const dark = window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches;
    return { dark, text: get('--chart-text') || '#666', grid: get('--chart-grid') || 'rgba(0,0,0,0.1)', series };
  }

  function styleDataset(ds) {
    const c = theme.series[ds.colorIndex % theme.series.length];
    ds.borderColor = c;
    ds.backgroundColor = ds.fill ? c + '33' : c;  // fill: translucent (hex colours only)
  }

  function applyTheme() {
    theme = readTheme();
    document.body.dataset.theme = theme.dark ? 'dark' : 'light';
    if (typeof Chart === 'undefined') return;
    Chart.defaults.color = theme.text;
    Chart.defaults.borderColor = theme.grid;
    for (const c of charts) {
      const sc = c.chart.options.scales;
      for (const ax of [sc.x, sc.y]) {
        ax.grid.color = theme.grid;
        ax.ticks.color = theme.text;
      }
      c.chart.options.plugins.legend.labels.color = theme.text;
      for (const ds of c.chart.data.datasets) styleDataset(ds);
      c.chart.update('none');
    }
  }

  // X axis ticks on whole minutes of the clock (Chart.js would start at the
  // window's first millisecond).
  function minuteTicks(axis) {
    const ticks = [];
    for (let v = Math.ceil(axis.min / 60000) * 60000; v <= axis.max; v += 60000) ticks.push({ value: v });
    axis.ticks = ticks;
  }

  function createCharts() {
    if (typeof Chart === 'undefined') {
      setNotice('Chart.js did not load (/chart.js): charts are off, numbers and tables still update.');
      return;
    }
    for (const def of CHARTS) {
      const canvas = $(def.id);
      const chart = new Chart(canvas, {
        type: 'line',
        data: { datasets: [] },
        options: {
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          parsing: false,
          normalized: true,
          spanGaps: false,
          interaction: { mode: 'nearest', axis: 'x', intersect: false },
          elements: { point: { radius: 0, hitRadius: 6, hoverRadius: 3 }, line: { borderWidth: 1.5, tension: 0 } },
          scales: {
            x: {
              type: 'linear',
              ticks: { maxRotation: 0, color: theme.text, callback: (v) => clock(v) },
              grid: { color: theme.grid },
              afterBuildTicks: minuteTicks,
            },
            y: {
              beginAtZero: true,
              ticks: { color: theme.text, maxTicksLimit: 6, callback: (v) => fmtShort(v) },
              grid: { color: theme.grid },
            },
          },
          plugins: {
            legend: { position: 'bottom', labels: { boxWidth: 12, boxHeight: 2, color: theme.text } },
            tooltip: {
              callbacks: {
                title: (items) => (items.length ? clock(items[0].parsed.x) : ''),
                label: (item) => `${item.dataset.label}: ${fmtSig(item.parsed.y, 4)}`,
              },
            },
          },
        },
      });
      charts.push({ def, chart, series: new Map(), nextColor: 0 });
    }
  }

  function updateCharts(now) {
    for (const c of charts) {
      const prefix = c.def.prefix + '|';
      // Series present anywhere in the window, in order of first appearance.
      const keys = [];
      const seen = new Set();
      for (const s of ring) {
        for (const k in s.v) {
          if (k.startsWith(prefix) && !seen.has(k) && s.v[k] !== null) { seen.add(k); keys.push(k); }
        }
      }
      for (const k of keys) {
        if (!c.series.has(k)) {
          const ds = {
            label: k.slice(prefix.length),
            data: [],
            colorIndex: c.nextColor++,
            fill: !!c.def.fill,
            borderDash: c.def.dashed && c.def.dashed(k) ? [5, 4] : undefined,
          };
          // p50 and p99 of one API share a colour.
          if (c.def.dashed) {
            const base = k.replace(/ p\d+$/, '');
            for (const [k2, d2] of c.series) {
              if (k2.replace(/ p\d+$/, '') === base) { ds.colorIndex = d2.colorIndex; c.nextColor--; break; }
            }
          }
          styleDataset(ds);
          c.series.set(k, ds);
          c.chart.data.datasets.push(ds);
        }
      }
      for (const [k, ds] of c.series) {
        if (!seen.has(k)) {
          c.series.delete(k);
          c.chart.data.datasets.splice(c.chart.data.datasets.indexOf(ds), 1);
          continue;
        }
        const data = new Array(ring.length);
        for (let i = 0; i < ring.length; i++) {
          const y = ring[i].v[k];
          data[i] = { x: ring[i].t, y: y === undefined ? null : y };
        }
        ds.data = data;
      }
      c.chart.options.scales.x.min = now - WINDOW_MS;
      c.chart.options.scales.x.max = now;
      c.chart.update('none');
    }
  }

  // ---------------------------------------------------------------------
  // Fetching.

  class HttpError extends Error {
    constructor(url, status) { super(`${url}: HTTP ${status}`); this.status = status; }
  }

  // Paths are relative to the page (works behind a reverse proxy's prefix too).
  async function get(url, asJson) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), FETCH_TIMEOUT_MS);
    try {
      const r = await fetch(url, { cache: 'no-store', signal: ctl.signal });
      if (!r.ok) throw new HttpError(url, r.status);
      return asJson ? await r.json() : await r.text();
    } finally {
      clearTimeout(timer);
    }
  }

  // Latest admin API answers (kept across a failed poll).
  const state = {
    status: null,
    topics: [],
    groups: [],
    topicDetail: new Map(),   // name -> {t, data}
    groupDetail: new Map(),   // id -> data
    metrics: null,
    cur: null,
  };
  const topicExpanded = new Map();  // user's choice: name -> bool
  const groupExpanded = new Map();

  function pickTopicDetails(now) {
    const want = [];
    for (const t of state.topics) {
      const d = state.topicDetail.get(t.name);
      if (d && now - d.t < TOPIC_DETAIL_MS) continue;
      // Expanded topics and those with offline partitions first, then the stalest.
      const prio = (isTopicExpanded(t) ? 0 : 1) + (d ? 1 : 0);
      want.push({ name: t.name, prio, t: d ? d.t : 0 });
    }
    want.sort((a, b) => a.prio - b.prio || a.t - b.t);
    return want.slice(0, MAX_TOPIC_DETAILS_PER_TICK).map((w) => w.name);
  }

  let groupCursor = 0;
  function pickGroupDetails() {
    const ids = state.groups.map((g) => g.group_id);
    if (ids.length <= MAX_GROUP_DETAILS_PER_TICK) return ids;
    const out = [];
    for (let i = 0; i < MAX_GROUP_DETAILS_PER_TICK; i++) out.push(ids[(groupCursor + i) % ids.length]);
    groupCursor = (groupCursor + MAX_GROUP_DETAILS_PER_TICK) % ids.length;
    return out;
  }

  let scrapes = 0;
  let busy = false;

  async function poll() {
    const now = Date.now();
    // /metrics alone first, then the admin API in parallel: the scrape then
    // sees only this page's idle connections, as any other client's would
    // (sentry_connections counts the open HTTP connections too).
    const [metrics] = await Promise.allSettled([get('metrics', false)]);
    if (metrics.status !== 'fulfilled') {
      setConnected(false, metrics.reason);
      pushSample({ t: now, v: {} });  // a gap in the lines
      updateCharts(now);
      return;
    }
    const [status, topics, groups] = await Promise.allSettled([
      get('v1/status', true), get('v1/topics', true), get('v1/groups', true),
    ]);
    const problems = [];
    if (status.status === 'fulfilled') state.status = status.value; else problems.push(status.reason);
    if (topics.status === 'fulfilled' && Array.isArray(topics.value)) state.topics = topics.value; else problems.push(topics.reason);
    if (groups.status === 'fulfilled' && Array.isArray(groups.value)) state.groups = groups.value; else problems.push(groups.reason);

    // Per-topic and per-group detail, in parallel.
    const topicNames = pickTopicDetails(now);
    const groupIds = pickGroupDetails();
    const details = await Promise.allSettled([
      ...topicNames.map((n) => get('v1/topics/' + encodeURIComponent(n), true)),
      ...groupIds.map((g) => get('v1/groups/' + encodeURIComponent(g), true)),
    ]);
    details.forEach((r, i) => {
      const isTopic = i < topicNames.length;
      const name = isTopic ? topicNames[i] : groupIds[i - topicNames.length];
      const map = isTopic ? state.topicDetail : state.groupDetail;
      if (r.status === 'fulfilled') {
        map.set(name, isTopic ? { t: now, data: r.value } : r.value);
      } else if (r.reason && r.reason.status === 404) {
        map.delete(name);  // deleted meanwhile
      }
    });
    // Forget details of topics and groups that are gone.
    const topicSet = new Set(state.topics.map((t) => t.name));
    for (const k of state.topicDetail.keys()) if (!topicSet.has(k)) state.topicDetail.delete(k);
    const groupSet = new Set(state.groups.map((g) => g.group_id));
    for (const k of state.groupDetail.keys()) if (!groupSet.has(k)) state.groupDetail.delete(k);

    const m = parsePrometheus(metrics.value);
    const sample = computeSample(m, now);
    state.metrics = m;
    state.cur = sample.cur;
    pushSample({ t: sample.t, v: sample.v });
    scrapes++;

    setConnected(true, problems.length ? problems[0] : null);
    renderHeader(now);
    renderTiles();
    renderTopics(false);
    renderGroups(false);
    renderDirs();
    updateCharts(now);
    document.body.dataset.scrapes = String(scrapes);
    if (scrapes >= 2 && charts.length > 0) document.body.dataset.ready = '1';
  }

  async function tick() {
    if (busy) return;  // the previous poll is still waiting: skip rather than pile up
    busy = true;
    try {
      await poll();
    } catch (e) {
      // A bug or an unexpected answer: say so on the page, keep polling.
      showBanner('Dashboard error: ' + (e && e.message ? e.message : String(e)));
    } finally {
      busy = false;
    }
  }

  // ---------------------------------------------------------------------
  // Rendering.

  // The banner shows a lasting notice (set once, e.g. no Chart.js) and the
  // state of the last poll.
  let notice = '';
  function showBanner(text) {
    const b = $('error-banner');
    const all = [notice, text].filter(Boolean).join(' \u2014 ');
    if (b.textContent !== all) b.textContent = all;
    b.hidden = !all;
  }
  function setNotice(text) {
    notice = text;
    showBanner('');
  }

  function setPill(id, cls, text) {
    const e = $(id);
    e.className = 'pill ' + cls;
    e.textContent = text;
    e.dataset.value = text;
  }

  function setConnected(ok, problem) {
    document.body.dataset.connected = ok ? '1' : '0';
    if (ok) {
      setPill('conn-state', 'pill-ok', 'connected');
      showBanner(problem ? 'Partial data: ' + (problem.message || String(problem)) : '');
    } else {
      setPill('conn-state', 'pill-bad', 'disconnected');
      setPill('ready-state', 'pill-unknown', 'unknown');
      const why = problem && problem.name === 'AbortError' ? 'timed out' : (problem && problem.message) || 'no answer';
      showBanner(`Disconnected from sentryd (${why}); retrying every second. Last data kept below.`);
    }
  }

  function renderHeader(now) {
    const s = state.status;
    const m = state.metrics;
    let version = s && s.version;
    let commit = s && s.commit;
    if (!version && m) {
      const bi = (m.get('sentry_build_info') || [])[0];
      if (bi) { version = bi.labels.version; commit = bi.labels.commit; }
    }
    setText('version', version ? `v${String(version).replace(/^v/, '')}` + (commit ? ` (${String(commit).slice(0, 12)})` : '') : '\u2013');
    setText('broker-id', s && s.broker_id !== undefined ? String(s.broker_id) : '\u2013');
    let uptime = s && isNum(s.uptime_seconds) ? s.uptime_seconds : null;
    if (uptime === null && m) {
      const st = sum(m, 'sentry_start_time_seconds');
      if (isNum(st)) uptime = now / 1000 - st;
    }
    setText('uptime', fmtDuration(uptime));
    $('uptime').dataset.value = isNum(uptime) ? String(uptime) : '';
    if (s && Array.isArray(s.listeners)) {
      setText('listeners', s.listeners.map((l) => `${l.name} ${l.host}:${l.port}`).join(', ') || '\u2013');
    }
    setText('last-update', clock(now));
    let ready = s ? s.ready : null;
    if (ready === null || ready === undefined) {
      const r = m ? sum(m, 'sentry_ready') : null;
      ready = r === null ? null : r === 1;
    }
    if (ready === true) setPill('ready-state', 'pill-ok', 'ready');
    else if (ready === false) setPill('ready-state', 'pill-warn', 'not ready');
    else setPill('ready-state', 'pill-unknown', 'unknown');
    document.title = (ready === false ? '(not ready) ' : '') + 'Sentry broker';
  }

  function renderTiles() {
    const m = state.metrics;
    const cur = state.cur;
    const r = cur.rates;
    const parts = sumBy(m, 'sentry_partitions', 'state');
    // Topic count: distinct topics of sentry_log_size_bytes (one series per
    // topic); /v1/status when that family is missing.
    let topics = m.has('sentry_log_size_bytes') ? distinctLabel(m, 'sentry_log_size_bytes', 'topic').size : null;
    if (topics === null && state.status && isNum(state.status.topics)) topics = state.status.topics;
    const values = {
      'tile-records-in-rate': r ? r.recordsIn : null,
      'tile-records-out-rate': r ? r.recordsOut : null,
      'tile-bytes-in-rate': r ? r.bytesIn : null,
      'tile-bytes-out-rate': r ? r.bytesOut : null,
      'tile-records-in-total': cur.recordsIn,
      'tile-records-out-total': cur.recordsOut,
      'tile-bytes-in-total': cur.bytesIn,
      'tile-bytes-out-total': cur.bytesOut,
      'tile-produce-acks-all-p99': cur.p99.produce_acks_all,
      'tile-produce-acks-1-p99': cur.p99.produce_acks_1,
      'tile-fetch-p99': cur.p99.fetch,
      'tile-msync-p99': cur.msyncP99,
      'tile-writer-queue': sum(m, 'sentry_writer_queue_depth'),
      'tile-consumer-lag': sum(m, 'sentry_consumer_group_lag'),
      'tile-connections': sum(m, 'sentry_connections'),
      'tile-topics': topics,
      'tile-groups': state.groups.length,
      'tile-partitions-online': parts.has('online') ? parts.get('online') : null,
      'tile-partitions-offline': parts.has('offline') ? parts.get('offline') : null,
      'tile-disk-used': cur.diskUsed,
      'tile-disk-free': cur.diskFree,
    };
    for (const t of TILES) setTile(t, values[t.id]);
  }

  // A table body is rebuilt only when what it shows changed (keeps hover,
  // selection and scroll steady).
  const lastRender = new Map();
  function replaceRows(tbody, signature, rows, force) {
    if (!force && lastRender.get(tbody.id) === signature) return;
    lastRender.set(tbody.id, signature);
    tbody.replaceChildren(...rows);
  }

  function numCell(col, v, text) {
    return el('td', { class: 'num', 'data-col': col, 'data-value': isNum(v) ? String(v) : '' },
      text !== undefined ? text : (isNum(v) ? fmtInt(v) : '\u2013'));
  }

  function totalPartitions() {
    let n = 0;
    for (const t of state.topics) n += t.partitions || 0;
    return n;
  }

  function isTopicExpanded(t) {
    if (t.offline_partitions > 0) return true;
    if (topicExpanded.has(t.name)) return topicExpanded.get(t.name);
    return totalPartitions() <= AUTO_EXPAND_PARTITIONS;
  }

  function stateBadge(offline, count) {
    return offline
      ? el('span', { class: 'badge badge-offline', text: count > 1 ? `OFFLINE (${count})` : 'OFFLINE' })
      : el('span', { class: 'badge badge-online', text: 'online' });
  }

  function renderTopics(force) {
    const m = state.metrics;
    const recIn = sumBy(m, 'sentry_records_in_total', 'topic');
    const recOut = sumBy(m, 'sentry_records_out_total', 'topic');
    const durLag = sumBy(m, 'sentry_partition_durable_lag_records', 'topic');
    const topics = state.topics.slice().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const rows = [];
    const sig = [];
    let offlineTotal = 0;
    for (const t of topics) {
      const detail = state.topicDetail.get(t.name);
      const parts = detail && Array.isArray(detail.data.partitions) ? detail.data.partitions : null;
      const expanded = isTopicExpanded(t);
      const offline = t.offline_partitions || 0;
      offlineTotal += offline;
      let segments = null;
      let logStart = null;
      if (parts) {
        segments = parts.reduce((a, p) => a + (p.segments || 0), 0);
        logStart = parts.reduce((a, p) => a + (p.log_start_offset || 0), 0);
      }
      let lag = durLag.has(t.name) ? durLag.get(t.name) : null;
      if (lag === null && parts) lag = parts.reduce((a, p) => a + Math.max(0, (p.high_watermark || 0) - (p.durable_offset || 0)), 0);
      const rin = recIn.has(t.name) ? recIn.get(t.name) : null;
      const rout = recOut.has(t.name) ? recOut.get(t.name) : null;
      sig.push([t.name, t.partitions, t.size_bytes, t.high_watermark_sum, offline, expanded, segments, logStart, lag, rin, rout]);
      rows.push(el('tr', {
        class: 'topic-row expandable' + (offline > 0 ? ' offline' : ''),
        'data-topic': t.name,
        'data-offline-partitions': offline,
        title: expanded ? 'hide partitions' : 'show partitions',
      },
      el('td', null, el('span', { class: 'toggle', text: expanded ? '\u25be' : '\u25b8' }), t.name),
      numCell('partitions', t.partitions),
      numCell('log-start', logStart),
      numCell('high-watermark', t.high_watermark_sum),
      numCell('durable-lag', lag),
      numCell('size', t.size_bytes, isNum(t.size_bytes) ? bytesText(t.size_bytes) : '\u2013'),
      numCell('segments', segments),
      numCell('records-in', rin),
      numCell('records-out', rout),
      el('td', { 'data-col': 'state' }, stateBadge(offline > 0, offline))));
      if (!expanded) continue;
      if (!parts) {
        rows.push(el('tr', { class: 'partition-row empty' }, el('td', { colspan: 10, text: 'loading partitions\u2026' })));
        sig.push('loading');
        continue;
      }
      const sorted = parts.slice().sort((a, b) => a.partition - b.partition);
      let shown = 0;
      let hidden = 0;
      for (const p of sorted) {
        if (!p.offline && shown >= MAX_PARTITION_ROWS) { hidden++; continue; }
        shown++;
        const plag = isNum(p.high_watermark) && isNum(p.durable_offset) ? Math.max(0, p.high_watermark - p.durable_offset) : null;
        sig.push([p.partition, p.log_start_offset, p.high_watermark, p.durable_offset, p.size_bytes, p.segments, !!p.offline]);
        rows.push(el('tr', {
          class: 'partition-row' + (p.offline ? ' offline' : ''),
          'data-topic': t.name,
          'data-partition': p.partition,
          'data-offline': p.offline ? '1' : '0',
        },
        el('td', null, `partition ${p.partition}`),
        el('td'),
        numCell('log-start', p.log_start_offset),
        numCell('high-watermark', p.high_watermark),
        numCell('durable-lag', plag),
        numCell('size', p.size_bytes, isNum(p.size_bytes) ? bytesText(p.size_bytes) : '\u2013'),
        numCell('segments', p.segments),
        el('td'), el('td'),
        el('td', { 'data-col': 'state' }, stateBadge(!!p.offline, 1))));
      }
      if (hidden > 0) {
        rows.push(el('tr', { class: 'partition-row empty' }, el('td', { colspan: 10, text: `\u2026 ${hidden} more partitions` })));
        sig.push(hidden);
      }
    }
    if (rows.length === 0) rows.push(el('tr', { class: 'empty' }, el('td', { colspan: 10, text: 'no topics' })));
    setText('topics-summary', `${topics.length} topics, ${totalPartitions()} partitions` + (offlineTotal ? `, ${offlineTotal} OFFLINE` : ''));
    replaceRows($('topics-body'), JSON.stringify(sig), rows, force);
  }

  function renderGroups(force) {
    const lagByGroup = sumBy(state.metrics, 'sentry_consumer_group_lag', 'group');
    const groups = state.groups.slice().sort((a, b) => (a.group_id < b.group_id ? -1 : a.group_id > b.group_id ? 1 : 0));
    const rows = [];
    const sig = [];
    for (const g of groups) {
      const d = state.groupDetail.get(g.group_id);
      const offsets = d && Array.isArray(d.offsets) ? d.offsets : null;
      const members = d && Array.isArray(d.members) ? d.members : null;
      let lag = lagByGroup.has(g.group_id) ? lagByGroup.get(g.group_id) : null;
      if (lag === null && offsets) lag = offsets.reduce((a, o) => a + (o.lag || 0), 0);
      const expanded = groupExpanded.has(g.group_id) ? groupExpanded.get(g.group_id) : groups.length <= 5;
      sig.push([g.group_id, g.kind, g.state, d && d.generation, members && members.length, offsets && offsets.length, lag, expanded]);
      rows.push(el('tr', { class: 'group-row expandable', 'data-group': g.group_id, title: expanded ? 'hide offsets' : 'show offsets' },
        el('td', null, el('span', { class: 'toggle', text: expanded ? '\u25be' : '\u25b8' }), g.group_id),
        el('td', { text: g.kind || '\u2013' }),
        el('td', { text: (d && d.state) || g.state || '\u2013' }),
        numCell('generation', d ? d.generation : null),
        numCell('members', members ? members.length : null),
        numCell('partitions', offsets ? offsets.length : null),
        el('td', { class: 'num' + (lag > 0 ? ' lag-positive' : ''), 'data-col': 'lag', 'data-value': isNum(lag) ? String(lag) : '' }, isNum(lag) ? fmtInt(lag) : '\u2013')));
      if (!expanded || !offsets) continue;
      // Who owns each partition, from the members' assignments.
      const owner = new Map();
      for (const mem of members || []) {
        for (const a of mem.assignment || []) {
          for (const p of a.partitions || []) owner.set(`${a.topic}\u0000${p}`, mem.client_id || mem.member_id);
        }
      }
      const sorted = offsets.slice().sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
      for (const o of sorted) {
        const who = owner.get(`${o.topic}\u0000${o.partition}`) || '\u2013';
        sig.push([o.topic, o.partition, o.committed_offset, o.high_watermark, o.lag, who]);
        rows.push(el('tr', { class: 'offset-row', 'data-group': g.group_id, 'data-topic': o.topic, 'data-partition': o.partition },
          el('td', null, `${o.topic} / ${o.partition}`),
          el('td', { colspan: 2, class: 'muted', text: who === '\u2013' ? 'unassigned' : `owner ${who}` }),
          numCell('committed', o.committed_offset, `committed ${fmtInt(o.committed_offset)}`),
          numCell('high-watermark', o.high_watermark, `end ${fmtInt(o.high_watermark)}`),
          el('td'),
          el('td', { class: 'num' + (o.lag > 0 ? ' lag-positive' : ''), 'data-col': 'lag', 'data-value': isNum(o.lag) ? String(o.lag) : '' }, fmtInt(o.lag))));
      }
    }
    if (rows.length === 0) rows.push(el('tr', { class: 'empty' }, el('td', { colspan: 7, text: 'no consumer groups' })));
    setText('groups-summary', `${groups.length} groups`);
    replaceRows($('groups-body'), JSON.stringify(sig), rows, force);
  }

  function renderDirs() {
    const s = state.status;
    const dirs = s && Array.isArray(s.data_dirs) ? s.data_dirs : [];
    const rows = dirs.map((d) => {
      const used = isNum(d.total_bytes) && isNum(d.free_bytes) ? d.total_bytes - d.free_bytes : null;
      const pct = isNum(d.free_bytes) && d.total_bytes > 0 ? (100 * d.free_bytes) / d.total_bytes : null;
      return el('tr', { class: pct !== null && pct < 10 ? 'offline' : '' },
        el('td', { text: d.path }),
        numCell('log-bytes', d.log_bytes, bytesText(d.log_bytes)),
        numCell('used', used, bytesText(used)),
        numCell('free', d.free_bytes, bytesText(d.free_bytes)),
        numCell('total', d.total_bytes, bytesText(d.total_bytes)),
        numCell('free-pct', pct, pct === null ? '\u2013' : pct.toFixed(1) + ' %'));
    });
    if (rows.length === 0) rows.push(el('tr', { class: 'empty' }, el('td', { colspan: 6, text: 'unknown' })));
    replaceRows($('dirs-body'), JSON.stringify(dirs), rows, false);
  }

  // Clicking a topic (or group) row shows or hides its partitions.
  function onTableClick(ev) {
    const tr = ev.target.closest('tr.expandable');
    if (!tr) return;
    if (tr.dataset.group !== undefined) {
      const id = tr.dataset.group;
      const g = state.groups.find((x) => x.group_id === id);
      const was = groupExpanded.has(id) ? groupExpanded.get(id) : state.groups.length <= 5;
      if (g) groupExpanded.set(id, !was);
      renderGroups(true);
    } else {
      const t = state.topics.find((x) => x.name === tr.dataset.topic);
      if (!t) return;
      topicExpanded.set(t.name, !isTopicExpanded(t));
      renderTopics(true);
    }
  }

  // ---------------------------------------------------------------------
  // Start.

  function start() {
    theme = readTheme();
    document.body.dataset.theme = theme.dark ? 'dark' : 'light';
    buildTiles();
    try {
      createCharts();
      applyTheme();
    } catch (e) {
      setNotice('Charts could not be created: ' + (e && e.message ? e.message : String(e)));
    }
    $('topics-body').addEventListener('click', onTableClick);
    $('groups-body').addEventListener('click', onTableClick);
    if (window.matchMedia) {
      const mq = window.matchMedia('(prefers-color-scheme: dark)');
      const onChange = () => { try { applyTheme(); } catch (e) { showBanner('Theme change failed: ' + e.message); } };
      if (mq.addEventListener) mq.addEventListener('change', onChange); else if (mq.addListener) mq.addListener(onChange);
    }
    tick();
    setInterval(tick, POLL_MS);
  }

  // Exposed for debugging in the browser console (and unit checks).
  window.sentryDashboard = { parsePrometheus, histogramQuantile, histogramIncrease, state, ring };

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
