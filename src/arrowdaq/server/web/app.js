// The arrowdaq dashboard (docs/web.md). Written here, no library: tables from the live
// channel's status frames, a canvas plot of the server's min/max-decimated frames, a camera's
// block-max frames with a colour map, a scan's progress and points.
// window.arrowdaq holds what the page received (the browser tests read it).
"use strict";

const state = {
  lastStatus: null,
  lastFrame: null,
  frames: 0,
  statusFrames: 0,
  image: null,        // {column, unit, height, width, dtype} of an image stream
  lastImage: null,    // the newest image frame received
  images: 0,
  scan: null,         // {id, plan, x: [], y: [], axes, missing, ...} of the scan shown
  channels: [],       // [{name, unit}] of the plotted stream
  shown: new Set(),   // channel names ticked
  source: null,       // the EventSource
  stream: "",
};
window.arrowdaq = state;
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

function $(id) { return document.getElementById(id); }

// Update a table body in place, one row per item keyed by `key` (rows are reused, so a button
// being clicked is never replaced under the pointer). `cells` gives [text, class] per column.
function syncRows(tbody, items, key, cells) {
  const keep = new Map();
  for (const tr of [...tbody.rows]) keep.set(tr.dataset.key, tr);
  let at = 0;
  for (const item of items) {
    const k = key(item);
    let tr = keep.get(k);
    keep.delete(k);
    if (!tr) {
      tr = document.createElement("tr");
      tr.dataset.key = k;
    }
    if (tbody.rows[at] !== tr) tbody.insertBefore(tr, tbody.rows[at] || null);
    const cols = cells(item);
    while (tr.cells.length < cols.length) tr.insertCell();
    cols.forEach(([text, cls], i) => {
      const td = tr.cells[i];
      const t = text === null || text === undefined ? "" : String(text);
      if (td.textContent !== t) td.textContent = t;
      if (td.className !== (cls || "")) td.className = cls || "";
    });
    at++;
  }
  for (const tr of keep.values()) tr.remove();
  return tbody;
}

function fmtRate(v) { return v === null || v === undefined ? "-" : v.toFixed(1); }

function fmtTime(ns) {
  if (!ns) return "-";
  return new Date(Number(BigInt(ns) / 1000000n)).toISOString().replace("T", " ").slice(0, 19);
}

async function api(path, body) {
  const init = body === undefined ? {} : {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)};
  const res = await fetch(path, init);
  const data = await res.json().catch(() => ({}));
  return {status: res.status, data};
}

function renderStatus(s) {
  state.lastStatus = s;
  state.statusFrames++;
  $("uptime").textContent = "up " + Math.round(s.uptime_s) + " s";
  syncRows($("instruments").tBodies[0], s.instruments, i => i.name, i => [
    [i.name], [i.driver], [i.state, "state state-" + i.state], [i.rows, "num"],
    [i.overrun_samples, "num"], [i.reconnects, "num"], [i.last_error, i.last_error ? "error" : ""]]);
  syncRows($("streams").tBodies[0], s.streams, st => st.name, st => [
    [st.name], [st.kind], [st.state, "state state-" + st.state],
    [fmtRate(st.measured_rate_hz), "num rate"], [st.rows, "num"], [st.dropped, "num"],
    [st.overrun_samples, "num"], [st.next_sequence, "num"], [fmtTime(st.first_timestamp_ns)]]);
  const rb = syncRows($("recordings").tBodies[0], s.recordings, r => r.id, rec => {
    const end = rec.stopped_ns ? Number(BigInt(rec.stopped_ns) / 1000000n) : Date.now();
    let rows = 0;
    for (const k in rec.rows) rows += rec.rows[k];
    return [[rec.id], [rec.state, "state state-" + rec.state], [rec.directory],
            [((end - Number(BigInt(rec.started_ns) / 1000000n)) / 1000).toFixed(1) + " s", "num"],
            [rows, "num"]];
  });
  for (const rec of s.recordings) {
    const tr = [...rb.rows].find(r => r.dataset.key === rec.id);
    if (tr.cells.length < 6) tr.insertCell();
    const td = tr.cells[5];
    const button = td.querySelector("button");
    if (rec.state === "recording" && !button) {
      const b = document.createElement("button");
      b.textContent = "Stop";
      b.className = "rec-stop";
      b.dataset.id = rec.id;
      b.addEventListener("click", () => stopRecording(rec.id));
      td.appendChild(b);
    } else if (rec.state !== "recording" && button) {
      button.remove();
    }
  }
  if (s.events) {
    const ul = $("events");
    ul.replaceChildren();
    for (const e of s.events.slice().reverse()) {
      const li = document.createElement("li");
      li.textContent = fmtTime(e.time_ns) + "  " + e.kind + "  " + e.stream + "  " + e.message;
      ul.appendChild(li);
    }
  }
  // Streams offered for plotting: those with numeric channels.
  const sel = $("plot-stream");
  const names = s.streams.filter(st => st.fields.some((f, k) => k > 0 && (isNumeric(f.type) || isArrayType(f.type))))
                         .map(st => st.name);
  if (sel.options.length !== names.length ||
      names.some((n, k) => sel.options[k].value !== n)) {
    const keep = sel.value;
    sel.replaceChildren();
    for (const n of names) sel.add(new Option(n, n));
    if (names.includes(keep)) sel.value = keep;
    if (!state.stream && names.length) openLive(sel.value);
  }
  renderScan(s);
  if (typeof window.arrowdaqScanHook === "function") window.arrowdaqScanHook(s, $("scan"));
}

function isNumeric(type) { return /^(u?int\d+|float|double|halffloat)$/.test(type); }
function isArrayType(type) { return /fixed_shape_tensor|^fixed_size_list/.test(type); }

function plotPixels() { return $("plot-canvas").width - 70; }

function openLive(stream) {
  if (state.source) state.source.close();
  state.stream = stream || "";
  state.lastFrame = null;
  const q = new URLSearchParams();
  if (state.stream) {
    q.set("stream", state.stream);
    q.set("window", $("plot-window").value);
    q.set("pixels", String(plotPixels()));
    const wanted = [...state.shown];
    if (wanted.length && state.channels.length) q.set("channels", wanted.join(","));
    q.set("image_width", String(IMAGE_AREA.w));
    q.set("image_height", String(IMAGE_AREA.h));
  }
  state.image = null;
  state.lastImage = null;
  $("image-box").hidden = true;
  const src = new EventSource("/api/live?" + q.toString());
  state.source = src;
  src.addEventListener("open", () => { $("conn").textContent = "live"; $("conn").className = "badge live"; });
  src.addEventListener("error", () => { $("conn").textContent = "reconnecting"; $("conn").className = "badge down"; });
  src.addEventListener("hello", ev => {
    const h = JSON.parse(ev.data);
    if (h.channels && (!state.channels.length || h.stream !== state.channelsOf)) {
      state.channels = h.channels;
      state.channelsOf = h.stream;
      state.shown = new Set(h.channels.map(c => c.name));
      renderChannelPicker();
    }
    if (h.image) { state.image = h.image; $("image-box").hidden = false; }
    if (!h.channels || !h.channels.length) {
      state.channels = [];
      renderChannelPicker();
      clearPlot(h.image ? "an image stream: its newest frame is shown below" : "no numeric channels");
    }
  });
  src.addEventListener("image", ev => {
    const f = JSON.parse(ev.data);
    f.received_ms = Date.now();
    state.lastImage = f;
    state.images++;
    drawImage(f);
  });
  src.addEventListener("status", ev => renderStatus(JSON.parse(ev.data)));
  src.addEventListener("plot", ev => {
    const received = performance.timeOrigin + performance.now();  // Date.now(), sub-millisecond
    const f = JSON.parse(ev.data);
    f.received_ms = received;
    state.lastFrame = f;
    state.frames++;
    drawPlot(f);
    // make compare's latency figures (bench/compare/dashboard_bench.py): per frame, its newest
    // sample's time, sent_ms, received_ms and the time the canvas was drawn (ms since 1970).
    const log = state.frameTimes || (state.frameTimes = []);
    log.push([Number(BigInt(f.last_ns) / 1000n) / 1000, f.sent_ms, f.received_ms,
              performance.timeOrigin + performance.now()]);
    if (log.length > 4000) log.splice(0, 2000);
  });
}

function renderChannelPicker() {
  const box = $("plot-channels");
  box.replaceChildren();
  for (const c of state.channels) {
    const l = document.createElement("label");
    const cb = document.createElement("input");
    cb.type = "checkbox";
    cb.checked = state.shown.has(c.name);
    cb.dataset.channel = c.name;
    cb.addEventListener("change", () => {
      if (cb.checked) state.shown.add(c.name); else state.shown.delete(c.name);
      if (state.lastFrame) drawPlot(state.lastFrame);
    });
    l.appendChild(cb);
    l.appendChild(document.createTextNode(" " + c.name + (c.unit ? " [" + c.unit + "]" : "")));
    box.appendChild(l);
  }
}

function drawPlot(f) {
  const cv = $("plot-canvas");
  const g = cv.getContext("2d");
  const left = 60, top = 10, bottom = 30;
  const w = f.pixels, h = cv.height - top - bottom;
  g.fillStyle = "#ffffff";
  g.fillRect(0, 0, cv.width, cv.height);
  const idx = state.channels.map((c, k) => k).filter(k => state.shown.has(state.channels[k].name));
  let lo = Infinity, hi = -Infinity;
  for (const k of idx) {
    for (let i = 0; i < w; i++) {
      if (f.min[k][i] !== null) { lo = Math.min(lo, f.min[k][i]); hi = Math.max(hi, f.max[k][i]); }
    }
  }
  g.strokeStyle = "#888";
  g.strokeRect(left - 0.5, top - 0.5, w + 1, h + 1);
  g.fillStyle = "#333";
  g.font = "11px sans-serif";
  const windowS = Number(BigInt(f.dt_ns) * BigInt(f.pixels)) / 1e9;
  g.textAlign = "center";
  for (let k = 0; k <= 4; k++) {
    const x = left + (w * k) / 4;
    g.fillText((-windowS + (windowS * k) / 4).toFixed(1), x, top + h + 14);
  }
  g.fillText("time (s, 0 = latest bucket)", left + w / 2, top + h + 27);
  const units = [...new Set(idx.map(k => state.channels[k].unit).filter(u => u))];
  if (!isFinite(lo)) {
    $("plot-info").textContent = "no samples in the window";
    return;
  }
  if (hi === lo) { hi += 0.5; lo -= 0.5; }
  const y = v => top + h - ((v - lo) / (hi - lo)) * h;
  g.textAlign = "right";
  for (let k = 0; k <= 4; k++) {
    const v = lo + ((hi - lo) * k) / 4;
    g.fillText(v.toPrecision(3), left - 4, y(v) + 4);
  }
  g.save();
  g.translate(12, top + h / 2);
  g.rotate(-Math.PI / 2);
  g.textAlign = "center";
  g.fillText(units.length ? units.join(", ") : "value", 0, 0);
  g.restore();
  for (const k of idx) {
    g.strokeStyle = COLORS[k % COLORS.length];
    g.fillStyle = COLORS[k % COLORS.length];
    let prev = null;
    for (let i = 0; i < w; i++) {
      const a = f.min[k][i], b = f.max[k][i];
      if (a === null) { prev = null; continue; }
      const x = left + i;
      const y1 = y(b), y2 = y(a);
      g.fillRect(x, y1, 1, Math.max(1, y2 - y1));  // the envelope: every bucket's min..max
      if (prev !== null) {                          // join to the previous bucket
        g.beginPath();
        g.moveTo(x - 0.5, prev);
        g.lineTo(x + 0.5, (y1 + y2) / 2);
        g.stroke();
      }
      prev = (y1 + y2) / 2;
    }
  }
  $("plot-info").textContent = f.samples + " samples, sequence " + f.sequence +
    ", dropped " + f.dropped;
}

function clearPlot(message) {
  const cv = $("plot-canvas");
  const g = cv.getContext("2d");
  g.fillStyle = "#ffffff";
  g.fillRect(0, 0, cv.width, cv.height);
  $("plot-info").textContent = message;
}

// ---- Images (a stream with an array column, e.g. a camera): the server's block-max frame,
// drawn with a colour map and a colour bar of the frame's value range.
const IMAGE_AREA = {x: 10, y: 10, w: 480, h: 360};
// Viridis, sampled at 9 points and interpolated linearly to 256 colours.
const VIRIDIS = ["#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962",
                 "#addc30", "#fde725"].map(c => [1, 3, 5].map(i => parseInt(c.slice(i, i + 2), 16)));
const COLORMAP = (() => {
  const lut = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = (i / 255) * (VIRIDIS.length - 1), k = Math.min(Math.floor(t), VIRIDIS.length - 2);
    for (let c = 0; c < 3; c++) lut[i * 3 + c] = VIRIDIS[k][c] + (VIRIDIS[k + 1][c] - VIRIDIS[k][c]) * (t - k);
  }
  return lut;
})();
const TYPED = {uint8: Uint8Array, int8: Int8Array, uint16: Uint16Array, int16: Int16Array,
               uint32: Uint32Array, int32: Int32Array, float32: Float32Array, float64: Float64Array,
               uint64: BigUint64Array, int64: BigInt64Array};

// The frame's values as numbers (little-endian bytes of f.dtype, base64).
function imageValues(f) {
  const bin = atob(f.data);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const v = new TYPED[f.dtype](bytes.buffer);
  return f.dtype.endsWith("64") && !f.dtype.startsWith("float") ? Array.from(v, Number) : v;
}

function drawImage(f) {
  const cv = $("image-canvas");
  const g = cv.getContext("2d");
  g.fillStyle = "#ffffff";
  g.fillRect(0, 0, cv.width, cv.height);
  const values = imageValues(f);
  const lo = f.min, hi = f.max;
  const info = "frame " + f.width + "\u00d7" + f.height + ", shown " + f.cols + "\u00d7" + f.rows +
    (f.block > 1 ? " (max of " + f.block + "\u00d7" + f.block + " blocks)" : "") +
    ", sequence " + f.sequence + ", " + fmtTime(f.t_ns);
  if (lo === null || hi === null) { $("image-info").textContent = info + ": no finite pixel"; return; }
  const span = hi > lo ? hi - lo : 1;
  const img = new ImageData(f.cols, f.rows);
  for (let i = 0; i < values.length; i++) {
    const v = Number(values[i]);
    const o = i * 4;
    if (!isFinite(v)) { img.data[o + 3] = 0; continue; }
    const c = Math.max(0, Math.min(255, Math.round(((v - lo) / span) * 255))) * 3;
    img.data[o] = COLORMAP[c]; img.data[o + 1] = COLORMAP[c + 1]; img.data[o + 2] = COLORMAP[c + 2];
    img.data[o + 3] = 255;
  }
  const off = document.createElement("canvas");
  off.width = f.cols;
  off.height = f.rows;
  off.getContext("2d").putImageData(img, 0, 0);
  const scale = Math.min(IMAGE_AREA.w / f.cols, IMAGE_AREA.h / f.rows);
  const w = Math.max(1, Math.floor(f.cols * scale)), h = Math.max(1, Math.floor(f.rows * scale));
  g.imageSmoothingEnabled = false;
  g.drawImage(off, IMAGE_AREA.x, IMAGE_AREA.y, w, h);
  // The colour bar: the colour map from min (bottom) to max (top), with its values.
  const bx = IMAGE_AREA.x + IMAGE_AREA.w + 20, by = IMAGE_AREA.y, bh = IMAGE_AREA.h;
  for (let y = 0; y < bh; y++) {
    const c = Math.round((1 - y / (bh - 1)) * 255) * 3;
    g.fillStyle = "rgb(" + COLORMAP[c] + "," + COLORMAP[c + 1] + "," + COLORMAP[c + 2] + ")";
    g.fillRect(bx, by + y, 20, 1);
  }
  g.strokeStyle = "#888";
  g.strokeRect(bx - 0.5, by - 0.5, 21, bh + 1);
  g.fillStyle = "#333";
  g.font = "11px sans-serif";
  g.textAlign = "left";
  for (let k = 0; k <= 4; k++) {
    const v = lo + ((hi - lo) * k) / 4;
    g.fillText(Number.isInteger(v) ? String(v) : v.toPrecision(4), bx + 26, by + bh - (bh * k) / 4 + 4);
  }
  g.fillText(f.unit || "value", bx + 26, by + bh + 16);
  $("image-info").textContent = info;
}

// ---- Scan progress and its live plot (the first detector against the first motor), from a
// live channel of the stream `scan` with points=auto, opened when a scan shows in the status.
function renderScan(s) {
  const box = $("scan");
  const sc = s.scan;
  if (!sc) { box.hidden = true; return; }
  box.hidden = false;
  const scan = state.scan;
  if (!scan || scan.id !== sc.recording_id) {
    if (scan && scan.source) scan.source.close();
    state.scan = {id: sc.recording_id, plan: sc.plan, x: [], y: [], axes: null, missing: 0,
                  source: null, done: false, doneSeen: 0};
  }
  const cur = state.scan;
  if (!cur.source && !cur.done && s.streams.some(st => st.name === "scan")) openScanPoints(cur);
  $("scan-progress").max = Math.max(1, sc.points_total);
  $("scan-progress").value = sc.points_done;
  $("scan-text").textContent = "plan " + sc.plan + ": " + sc.state + ", " + sc.points_done + " / " +
    sc.points_total + " points" + (sc.exit_status ? " (" + sc.exit_status + ")" : "") +
    (sc.reason ? " " + sc.reason : "");
  cur.state = sc.state;
  cur.points_done = sc.points_done;
  cur.points_total = sc.points_total;
  // Free the server's channel once the scan is done and every point is here (or 20 status
  // frames, ~10 s, later: the replay ring may no longer hold a long-finished scan's first points).
  if (sc.state === "done") cur.doneSeen++;
  if (cur.source && sc.state === "done" && (cur.x.length >= sc.points_done || cur.doneSeen > 20)) {
    cur.source.close();
    cur.source = null;
    cur.done = true;
  }
}

function openScanPoints(scan) {
  const src = new EventSource("/api/live?stream=scan&points=auto");
  scan.source = src;
  src.addEventListener("hello", ev => { scan.axes = JSON.parse(ev.data).points; drawScan(scan); });
  src.addEventListener("points", ev => {
    const f = JSON.parse(ev.data);
    if (f.first > scan.x.length) scan.missing += f.first - scan.x.length;
    scan.x.push(...f.x);
    scan.y.push(...f.y);
    drawScan(scan);
  });
}

function drawScan(scan) {
  const cv = $("scan-canvas");
  const g = cv.getContext("2d");
  const left = 60, top = 10, right = 10, bottom = 30;
  const w = cv.width - left - right, h = cv.height - top - bottom;
  g.fillStyle = "#ffffff";
  g.fillRect(0, 0, cv.width, cv.height);
  g.strokeStyle = "#888";
  g.strokeRect(left - 0.5, top - 0.5, w + 1, h + 1);
  const pts = scan.x.map((x, i) => [x, scan.y[i]]).filter(([x, y]) => x !== null && y !== null);
  if (!scan.axes || !pts.length) return;
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const [x, y] of pts) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
  if (x1 === x0) { x0 -= 0.5; x1 += 0.5; }
  if (y1 === y0) { y0 -= 0.5; y1 += 0.5; }
  const px = x => left + ((x - x0) / (x1 - x0)) * w, py = y => top + h - ((y - y0) / (y1 - y0)) * h;
  g.fillStyle = "#333";
  g.font = "11px sans-serif";
  g.textAlign = "center";
  for (let k = 0; k <= 4; k++) g.fillText((x0 + ((x1 - x0) * k) / 4).toPrecision(3), left + (w * k) / 4, top + h + 14);
  const a = scan.axes;
  g.fillText(a.x + (a.x_unit ? " [" + a.x_unit + "]" : ""), left + w / 2, top + h + 27);
  g.textAlign = "right";
  for (let k = 0; k <= 4; k++) g.fillText((y0 + ((y1 - y0) * k) / 4).toPrecision(4), left - 4, py(y0 + ((y1 - y0) * k) / 4) + 4);
  g.save();
  g.translate(12, top + h / 2);
  g.rotate(-Math.PI / 2);
  g.textAlign = "center";
  g.fillText(a.y + (a.y_unit ? " [" + a.y_unit + "]" : ""), 0, 0);
  g.restore();
  g.strokeStyle = COLORS[0];
  g.fillStyle = COLORS[0];
  g.beginPath();
  pts.forEach(([x, y], i) => (i ? g.lineTo(px(x), py(y)) : g.moveTo(px(x), py(y))));
  g.stroke();
  for (const [x, y] of pts) g.fillRect(px(x) - 2, py(y) - 2, 5, 5);
}

async function startRecording(ev) {
  ev.preventDefault();
  $("rec-error").textContent = "";
  const r = await api("/api/recordings", {name: $("rec-name").value});
  if (r.status !== 200) $("rec-error").textContent = r.data.error || ("HTTP " + r.status);
}

async function stopRecording(id) {
  $("rec-error").textContent = "";
  const r = await api("/api/recordings/stop", {id});
  if (r.status !== 200) $("rec-error").textContent = r.data.error || ("HTTP " + r.status);
}

async function login(ev) {
  ev.preventDefault();
  const r = await api("/api/login", {token: $("login-token").value});
  if (r.status === 200) { $("login-token").value = ""; start(); }
  else $("login-error").textContent = r.data.error || ("HTTP " + r.status);
}

async function start() {
  const r = await api("/api/status");
  if (r.status === 401) {
    $("login").hidden = false;
    $("main").hidden = true;
    return;
  }
  $("login").hidden = true;
  $("main").hidden = false;
  renderStatus(r.data);
  if (!state.source) openLive($("plot-stream").value);
}

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", login);
  $("rec-form").addEventListener("submit", startRecording);
  $("plot-stream").addEventListener("change", () => { state.channels = []; openLive($("plot-stream").value); });
  $("plot-window").addEventListener("change", () => openLive(state.stream));
  start();
});
