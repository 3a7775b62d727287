// The dashboard page: reads /api/state and the SVG charts every few seconds and fills the page
// with textContent only (nothing from the journal is ever parsed as HTML; the charts are SVG the
// server built with every text escaped). Kill and resume send the typed token in a header.
"use strict";

const body = document.body;
const refreshSeconds = Number(body.dataset.refresh || 5);
const tokenForReads = body.dataset.tokenForReads === "true";
const $ = (id) => document.getElementById(id);

function token() { return $("token").value.trim(); }

function headers() {
  const h = {};
  if (tokenForReads && token()) h["X-Dashboard-Token"] = token();
  return h;
}

function fmt(value, digits = 2) {
  if (value === null || value === undefined) return "–";
  if (typeof value === "number") return value.toLocaleString(undefined, { maximumFractionDigits: digits });
  return String(value);
}

function pct(value) { return value === null || value === undefined ? "–" : (100 * value).toFixed(2) + " %"; }

function table(id, columns, rows, empty) {
  const el = $(id);
  el.replaceChildren();
  const head = el.createTHead().insertRow();
  for (const [title] of columns) {
    const th = document.createElement("th");
    th.textContent = title;
    head.appendChild(th);
  }
  const tbody = el.createTBody();
  if (!rows.length) {
    const cell = tbody.insertRow().insertCell();
    cell.colSpan = columns.length;
    cell.className = "muted";
    cell.textContent = empty;
    return;
  }
  for (const row of rows) {
    const tr = tbody.insertRow();
    for (const [, get, cls] of columns) {
      const td = tr.insertCell();
      const value = get(row);
      td.textContent = fmt(value);
      if (typeof value === "number") td.className = "num";
      if (cls) td.className += " " + cls(row);
    }
  }
}

function renderStatus(s) {
  const halt = $("halt");
  if (s.halted) {
    halt.className = "badge halted";
    halt.textContent = `HALTED: ${s.halt_reason || ""} (by ${s.halted_by || "?"}, at ${s.halted_at || "?"})`;
  } else {
    halt.className = "badge running";
    halt.textContent = "trading allowed";
  }
  $("heartbeat").textContent = s.heartbeat_at
    ? `daemon ${s.daemon_alive ? "alive" : "NOT RUNNING"}: last heartbeat ${fmt(s.heartbeat_age_seconds, 0)} s ago (${s.heartbeat_by || "?"})`
    : "no daemon has run on this journal";
  const run = s.last_run;
  const model = run && run.model;
  $("run").textContent = run
    ? `run ${run.run_id} (${run.mode}, ${run.status}${run.synthetic ? ", SYNTHETIC data" : ""}), strategy ${run.strategy || "?"} on ${run.symbols.join(", ")} ${run.timeframe || ""}` +
      (model ? ` · model ${fmt(model.model_id)}: ${fmt(model.model_status)} (${fmt(model.model_reason)}); risk head: ${fmt(model.risk_model_status)} (${fmt(model.risk_model_reason)})` : "")
    : "no run journaled yet";
  table("positions", [
    ["symbol", (p) => p.symbol], ["qty", (p) => p.qty], ["avg price", (p) => p.avg_price], ["stop", (p) => p.stop ?? "NONE"],
  ], s.positions, "flat");
  table("orders", [
    ["id", (o) => o.client_order_id], ["symbol", (o) => o.symbol], ["side", (o) => o.side], ["qty", (o) => o.qty],
    ["type", (o) => o.type], ["status", (o) => o.status], ["limit", (o) => o.limit_price], ["stop", (o) => o.stop_price],
  ], s.open_orders, "none");
}

function renderSummary(id, sum, today) {
  const bits = [];
  if (sum.points) {
    bits.push(`equity ${fmt(sum.last)} (${pct(sum.return)}), buy and hold ${pct(sum.hold_return)}`);
  } else {
    bits.push("no equity recorded");
  }
  if (today && today.pnl !== null) bits.push(`today's PnL ${fmt(today.pnl)} (${pct(today.pnl_pct)}), loss limit left ${fmt(today.loss_limit_left)}`);
  $(id).textContent = bits.join(" · ");
}

function render(state) {
  const s = state.status;
  renderStatus(s);
  renderSummary("today-summary", state.equity_today, s.today);
  renderSummary("all-summary", state.equity_since_start, null);
  table("decisions", [
    ["time", (d) => d.ts], ["symbol", (d) => d.symbol], ["target", (d) => d.target_weight], ["held", (d) => d.current_qty],
    ["asked", (d) => d.requested_qty], ["approved", (d) => d.approved_qty], ["verdict", (d) => d.verdict, (d) => "verdict-" + d.verdict],
    ["rule", (d) => d.rule], ["reason", (d) => d.reason],
  ], state.decisions, "none yet");
  table("forecasts", [
    ["time", (p) => p.ts], ["symbol", (p) => p.symbol], ["model", (p) => p.model], ["value", (p) => p.value],
  ], state.forecasts, "none");
  table("headlines", [
    ["published", (h) => h.published_at], ["symbols", (h) => h.symbols], ["score", (h) => h.score], ["title", (h) => h.title],
  ], state.headlines, "none");
  const list = $("reports");
  list.replaceChildren();
  for (const r of state.reports) {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = "/reports/" + r.name.split("/").map(encodeURIComponent).join("/");
    a.textContent = r.name;
    li.append(a, ` (${r.modified})`);
    list.appendChild(li);
  }
  $("updated").textContent = `updated ${state.generated_at} from ${s.journal}`;
}

async function chart(id, span) {
  const answer = await fetch(`/api/equity.svg?span=${span}`, { headers: headers(), cache: "no-store" });
  if (answer.ok) $(id).innerHTML = await answer.text();  // server-built SVG, texts escaped there
}

async function refresh() {
  try {
    const answer = await fetch("/api/state", { headers: headers(), cache: "no-store" });
    if (answer.status === 403) {
      $("halt").textContent = "type the dashboard token to read";
      return;
    }
    render(await answer.json());
    await Promise.all([chart("chart-today", "today"), chart("chart-all", "all")]);
  } catch (err) {
    $("updated").textContent = "dashboard unreachable: " + err;
  }
}

async function act(action) {
  const out = $("action-output");
  out.textContent = `${action}…`;
  const answer = await fetch(`/api/${action}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Dashboard-Token": token() },
    body: JSON.stringify({ reason: $("reason").value }),
  });
  const result = await answer.json().catch(() => ({ output: answer.statusText }));
  out.textContent = result.output || result.error || "";
  await refresh();
}

$("kill").addEventListener("click", () => {
  if (confirm("Halt trading and flatten at the broker?")) act("kill");
});
$("resume").addEventListener("click", () => act("resume"));
refresh();
setInterval(refresh, refreshSeconds * 1000);
