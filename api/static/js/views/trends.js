// Trends: crossings per day or week (entries and exits; by lane, direction and class), clearance times as a histogram
// with the slowest vehicles of the last day, and the vehicles held now (GET /api/v1/trends). Charts are SVG drawn here.
import { LANGS } from "../core.js";
import { barChart, fmtDuration, table, withCommon, word } from "../widgets.js";

const form = { from: "", to: "", by: "day", gate: "" };  // kept between visits

function minusDays(day, n) {
  const d = new Date(day + "T00:00:00Z");
  d.setUTCDate(d.getUTCDate() - n);
  return d.toISOString().slice(0, 10);
}

function shortDay(ctx, day) {
  return new Intl.DateTimeFormat(LANGS[ctx.lang].locale, { timeZone: "UTC", day: "2-digit", month: "2-digit" })
    .format(new Date(day + "T00:00:00Z"));
}

function binLabel(t, lo, hi) {
  const short = (s) => (s < 3600 ? t("short_m", { m: s / 60 }) : t("short_h", { h: s / 3600 }));
  return hi === null ? "≥ " + short(lo) : (lo === 0 ? "0" : short(lo)) + "–" + short(hi);
}

function render(root, ctx, trends) {
  const { el, t, fmtNumber, fmtTime, fmtDate } = ctx;
  const out = root.querySelector("#trends-out");
  const perBucket = new Map(trends.buckets.map((b) => [b, { entry: 0, exit: 0, truck: 0 }]));
  const perLane = new Map();
  for (const r of trends.rows) {
    const b = perBucket.get(r.start);
    if (b) {
      b[r.direction === "entry" ? "entry" : "exit"] += r.count;
      if (r.vehicle_class === "truck") b.truck += r.count;
    }
    const key = [r.lane, r.direction, r.vehicle_class].join("\u0000");
    perLane.set(key, (perLane.get(key) || 0) + r.count);
  }
  const groups = trends.buckets.map((b) => {
    const v = perBucket.get(b);
    return { label: (trends.by === "week" ? t("week_of", { day: fmtDate(b) }) : fmtDate(b)), short: shortDay(ctx, b),
      values: [v.entry, v.exit, v.truck] };
  });
  const total = trends.rows.reduce((n, r) => n + r.count, 0);
  const laneRows = [...perLane.entries()].sort((a, b) => b[1] - a[1]).map(([key, n]) => {
    const [lane, direction, cls] = key.split("\u0000");
    return [lane, word(t, "dir_", direction), word(t, "class_", cls), fmtNumber(n)];
  });
  const c = trends.clearance;
  const hist = barChart(ctx, {
    groups: c.histogram.map((b) => ({ label: binLabel(t, b.lo_s, b.hi_s), values: [b.count] })),
    series: [{ name: t("visits"), cls: "clearance" }], label: t("clearance_chart"), height: 200,
  });
  hist.classList.add("histogram");
  out.replaceChildren(
    el("p", { class: "zone", id: "trends-range" }, t("range_line", {
      from: fmtDate(trends.from_day), to: fmtDate(trends.to_day), zone: trends.timezone, n: fmtNumber(total) })),
    el("div", { class: "panel" },
      el("h3", {}, t(trends.by === "week" ? "per_week" : "per_day")),
      el("div", { class: "chart", id: "trends-chart" }, barChart(ctx, {
        groups, label: t(trends.by === "week" ? "per_week" : "per_day"),
        series: [{ name: t("entries"), cls: "entry" }, { name: t("exits"), cls: "exit" }, { name: t("trucks"), cls: "truck" }],
      })),
      el("h3", {}, t("by_lane")),
      laneRows.length ? table(ctx, [t("lane"), t("direction"), t("vehicle_class"), t("total")], laneRows, { class: "by-lane" })
        : el("p", { class: "muted" }, t("none_yet"))),
    el("div", { class: "panel" },
      el("h3", {}, t("clearance_title")),
      el("p", { class: "muted" }, t("clearance_def")),
      el("p", { id: "clearance-summary" }, c.visits ? t("clearance_line", {
        n: fmtNumber(c.visits), median: fmtDuration(t, c.median_s), p90: fmtDuration(t, c.p90_s) }) : t("no_visits")),
      el("div", { class: "chart", id: "clearance-chart" }, hist),
      el("h3", {}, t("slowest_title", { day: fmtDate(c.slowest_day) })),
      c.slowest.length ? table(ctx, [t("plate"), t("gate"), t("vehicle_class"), t("arrived"), t("departed"), t("clearance")],
        c.slowest.map((v) => [el("span", { class: "plate" }, v.plate), v.gate, word(t, "class_", v.vehicle_class),
          fmtTime(v.arrived_at), fmtTime(v.departed_at), fmtDuration(t, v.clearance_s)]), { class: "slowest" })
        : el("p", { class: "muted" }, t("none_yet"))),
    el("div", { class: "panel" },
      el("h3", {}, t("held_title")),
      trends.held_now.length ? table(ctx, [t("plate"), t("gate"), t("zone_name"), t("since"), t("held_for"), t("status")],
        trends.held_now.map((h) => [el("span", { class: "plate" }, h.plate || t("no_plate")), h.gate, h.zone || "–",
          fmtTime(h.started_at), fmtDuration(t, h.held_s), t("status_" + h.status)]), { class: "held-now" })
        : el("p", { class: "muted" }, t("none_held"))));
}

async function load(root, ctx) {
  const error = root.querySelector("#trends-error");
  error.textContent = "";
  const params = new URLSearchParams({ from: form.from, to: form.to, by: form.by });
  if (form.gate) params.set("gate", form.gate);
  try {
    render(root, ctx, await (await ctx.api("/api/v1/trends?" + params)).json());
  } catch (e) {
    error.textContent = e.message;
  }
}

function build(root, ctx) {
  const { el, t } = ctx;
  if (!form.to) {
    form.to = ctx.today();
    form.from = minusDays(form.to, 6);
  }
  const input = (name, attrs) => el("input", Object.assign({ name, id: "trends-" + name, value: form[name] }, attrs));
  const by = el("select", { name: "by", id: "trends-by" },
    el("option", { value: "day" }, t("by_day")), el("option", { value: "week" }, t("by_week")));
  by.value = form.by;
  const filters = el("form", { class: "filters", id: "trends-form" },
    el("label", {}, t("from"), input("from", { type: "date", required: true })),
    el("label", {}, t("to"), input("to", { type: "date", required: true })),
    el("label", {}, t("bucket"), by),
    el("label", {}, t("gate"), input("gate", { maxlength: 64, placeholder: t("all_gates") })),
    el("button", { type: "submit" }, t("show")));
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    for (const [name, value] of new FormData(filters)) form[name] = String(value).trim();
    load(root, ctx);
  });
  root.replaceChildren(
    el("div", { class: "view-head" }, el("h2", {}, t("title"))),
    filters,
    el("p", { class: "error", id: "trends-error", role: "alert" }),
    el("div", { id: "trends-out" }, el("p", { class: "muted" }, t("loading"))));
}

export default {
  id: "trends",
  title: "tab",
  adminOnly: false,
  strings: withCommon({
    en: {
      tab: "Trends", title: "Trends", from: "From", to: "To", bucket: "Per", by_day: "day", by_week: "week",
      all_gates: "all gates", range_line: "{from} – {to} ({zone}): {n} crossings",
      per_day: "Crossings per day", per_week: "Crossings per week (from Monday)", week_of: "week of {day}",
      entries: "Entries", exits: "Exits", trucks: "Trucks", by_lane: "By lane, direction and class",
      clearance_title: "Clearance time", clearance_def: "From a plate's entry crossing to its next exit at the same gate; vehicles that left in the range.",
      clearance_line: "{n} vehicles; median {median}; 90 % within {p90}", no_visits: "No vehicle left in this range.",
      clearance_chart: "clearance times, vehicles per time band", visits: "Vehicles", short_m: "{m} min", short_h: "{h} h",
      slowest_title: "Slowest on {day}", arrived: "Arrived", departed: "Left", clearance: "Clearance",
      held_title: "Held now", since: "Since", held_for: "Held for", none_held: "No vehicle is held now.",
    },
    vi: {
      tab: "Xu hướng", title: "Xu hướng", from: "Từ ngày", to: "Đến ngày", bucket: "Theo", by_day: "ngày", by_week: "tuần",
      all_gates: "tất cả cửa khẩu", range_line: "{from} – {to} ({zone}): {n} lượt qua",
      per_day: "Lượt qua theo ngày", per_week: "Lượt qua theo tuần (từ thứ Hai)", week_of: "tuần bắt đầu {day}",
      entries: "Nhập cảnh", exits: "Xuất cảnh", trucks: "Xe tải", by_lane: "Theo làn, hướng và loại xe",
      clearance_title: "Thời gian thông quan", clearance_def: "Từ lúc xe nhập cảnh đến lúc xuất cảnh tiếp theo tại cùng cửa khẩu; các xe đã rời đi trong khoảng thời gian này.",
      clearance_line: "{n} xe; trung vị {median}; 90 % xong trong {p90}", no_visits: "Không có xe nào rời đi trong khoảng này.",
      clearance_chart: "thời gian thông quan, số xe theo khoảng thời gian", visits: "Số xe", short_m: "{m} phút", short_h: "{h} giờ",
      slowest_title: "Chậm nhất ngày {day}", arrived: "Đến", departed: "Rời đi", clearance: "Thông quan",
      held_title: "Xe đang bị giữ", since: "Từ lúc", held_for: "Đã giữ", none_held: "Hiện không có xe nào bị giữ.",
    },
    zh: {
      tab: "趋势", title: "趋势", from: "起始日", to: "截止日", bucket: "按", by_day: "日", by_week: "周",
      all_gates: "全部口岸", range_line: "{from} – {to}（{zone}）：{n} 次通行",
      per_day: "每日通行量", per_week: "每周通行量（周一起）", week_of: "{day} 起的一周",
      entries: "入境", exits: "出境", trucks: "货车", by_lane: "按车道、方向和车型",
      clearance_title: "通关时间", clearance_def: "从车辆入境到在同一口岸下一次出境；统计本时段内离开的车辆。",
      clearance_line: "{n} 辆；中位数 {median}；90% 在 {p90} 内", no_visits: "本时段内没有车辆离开。",
      clearance_chart: "通关时间，各时段车辆数", visits: "车辆数", short_m: "{m}分", short_h: "{h}小时",
      slowest_title: "{day} 最慢车辆", arrived: "到达", departed: "离开", clearance: "通关用时",
      held_title: "当前滞留车辆", since: "开始时间", held_for: "已滞留", none_held: "目前没有滞留车辆。",
    },
  }),
  async show(root, ctx) {
    build(root, ctx);
    await load(root, ctx);
  },
  hide() {},
};
