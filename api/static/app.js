// gatewatch review page: sign in, work the flag queue, chart crossings per hour, export CSV.
// Plain JS, no build, no CDN. The token lives in sessionStorage; images are fetched with it.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { token: sessionStorage.getItem("gw_token"), user: sessionStorage.getItem("gw_user") };
const blobUrls = [];

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (state.token) headers.Authorization = "Bearer " + state.token;
  const response = await fetch(path, Object.assign({}, options, { headers }));
  if (response.status === 401 && path !== "/api/v1/auth/token") {
    signOut("Your session ended; sign in again.");
    throw new Error("signed out");
  }
  if (!response.ok) {
    let detail = response.statusText;
    try { const body = await response.json(); detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail); } catch (e) { /* not JSON */ }
    throw new Error(detail);
  }
  return response;
}

function show(view) {
  for (const name of ["signin", "queue", "counts", "export"]) $(name + "-view").hidden = name !== view;
  for (const tab of document.querySelectorAll("nav .tab")) tab.classList.toggle("active", tab.dataset.view === view);
  $("nav").hidden = view === "signin";
  if (view === "queue") loadQueue();
  if (view === "counts") loadCounts();
  if (view === "export") prepareExport();
}

function signOut(message) {
  state.token = null; state.user = null;
  sessionStorage.removeItem("gw_token"); sessionStorage.removeItem("gw_user");
  $("signin-error").textContent = message || "";
  show("signin");
}

$("signin").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("signin-error").textContent = "";
  const form = new URLSearchParams(new FormData(event.target));
  try {
    const response = await api("/api/v1/auth/token", { method: "POST", body: form });
    const token = await response.json();
    state.token = token.access_token; state.user = $("username").value;
    sessionStorage.setItem("gw_token", state.token); sessionStorage.setItem("gw_user", state.user);
    $("who").textContent = state.user + " (" + token.role + ")";
    show("queue");
  } catch (e) {
    $("signin-error").textContent = e.message;
  }
});

$("signout").addEventListener("click", async () => {
  // End the token on the server too (every token of this user), not only in this browser.
  try { await api("/api/v1/auth/logout", { method: "POST" }); } catch (e) { /* already ended */ }
  signOut("");
});
for (const tab of document.querySelectorAll("nav .tab")) tab.addEventListener("click", () => show(tab.dataset.view));

function fmtTime(iso) {
  return new Date(iso).toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" });
}

async function loadImage(img, url) {
  try {
    const response = await api(url);
    const src = URL.createObjectURL(await response.blob());
    blobUrls.push(src);
    img.src = src;
  } catch (e) {
    img.alt = "image unavailable: " + e.message;
  }
}

async function loadQueue() {
  $("queue-error").textContent = "";
  while (blobUrls.length) URL.revokeObjectURL(blobUrls.pop());
  let page;
  try {
    page = await (await api("/api/v1/flags?status=open&limit=100")).json();
  } catch (e) {
    $("queue-error").textContent = e.message;
    return;
  }
  const list = $("queue");
  list.replaceChildren();
  $("queue-count").textContent = String(page.total);
  $("queue-empty").hidden = page.items.length > 0;
  for (const flag of page.items) {
    const card = $("flag-card").content.firstElementChild.cloneNode(true);
    card.dataset.flagId = flag.flag_id;
    card.querySelector(".plate").textContent = flag.plate || "(no plate)";
    card.querySelector(".meta").textContent = [
      flag.flag_kind.replace("_", " ") + (flag.ended_at ? "" : " (ongoing)"),
      "started " + fmtTime(flag.started_at) + " · " + Math.round(flag.duration_s) + " s",
      "gate " + flag.gate + " · camera " + flag.camera + (flag.lane ? " · lane " + flag.lane : ""),
    ].join("\n");
    const img = card.querySelector("img");
    if (flag.evidence.length) {
      img.alt = flag.evidence[0].role + " of " + (flag.plate || flag.flag_id);
      loadImage(img, flag.evidence[0].url);
    } else {
      img.alt = "no image";
    }
    for (const action of ["confirm", "dismiss"]) {
      card.querySelector("." + action).addEventListener("click", () => review(card, flag.flag_id, action));
    }
    list.appendChild(card);
  }
}

async function review(card, flagId, action) {
  const note = card.querySelector(".note").value;
  for (const b of card.querySelectorAll("button")) b.disabled = true;
  try {
    await api("/api/v1/flags/" + flagId + "/review", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ action, note }),
    });
  } catch (e) {
    $("queue-error").textContent = e.message;
  }
  await loadQueue();
}

function todayLocal() {
  const d = new Date();
  return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
}

$("counts-form").addEventListener("submit", (event) => { event.preventDefault(); loadCounts(); });

async function loadCounts() {
  $("counts-error").textContent = "";
  if (!$("counts-day").value) $("counts-day").value = todayLocal();
  const params = new URLSearchParams({ bucket: "hour" });
  for (const [name, value] of new FormData($("counts-form"))) {
    if (name === "day") {
      params.set("since", value + "T00:00:00");
      const next = new Date(value + "T00:00:00Z"); next.setUTCDate(next.getUTCDate() + 1);
      params.set("until", next.toISOString().slice(0, 10) + "T00:00:00");
    } else if (value) {
      params.set(name, value);
    }
  }
  try {
    const counts = await (await api("/api/v1/counts?" + params)).json();
    $("counts-total").textContent = counts.total + " crossings (" + counts.timezone + ")";
    $("counts-zone").textContent = "Hours in " + zoneName(counts);
    drawChart(counts);
  } catch (e) {
    $("counts-error").textContent = e.message;
  }
}

function zoneName(counts) {
  return counts.timezone + " (UTC" + counts.utc_offset + ")";
}

function svg(name, attrs, text) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

function drawChart(counts) {
  const W = 760, H = 260, left = 40, bottom = 30, top = 10;
  const n = counts.buckets.length || 1;
  const max = Math.max(1, ...counts.buckets.map((b) => b.count));
  const bw = (W - left - 10) / n;
  const root = svg("svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: "img",
    "aria-label": "crossings per hour, hours in " + zoneName(counts) });
  for (let i = 0; i <= 4; i++) {
    const v = Math.round((max * i) / 4), y = H - bottom - ((H - bottom - top) * i) / 4;
    root.appendChild(svg("line", { x1: left, x2: W - 10, y1: y, y2: y, stroke: "#e3e5ea" }));
    root.appendChild(svg("text", { x: left - 6, y: y + 3, "text-anchor": "end" }, String(v)));
  }
  counts.buckets.forEach((b, i) => {
    const h = ((H - bottom - top) * b.count) / max, x = left + i * bw;
    // Labels come from the API, in the gate's time zone (never the browser's).
    const bar = svg("rect", { class: "bar", x: x + 1, y: H - bottom - h, width: Math.max(1, bw - 2), height: h,
      "data-count": b.count, "data-label": b.label });
    bar.appendChild(svg("title", {}, b.local.slice(0, 16).replace("T", " ") + " " + counts.timezone + ": " + b.count));
    root.appendChild(bar);
    if (n <= 48 && i % 2 === 0) {
      root.appendChild(svg("text", { class: "hour", x: x + bw / 2, y: H - bottom + 14, "text-anchor": "middle" }, b.label));
    }
  });
  $("chart").replaceChildren(root);
}

function prepareExport() {
  $("export-error").textContent = "";
  if (!$("export-from").value) $("export-from").value = todayLocal();
  if (!$("export-to").value) $("export-to").value = $("export-from").value;
}

function nextDay(day) {
  const next = new Date(day + "T00:00:00Z"); next.setUTCDate(next.getUTCDate() + 1);
  return next.toISOString().slice(0, 10);
}

// Download with the bearer token: fetch the CSV, then save the blob under the server's file name.
$("export-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("export-error").textContent = ""; $("export-done").textContent = "";
  const form = new FormData(event.target);
  const what = form.get("what");
  const params = new URLSearchParams({ since: form.get("from") + "T00:00:00", until: nextDay(form.get("to")) + "T00:00:00", format: "csv" });
  if (form.get("gate")) params.set("gate", form.get("gate"));
  const path = { crossings: "/api/v1/crossings/export", counts: "/api/v1/counts/export", flags: "/api/v1/flags/export" }[what];
  $("export-button").disabled = true;
  try {
    const response = await api(path + "?" + params);
    const match = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
    const url = URL.createObjectURL(await response.blob());
    const link = document.createElement("a");
    link.href = url; link.download = match ? match[1] : what + ".csv";
    document.body.appendChild(link); link.click(); link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    $("export-done").textContent = "Saved " + link.download;
  } catch (e) {
    $("export-error").textContent = e.message;
  } finally {
    $("export-button").disabled = false;
  }
});

if (state.token) {
  $("who").textContent = state.user || "";
  show("queue");
} else {
  show("signin");
}
