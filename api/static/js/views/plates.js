// Plate search (exact and fuzzy: look-alikes and one wrong or missing character) and a vehicle's history: crossings,
// visits with clearance time, flags, every evidence image enlargeable (GET /api/v1/vehicles?q=, /vehicles/{plate}).
import { fmtDuration, table, withCommon, word, zoomable } from "../widgets.js";

const S = { q: "", fuzzy: true, plate: null };  // kept between visits

function evidenceCells(ctx, refs) {
  const names = { crop: ctx.t("crop"), plate: ctx.t("plate_image"), snapshot: ctx.t("snapshot") };
  return ctx.el("span", { class: "thumbs" }, ...refs.map((r) => zoomable(ctx, r.url, names[r.role] || r.role)));
}

async function openHistory(root, ctx, plate) {
  const { el, t, fmtTime, fmtNumber } = ctx;
  S.plate = plate;
  const out = root.querySelector("#plate-history");
  out.replaceChildren(el("p", { class: "muted" }, t("loading")));
  let h;
  try {
    h = await (await ctx.api("/api/v1/vehicles/" + encodeURIComponent(plate))).json();
  } catch (e) {
    out.replaceChildren(el("p", { class: "error", role: "alert" }, e.message));
    return;
  }
  const done = h.visits.filter((v) => v.clearance_s !== null);
  out.replaceChildren(
    el("h3", { id: "history-title" }, t("history_of", { plate: h.plate })),
    el("p", { class: "muted" }, t("history_line", { n: fmtNumber(h.crossings.length), v: fmtNumber(h.visits.length),
      f: fmtNumber(h.flags.length) })),
    el("h4", {}, t("crossings_title")),
    table(ctx, [t("time"), t("gate"), t("lane"), t("direction"), t("vehicle_class"), t("images")],
      [...h.crossings].reverse().map((c) => [fmtTime(c.frame_time), c.gate, c.lane, word(t, "dir_", c.direction),
        word(t, "class_", c.vehicle_class), c.evidence.length ? evidenceCells(ctx, c.evidence) : "–"]),
      { class: "history-crossings" }),
    el("h4", {}, t("visits_title")),
    done.length || h.visits.length ? table(ctx, [t("gate"), t("arrived"), t("departed"), t("clearance")],
      [...h.visits].reverse().map((v) => [v.gate, v.arrived_at ? fmtTime(v.arrived_at) : "–",
        v.departed_at ? fmtTime(v.departed_at) : t("still_here"),
        v.clearance_s === null ? "–" : fmtDuration(t, v.clearance_s)]), { class: "history-visits" })
      : el("p", { class: "muted" }, t("none_yet")),
    el("h4", {}, t("flags_title")),
    h.flags.length ? table(ctx, [t("kind"), t("time"), t("zone_name"), t("duration"), t("status"), t("images")],
      h.flags.map((f) => [t("kind_" + f.flag_kind), fmtTime(f.started_at), f.zone || "–", fmtDuration(t, f.duration_s),
        t("status_" + f.status), f.evidence.length ? evidenceCells(ctx, f.evidence) : "–"]), { class: "history-flags" })
      : el("p", { class: "muted" }, t("no_flags")));
}

async function search(root, ctx, autoOpen = true) {
  const { el, t, fmtTime, fmtNumber } = ctx;
  const error = root.querySelector("#plates-error");
  const results = root.querySelector("#plate-results");
  error.textContent = "";
  const params = new URLSearchParams({ q: S.q, fuzzy: String(S.fuzzy), limit: "20" });
  let found;
  try {
    found = await (await ctx.api("/api/v1/vehicles?" + params)).json();
  } catch (e) {
    error.textContent = e.message;
    results.replaceChildren();
    return;
  }
  root.querySelector("#plates-count").textContent = t("found", { n: fmtNumber(found.total), q: found.query });
  results.replaceChildren(...found.items.map((p) => el("li", {},
    el("button", { type: "button", class: "result", dataset: { plate: p.plate }, onclick: () => openHistory(root, ctx, p.plate) },
      el("span", { class: "plate" }, p.plate),
      el("span", { class: "match match-" + p.match }, t("match_" + p.match)),
      p.on_hold_list ? el("span", { class: "badge" }, t("on_hold")) : null,
      el("span", { class: "meta" }, t("seen", { n: fmtNumber(p.crossings), time: fmtTime(p.last_seen), gate: p.last_gate }))))));
  if (autoOpen && found.items.length === 1) await openHistory(root, ctx, found.items[0].plate);
}

function build(root, ctx) {
  const { el, t } = ctx;
  const q = el("input", { id: "plate-q", name: "q", minlength: 2, maxlength: 32, required: true, value: S.q,
    autocomplete: "off", spellcheck: "false", placeholder: "29C-123.45" });
  const fuzzy = el("input", { id: "plate-fuzzy", name: "fuzzy", type: "checkbox", checked: S.fuzzy });
  const form = el("form", { class: "filters", id: "plates-form", role: "search" },
    el("label", {}, t("query"), q),
    el("label", { class: "check" }, fuzzy, t("fuzzy")),
    el("button", { type: "submit" }, t("search")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    S.q = q.value.trim();
    S.fuzzy = fuzzy.checked;
    S.plate = null;
    root.querySelector("#plate-history").replaceChildren();
    search(root, ctx);
  });
  root.replaceChildren(
    el("div", { class: "view-head" }, el("h2", {}, t("title"))),
    form,
    el("p", { class: "muted" }, t("fuzzy_hint")),
    el("p", { class: "error", id: "plates-error", role: "alert" }),
    el("p", { id: "plates-count", "aria-live": "polite" }),
    el("ul", { class: "results", id: "plate-results" }),
    el("div", { class: "panel", id: "plate-history" }));
}

export default {
  id: "plates",
  title: "tab",
  adminOnly: false,
  strings: withCommon({
    en: {
      tab: "Plates", title: "Plate search", query: "Plate", fuzzy: "Fuzzy", search: "Search",
      fuzzy_hint: "Fuzzy also finds look-alikes (O/0, I/1, B/8, S/5, Z/2, G/6) and one wrong or missing character.",
      found: "plates found for {q}: {n}", match_exact: "exact", match_lookalike: "look-alike", match_one_edit: "1 character off",
      on_hold: "on hold list", seen: "crossings: {n}; last {time} at {gate}",
      history_of: "History of {plate}", history_line: "crossings: {n} · visits: {v} · flags: {f}",
      crossings_title: "Crossings", visits_title: "Visits (arrival to departure)", flags_title: "Flags",
      images: "Images", arrived: "Arrived", departed: "Left", clearance: "Clearance", still_here: "not left yet",
      kind: "Kind", duration: "Duration", no_flags: "No flags.",
    },
    vi: {
      tab: "Biển số", title: "Tra cứu biển số", query: "Biển số", fuzzy: "Tìm gần đúng", search: "Tìm",
      fuzzy_hint: "Tìm gần đúng gồm cả ký tự dễ nhầm (O/0, I/1, B/8, S/5, Z/2, G/6) và sai hoặc thiếu một ký tự.",
      found: "{n} biển số cho {q}", match_exact: "khớp chính xác", match_lookalike: "ký tự dễ nhầm", match_one_edit: "sai 1 ký tự",
      on_hold: "trong danh sách kiểm soát", seen: "{n} lượt qua, lần cuối {time} tại {gate}",
      history_of: "Lịch sử của {plate}", history_line: "{n} lượt qua, {v} lần đến, {f} cảnh báo",
      crossings_title: "Lượt qua", visits_title: "Lần đến (từ lúc đến tới lúc rời đi)", flags_title: "Cảnh báo",
      images: "Hình ảnh", arrived: "Đến", departed: "Rời đi", clearance: "Thông quan", still_here: "chưa rời đi",
      kind: "Loại", duration: "Thời lượng", no_flags: "Không có cảnh báo.",
    },
    zh: {
      tab: "车牌", title: "车牌查询", query: "车牌", fuzzy: "模糊查询", search: "查询",
      fuzzy_hint: "模糊查询还会匹配易混字符（O/0、I/1、B/8、S/5、Z/2、G/6）以及错一位或缺一位的车牌。",
      found: "{q} 共找到 {n} 个车牌", match_exact: "完全匹配", match_lookalike: "易混字符", match_one_edit: "差 1 位",
      on_hold: "在布控名单中", seen: "{n} 次通行，最近 {time} 于 {gate}",
      history_of: "{plate} 的记录", history_line: "{n} 次通行，{v} 次到访，{f} 条告警",
      crossings_title: "通行记录", visits_title: "到访（到达至离开）", flags_title: "告警",
      images: "图像", arrived: "到达", departed: "离开", clearance: "通关用时", still_here: "尚未离开",
      kind: "类型", duration: "持续时间", no_flags: "无告警。",
    },
  }),
  async show(root, ctx) {
    build(root, ctx);
    if (S.q) await search(root, ctx, false);
    if (S.plate) await openHistory(root, ctx, S.plate);
  },
  hide() {},
};
