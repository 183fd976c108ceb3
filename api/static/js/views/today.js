// Today at the gate: trucks against the daily capacity, open flags by kind, per-lane entries and exits by class, and
// the last crossings with their crop; refreshed every 10 s while shown (GET /api/v1/today).
import { fmtDuration, table, withCommon, word, zoomable } from "../widgets.js";

const REFRESH_MS = 10000;
const S = { timer: null, run: 0, gate: "" };  // run: bumped on hide, so a late answer of a left view is dropped

function gauge(ctx, g) {
  const { el, t, fmtNumber } = ctx;
  const pct = Math.round(g.share * 1000) / 10;
  const fill = el("div", { class: "meter-fill" });
  fill.style.width = Math.min(100, pct) + "%";  // CSSOM: the page's CSP refuses style attributes
  return el("div", { class: "gauge" + (g.share >= 1 ? " full" : ""), dataset: { gate: g.gate } },
    el("p", { class: "gauge-title" }, t("trucks_at", { gate: g.gate })),
    el("p", { class: "gauge-figure" },
      el("span", { class: "gauge-count" }, fmtNumber(g.trucks)), " / ", fmtNumber(g.capacity),
      el("span", { class: "muted" }, " (" + fmtNumber(pct) + " %)")),
    el("div", { class: "meter", role: "meter", "aria-valuemin": 0, "aria-valuemax": g.capacity, "aria-valuenow": g.trucks,
      "aria-label": t("trucks_at", { gate: g.gate }) },
      fill));
}

function byClass(ctx, counts) {
  const parts = Object.entries(counts).sort((a, b) => b[1] - a[1])
    .map(([cls, n]) => word(ctx.t, "class_", cls) + " " + ctx.fmtNumber(n));
  return parts.length ? parts.join(" · ") : "–";
}

function recentCard(ctx, c) {
  const { el, t, fmtTime } = ctx;
  const crop = c.crop_url ? zoomable(ctx, c.crop_url, t("crop") + " " + (c.plate || "")) : el("span", { class: "thumb none" });
  return el("li", { class: "crossing", dataset: { eventId: c.event_id } }, crop,
    el("div", { class: "facts" },
      c.plate ? el("p", { class: "plate" }, c.plate) : el("p", { class: "muted" }, t("no_plate")),
      el("p", { class: "meta" }, fmtTime(c.frame_time)),
      el("p", { class: "meta" }, [c.gate, c.lane, word(t, "dir_", c.direction), word(t, "class_", c.vehicle_class)].join(" · "))));
}

function render(root, ctx, board) {
  const { el, t, fmtNumber, fmtDate, fmtTime } = ctx;
  root.querySelector("#today-day").textContent = t("day_line", { day: fmtDate(board.day), zone: board.timezone + " (UTC" + board.utc_offset + ")" });
  root.querySelector("#today-updated").textContent = t("updated", { time: fmtTime(board.as_of) });
  root.querySelector("#today-trucks").replaceChildren(
    ...(board.trucks.length ? board.trucks.map((g) => gauge(ctx, g)) : [el("p", { class: "muted" }, t("none_yet"))]));
  root.querySelector("#today-flags").replaceChildren(...Object.entries(board.open_flags).map(([kind, n]) =>
    el("div", { class: "tile" + (n ? " alert" : ""), dataset: { kind } },
      el("span", { class: "tile-count" }, fmtNumber(n)), el("span", { class: "tile-label" }, t("kind_" + kind)))));
  const lanes = root.querySelector("#today-lanes");
  lanes.replaceChildren(board.lanes.length
    ? table(ctx, [t("gate"), t("lane"), t("entries"), t("exits"), t("total")],
      board.lanes.map((l) => [l.gate, l.lane, byClass(ctx, l.entries), byClass(ctx, l.exits), fmtNumber(l.total)]),
      { class: "lanes", "aria-label": t("lanes_title") })
    : el("p", { class: "muted" }, t("none_yet")));
  root.querySelector("#today-recent").replaceChildren(board.recent.length
    ? el("ul", { class: "crossings" }, ...board.recent.map((c) => recentCard(ctx, c)))
    : el("p", { class: "muted" }, t("none_yet")));
  const oldest = board.recent.length ? (Date.parse(board.as_of) - Date.parse(board.recent[0].frame_time)) / 1000 : null;
  root.querySelector("#today-last").textContent = oldest === null ? "" : t("last_ago", { ago: fmtDuration(t, oldest) });
}

async function refresh(root, ctx, run) {
  const params = new URLSearchParams({ last: "12" });
  if (S.gate) params.set("gate", S.gate);
  try {
    const board = await (await ctx.api("/api/v1/today?" + params)).json();
    if (run !== S.run) return;
    root.querySelector("#today-error").textContent = "";
    render(root, ctx, board);
  } catch (e) {
    if (run === S.run) root.querySelector("#today-error").textContent = e.message;
  }
  if (run === S.run) S.timer = setTimeout(() => refresh(root, ctx, run), REFRESH_MS);
}

function build(root, ctx) {
  const { el, t } = ctx;
  const gate = el("input", { id: "today-gate", name: "gate", maxlength: 64, value: S.gate, placeholder: t("all_gates") });
  const form = el("form", { class: "filters", id: "today-form" },
    el("label", {}, t("gate"), gate), el("button", { type: "submit" }, t("show")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    S.gate = gate.value.trim();
    clearTimeout(S.timer);
    S.run += 1;  // a refresh already on its way is dropped: one polling loop at a time
    refresh(root, ctx, S.run);
  });
  root.replaceChildren(
    el("div", { class: "view-head" }, el("h2", {}, t("title")), el("p", { class: "zone", id: "today-day" })),
    form,
    el("p", { class: "error", id: "today-error", role: "alert" }),
    el("p", { class: "muted", id: "today-updated", "aria-live": "polite" }),
    el("section", { class: "board", "aria-label": t("title") },
      el("div", { class: "panel" }, el("h3", {}, t("trucks_title")), el("div", { id: "today-trucks", class: "gauges" })),
      el("div", { class: "panel" }, el("h3", {}, t("flags_title")), el("div", { id: "today-flags", class: "tiles" }))),
    el("div", { class: "panel" }, el("h3", {}, t("lanes_title")), el("div", { id: "today-lanes" })),
    el("div", { class: "panel" }, el("h3", {}, t("recent_title")), el("p", { class: "muted", id: "today-last" }),
      el("div", { id: "today-recent" })));
}

export default {
  id: "today",
  title: "tab",
  adminOnly: false,
  strings: withCommon({
    en: {
      tab: "Today", title: "Today at the gate", day_line: "{day}, times in {zone}", updated: "Updated {time}; refreshes every 10 s",
      trucks_title: "Trucks today / daily capacity", trucks_at: "Trucks at {gate}", flags_title: "Open flags",
      lanes_title: "Lanes: entries and exits by class", entries: "Entries", exits: "Exits",
      recent_title: "Last crossings", last_ago: "Last one {ago} ago", all_gates: "all gates",
    },
    vi: {
      tab: "Hôm nay", title: "Hôm nay tại cửa khẩu", day_line: "{day}, giờ theo múi {zone}", updated: "Cập nhật {time}; tự làm mới mỗi 10 giây",
      trucks_title: "Xe tải hôm nay / công suất ngày", trucks_at: "Xe tải tại {gate}", flags_title: "Cảnh báo chưa xử lý",
      lanes_title: "Làn xe: lượt nhập cảnh và xuất cảnh theo loại xe", entries: "Nhập cảnh", exits: "Xuất cảnh",
      recent_title: "Lượt qua gần nhất", last_ago: "Lượt cuối cách đây {ago}", all_gates: "tất cả cửa khẩu",
    },
    zh: {
      tab: "今日", title: "口岸今日概况", day_line: "{day}，时间按 {zone} 时区", updated: "更新于 {time}；每 10 秒自动刷新",
      trucks_title: "今日货车 / 每日通关能力", trucks_at: "{gate} 货车", flags_title: "待处理告警",
      lanes_title: "车道：按车型统计入境与出境", entries: "入境", exits: "出境",
      recent_title: "最近通行", last_ago: "最近一次在 {ago} 前", all_gates: "全部口岸",
    },
  }),
  async show(root, ctx) {
    clearTimeout(S.timer);
    S.run += 1;
    build(root, ctx);
    await refresh(root, ctx, S.run);
  },
  hide() {
    S.run += 1;
    clearTimeout(S.timer);
    S.timer = null;
  },
};
