// tradefabric dashboard: reads the node's snapshots from /api/stream (server-sent events
// read with fetch, so the token travels in a header, never in a URL or a cookie) and
// sends commands as JSON POSTs with that header.
"use strict";

const state = { auth: "token", token: "", snapshot: null, retryMs: 2000, live: [] };
const $ = (id) => document.getElementById(id);

// --- formatting (the tests format the control service's numbers the same way) ---

function grouped(text) {
  const [whole, frac] = text.split(".");
  const sign = whole.startsWith("-") ? "-" : "";
  const digits = sign ? whole.slice(1) : whole;
  const withCommas = digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return sign + withCommas + (frac === undefined ? "" : "." + frac);
}
function money(v) { return v === null || v === undefined ? "-" : grouped(Number(v).toFixed(2)); }
function qty(v) {
  if (v === null || v === undefined) return "-";
  const text = Number(v).toFixed(8).replace(/0+$/, "").replace(/\.$/, "");
  return text === "-0" ? "0" : text;
}
function num(v, digits) { return v === null || v === undefined ? "-" : Number(v).toFixed(digits); }
function count(v) { return v === null || v === undefined ? "-" : grouped(String(v)); }
function time(ns) {
  if (!ns) return "-";
  return new Date(ns / 1e6).toISOString().replace("T", " ").slice(0, 23);
}

// --- DOM helpers (textContent only: nothing the node sends is parsed as HTML) ---

function cell(text, cls, value) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  if (value !== undefined) td.dataset.value = String(value);
  return td;
}
function fillRows(tbody, rows, empty, columns) {
  const body = $(tbody);
  body.replaceChildren();
  if (!rows.length) {
    const tr = document.createElement("tr");
    const td = cell(empty, "muted empty");
    td.colSpan = columns;
    tr.append(td);
    body.append(tr);
    return;
  }
  for (const cells of rows) {
    const tr = document.createElement("tr");
    tr.append(...cells);
    body.append(tr);
  }
}
function setField(name, text, value, signed) {
  for (const el of document.querySelectorAll(`[data-field="${name}"]`)) {
    el.textContent = text;
    if (value !== undefined) el.dataset.value = String(value);
    el.classList.toggle("neg", Boolean(signed) && value < 0);
    el.classList.toggle("pos", Boolean(signed) && value > 0);
  }
}
function logLine(list, text, cls) {
  const li = document.createElement("li");
  li.textContent = text;
  if (cls) li.className = cls;
  $(list).prepend(li);
  while ($(list).children.length > 30) $(list).lastChild.remove();
}

// --- rendering one snapshot ---

function render(s) {
  state.snapshot = s;
  const st = s.status;
  $("mode").textContent = st.mode;
  const halted = st.risk.halted;
  $("trading").textContent = halted ? "HALTED" : "trading";
  $("trading").className = "badge " + (halted ? "bad" : "good");
  $("clock").textContent = time(st.ts);
  document.body.dataset.ts = String(st.ts);
  renderMoney(st);
  renderRisk(st.risk);
  renderStrategies(st);
  renderPositions(s.positions);
  renderOrders(s.orders);
  renderFills(s.fills);
  renderFeeds(st.data);
  renderBooks(s.books);
  renderIntegrity(s.integrity);
  renderBalances(s.balances);
  renderAlerts(s.alerts, st.faults);
  renderEquity(s.equity);
}

function renderMoney(st) {
  setField("equity", money(st.equity), st.equity);
  setField("pnl-total", money(st.pnl.total), st.pnl.total, true);
  setField("pnl-day", money(st.pnl.day), st.pnl.day, true);
  setField("pnl-realized", money(st.pnl.realized), st.pnl.realized, true);
  setField("pnl-unrealized", money(st.pnl.unrealized), st.pnl.unrealized, true);
  setField("pnl-fees", money(st.pnl.fees), st.pnl.fees);
  setField("trades", count(st.trades), st.trades);
  setField("fills", count(st.fills), st.fills);
}

function renderRisk(r) {
  setField("risk-halted", r.halted ? "yes" : "no");
  setField("risk-halt-reason", r.halt_reason || "-");
  setField("risk-accepted", count(r.accepted), r.accepted);
  setField("risk-rejected", count(r.rejected), r.rejected);
  const rules = Object.entries(r.rejected_by_rule).map(([k, v]) => `${k} ${v}`).join(", ");
  setField("risk-by-rule", rules || "-");
  setField("risk-day-high", money(r.day_high), r.day_high);
}

function renderStrategies(st) {
  const paused = st.risk.paused;
  fillRows("strategies", st.strategies.map((id) => {
    const isPaused = Object.prototype.hasOwnProperty.call(paused, id);
    const button = document.createElement("button");
    button.textContent = isPaused ? "Resume" : "Pause";
    button.dataset.strategy = id;
    button.dataset.action = isPaused ? "resume" : "pause";
    button.addEventListener("click", () => pauseOrResume(id, isPaused));
    const td = document.createElement("td");
    td.append(button);
    const label = isPaused ? `paused: ${paused[id]}` : "active";
    const stateCell = cell(label, isPaused ? "warn-text" : "good-text");
    stateCell.dataset.strategyState = id;
    return [cell(id), stateCell, td];
  }), "no strategies", 3);
}

function renderPositions(positions) {
  fillRows("positions", positions.map((p) => [
    cell(p.venue), cell(p.symbol), cell(qty(p.quantity), "n", p.quantity),
    cell(money(p.avg_price), "n", p.avg_price), cell(money(p.mark), "n", p.mark),
    cell(money(p.unrealized_pnl), "n " + sign(p.unrealized_pnl), p.unrealized_pnl),
    cell(money(p.realized_pnl), "n", p.realized_pnl), cell(money(p.fees), "n", p.fees),
  ]), "flat: no open positions", 8);
}

function renderOrders(orders) {
  fillRows("orders", orders.map((o) => [
    cell(o.client_order_id), cell(o.strategy_id), cell(o.symbol), cell(o.side, o.side),
    cell(o.order_type), cell(qty(o.quantity), "n", o.quantity),
    cell(o.price === null ? "market" : money(o.price), "n", o.price),
    cell(qty(o.filled_quantity), "n", o.filled_quantity), cell(o.status),
  ]), "no open orders", 9);
}

function renderFills(fills) {
  const latest = fills.slice().reverse();
  fillRows("fills", latest.map((f) => {
    const cells = [
      cell(time(f.ts_event)), cell(f.strategy_id), cell(f.venue), cell(f.symbol),
      cell(f.side, f.side), cell(money(f.price), "n", f.price),
      cell(qty(f.quantity), "n", f.quantity), cell(num(f.fee, 4), "n", f.fee),
      cell(num(f.slippage_bps, 2), "n", f.slippage_bps),
    ];
    cells[0].dataset.fillId = f.fill_id;
    return cells;
  }), "no fills yet", 9);
}

function renderFeeds(data) {
  if (!data) {
    $("queue").textContent = "no live feeds";
    fillRows("feeds", [], "no live feeds", 7);
    return;
  }
  $("queue").textContent = `queue ${data.depth} / ${data.capacity} (high water ${data.high_water})`;
  fillRows("feeds", data.venues.map((v) => [
    cell(v.venue), cell(count(v.parsed), "n", v.parsed), cell(count(v.queued), "n", v.queued),
    cell(count(v.dropped), "n" + (v.dropped ? " neg" : ""), v.dropped),
    cell(count(v.duplicates), "n", v.duplicates),
    cell(count(v.rejected), "n" + (v.rejected ? " neg" : ""), v.rejected),
    cell(count(v.parse_errors), "n" + (v.parse_errors ? " neg" : ""), v.parse_errors),
  ]), "no venues", 7);
}

function renderBooks(books) {
  fillRows("books", books.map((b) => {
    const mid = (b.best_bid + b.best_ask) / 2;
    const spread = b.best_bid !== null && b.best_ask !== null ? ((b.best_ask - b.best_bid) / mid) * 1e4 : null;
    return [
      cell(b.venue), cell(b.symbol), cell(b.valid ? "valid" : "invalid", b.valid ? "good-text" : "neg"),
      cell(money(b.best_bid), "n", b.best_bid), cell(money(b.best_ask), "n", b.best_ask),
      cell(num(spread, 3), "n", spread), cell(money(b.last_price), "n", b.last_price),
    ];
  }), "no instruments", 7);
}

function renderIntegrity(view) {
  $("integrity-note").textContent = view.configured
    ? (view.consensus.length ? "" : "no consensus yet (needs fresh prices from enough venues)")
    : "integrity checks are not configured on this node (integrity: section)";
  fillRows("consensus", view.consensus.map((c) => [
    cell(c.asset), cell(money(c.price), "n", c.price), cell(num(c.mad_bps, 2), "n", c.mad_bps),
    cell(String(c.venues), "n", c.venues), cell(c.valid ? "yes" : "no", c.valid ? "good-text" : "neg"),
  ]), "no consensus", 5);
  fillRows("deviations", view.deviations.map((d) => [
    cell(d.venue), cell(d.symbol), cell(money(d.price_usd), "n", d.price_usd),
    cell(money(d.consensus), "n", d.consensus),
    cell(num(d.deviation_bps, 2), "n" + (Math.abs(d.zscore) > 3 ? " neg" : ""), d.deviation_bps),
    cell(num(d.zscore, 2), "n", d.zscore),
  ]), "no venue deviations", 6);
}

function renderBalances(balances) {
  fillRows("balances", balances.map((b) => [
    cell(b.venue), cell(b.currency), cell(qty(b.amount), "n", b.amount),
  ]), "no balances", 3);
}

function renderAlerts(alerts, faults) {
  const list = $("alerts");
  list.replaceChildren();
  for (const a of alerts.slice().reverse()) {
    const li = document.createElement("li");
    li.className = "level-" + a.level;
    li.textContent = `${time(a.ts)}  ${a.level.toUpperCase()}  ${a.kind}  ${a.message}`;
    list.append(li);
  }
  if (!alerts.length) list.append(Object.assign(document.createElement("li"), { textContent: "no alerts", className: "muted" }));
  const faultList = $("faults");
  faultList.replaceChildren();
  for (const f of faults) {
    faultList.append(Object.assign(document.createElement("li"), {
      textContent: `${time(f.ts)} ${f.component}: ${f.error_type} ${f.error} (${f.action})`, className: "neg",
    }));
  }
  if (!faults.length) faultList.append(Object.assign(document.createElement("li"), { textContent: "no faults", className: "muted" }));
}

function sign(v) { return v < 0 ? "neg" : v > 0 ? "pos" : ""; }

function renderEquity(curve) {
  // The node samples its curve every equity_interval; between samples the page draws
  // the equity of each snapshot it received (kept while the page is open), so the
  // chart moves live.
  const tail = state.live[state.live.length - 1];
  if (!tail || tail[0] < curve.now_ts) state.live.push([curve.now_ts, curve.now_equity]);
  else if (tail[0] === curve.now_ts) tail[1] = curve.now_equity;
  if (state.live.length > 3000) state.live.shift();
  const sampled = new Set(curve.ts);
  const points = curve.ts.map((t, i) => [t, curve.equity[i]])
    .concat(state.live.filter((p) => !sampled.has(p[0])))
    .sort((a, b) => a[0] - b[0]);
  const ts = points.map((p) => p[0]);
  const eq = points.map((p) => p[1]);
  const svg = $("equity-chart");
  svg.replaceChildren();
  const ns = "http://www.w3.org/2000/svg";
  const lo = Math.min(...eq), hi = Math.max(...eq);
  const pad = Math.max((hi - lo) * 0.1, Math.abs(hi) * 1e-5, 0.01);
  const y0 = lo - pad, y1 = hi + pad;
  const t0 = ts[0], t1 = Math.max(ts[ts.length - 1], t0 + 1);
  const x = (t) => ((t - t0) / (t1 - t0)) * 800;
  const y = (v) => 180 - ((v - y0) / (y1 - y0)) * 180;
  const base = document.createElementNS(ns, "line");
  const start = eq[0];
  for (const [k, v] of Object.entries({ x1: 0, x2: 800, y1: y(start), y2: y(start), class: "baseline" })) base.setAttribute(k, v);
  svg.append(base);
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", ts.map((t, i) => `${x(t).toFixed(1)},${y(eq[i]).toFixed(1)}`).join(" "));
  line.setAttribute("class", eq[eq.length - 1] >= start ? "curve up" : "curve down");
  svg.append(line);
  svg.dataset.points = String(ts.length);
  $("equity-range").textContent =
    `${ts.length} points, ${time(t0)} .. ${time(ts[ts.length - 1])}; low ${money(lo)}, high ${money(hi)}`;
}

// --- talking to the dashboard ---

function headers(json) {
  const h = { "X-Operator": $("operator").value.trim() };
  if (state.token) h["Authorization"] = "Bearer " + state.token;
  if (json) h["Content-Type"] = "application/json";
  return h;
}

async function command(path, body, what) {
  try {
    const res = await fetch(path, { method: "POST", headers: headers(true), body: JSON.stringify(body || {}) });
    const doc = await res.json();
    if (!res.ok) {
      logLine("command-log", `${what}: refused (${res.status}) ${doc.error}`, "neg");
      return null;
    }
    const flatText = (r) => (r.flat ? "flat" : `${r.left.length} positions, ${r.open_orders.length} orders left`);
    const text = doc.message || (doc.flat !== undefined ? flatText(doc) : "done");
    logLine("command-log", `${what}: ${text}`, "ok");
    return doc;
  } catch (err) {
    logLine("command-log", `${what}: ${err}`, "neg");
    return null;
  }
}

function reason() { return $("reason").value.trim(); }

function pauseOrResume(id, isPaused) {
  const path = `/api/strategies/${encodeURIComponent(id)}/${isPaused ? "resume" : "pause"}`;
  command(path, isPaused ? {} : { reason: reason() || "paused from the dashboard" }, `${isPaused ? "resume" : "pause"} ${id}`);
}

function wireControls() {
  $("cancel-all").addEventListener("click", () => command("/api/cancel_all", {}, "cancel all"));
  $("halt").addEventListener("click", () => command("/api/halt", { reason: reason() }, "halt"));
  $("reset").addEventListener("click", () => command("/api/reset", { reason: reason() }, "reset"));
  const dialog = $("flat-dialog");
  $("flat-all").addEventListener("click", () => {
    $("flat-confirm").value = "";
    $("flat-go").disabled = true;
    dialog.showModal();
  });
  $("flat-confirm").addEventListener("input", () => { $("flat-go").disabled = $("flat-confirm").value !== "FLAT ALL"; });
  dialog.addEventListener("close", () => {
    if (dialog.returnValue === "confirm" && $("flat-confirm").value === "FLAT ALL") {
      command("/api/flat_all", { confirm: "FLAT ALL", wait_s: 15 }, "FLAT ALL");
    }
  });
  const operator = localStorage.getItem("tf-operator") || "";
  $("operator").value = operator;
  $("operator").addEventListener("change", () => localStorage.setItem("tf-operator", $("operator").value.trim()));
  $("logout").addEventListener("click", () => { sessionStorage.removeItem("tf-token"); location.reload(); });
}

function setConn(text, cls) {
  $("conn").textContent = text;
  $("conn").className = "badge " + cls;
}

function handleEvent(chunk) {
  let event = "message";
  const data = [];
  for (const line of chunk.split("\n")) {
    if (line.startsWith("event:")) event = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
    else if (line.startsWith("retry:")) state.retryMs = Number(line.slice(6)) || state.retryMs;
  }
  if (event === "snapshot" && data.length) {
    render(JSON.parse(data.join("\n")));
    setConn("live", "good");
  } else if (event === "unavailable") {
    setConn("node unavailable", "bad");
  }
}

async function stream() {
  for (;;) {
    try {
      const res = await fetch("/api/stream", { headers: headers(false), cache: "no-store" });
      if (res.status === 403) {
        const doc = await res.json();
        showLogin(doc.error);
        return;
      }
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          handleEvent(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch (err) {
      // the node restarted or the network blinked: try again
    }
    setConn("reconnecting", "stale");
    await new Promise((r) => setTimeout(r, state.retryMs));
  }
}

function showLogin(error) {
  $("login").hidden = false;
  $("login-error").textContent = error || "";
  $("token").focus();
}

async function signIn(event) {
  event.preventDefault();
  state.token = $("token").value.trim();
  const res = await fetch("/api/snapshot", { headers: headers(false), cache: "no-store" });
  if (!res.ok) {
    $("login-error").textContent = `refused (${res.status})`;
    return;
  }
  sessionStorage.setItem("tf-token", state.token);
  $("login").hidden = true;
  $("logout").hidden = false;
  render(await res.json());
  stream();
}

async function main() {
  wireControls();
  $("login-form").addEventListener("submit", signIn);
  // A token handed over in the fragment (never sent to the server) is kept for this tab.
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromHash) {
    sessionStorage.setItem("tf-token", fromHash);
    history.replaceState(null, "", location.pathname);
  }
  const session = await (await fetch("/api/session", { cache: "no-store" })).json();
  state.auth = session.auth;
  state.retryMs = Math.max(1000, session.refresh_s * 2000);
  state.token = sessionStorage.getItem("tf-token") || "";
  if (state.auth === "token" && !state.token) {
    showLogin("");
    return;
  }
  $("logout").hidden = state.auth !== "token";
  stream();
}

document.addEventListener("DOMContentLoaded", main);
