// Crossings per hour of one day (the gate's day), as an inline SVG bar chart; hours labelled in the gate's zone.

const SVG = "http://www.w3.org/2000/svg";
let form = null;  // kept between visits: the filters the user chose

function svg(name, attrs, text) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function zoneName(counts) {
  return counts.timezone + " (UTC" + counts.utc_offset + ")";
}

function drawChart(root, counts, ctx) {
  const W = 760, H = 260, left = 40, bottom = 30, top = 10;
  const n = counts.buckets.length || 1;
  const max = Math.ceil(Math.max(4, ...counts.buckets.map((b) => b.count)) / 4) * 4;  // whole-number ticks
  const bw = (W - left - 10) / n;
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", preserveAspectRatio: "xMinYMin meet",
    "aria-label": ctx.t("chart_label", { zone: zoneName(counts) }) });
  for (let i = 0; i <= 4; i++) {
    const v = Math.round((max * i) / 4), y = H - bottom - ((H - bottom - top) * i) / 4;
    chart.appendChild(svg("line", { x1: left, x2: W - 10, y1: y, y2: y, stroke: "#e3e5ea" }));
    chart.appendChild(svg("text", { x: left - 6, y: y + 3, "text-anchor": "end" }, ctx.fmtNumber(v)));
  }
  counts.buckets.forEach((b, i) => {
    const h = ((H - bottom - top) * b.count) / max, x = left + i * bw;
    // Labels come from the API, in the gate's time zone (never the browser's).
    const bar = svg("rect", { class: "bar", x: x + 1, y: H - bottom - h, width: Math.max(1, bw - 2), height: h,
      "data-count": b.count, "data-label": b.label });
    bar.appendChild(svg("title", {}, b.local.slice(0, 16).replace("T", " ") + " " + counts.timezone + ": " + ctx.fmtNumber(b.count)));
    chart.appendChild(bar);
    if (n <= 48 && i % 2 === 0) {
      chart.appendChild(svg("text", { class: "hour", x: x + bw / 2, y: H - bottom + 14, "text-anchor": "middle" }, b.label));
    }
  });
  root.querySelector("#chart").replaceChildren(chart);
}

async function load(root, ctx) {
  const error = root.querySelector("#counts-error");
  error.textContent = "";
  const day = root.querySelector("#counts-day");
  if (!day.value) day.value = ctx.today();
  const params = new URLSearchParams({ bucket: "hour" });
  for (const [name, value] of new FormData(root.querySelector("#counts-form"))) {
    if (name === "day") {
      params.set("since", value + "T00:00:00");
      const next = new Date(value + "T00:00:00Z"); next.setUTCDate(next.getUTCDate() + 1);
      params.set("until", next.toISOString().slice(0, 10) + "T00:00:00");
    } else if (value) {
      params.set(name, value);
    }
  }
  try {
    const counts = await (await ctx.api("/api/v1/counts?" + params)).json();
    root.querySelector("#counts-total").textContent = ctx.t("total", { n: ctx.fmtNumber(counts.total), zone: counts.timezone })
      + " · " + ctx.fmtDate(day.value);
    root.querySelector("#counts-zone").textContent = ctx.t("hours_in", { zone: zoneName(counts) });
    drawChart(root, counts, ctx);
  } catch (e) {
    error.textContent = e.message;
  }
}

function build(root, ctx) {
  const { el, t } = ctx;
  const option = (value, key) => el("option", { value }, t(key));
  const filters = el("form", { id: "counts-form", class: "filters" },
    el("label", {}, t("gate"), el("input", { name: "gate", id: "counts-gate", maxlength: 64 })),
    el("label", {}, t("camera"), el("input", { name: "camera", maxlength: 64 })),
    el("label", {}, t("lane"), el("input", { name: "lane", maxlength: 64 })),
    el("label", {}, t("direction"), el("select", { name: "direction" },
      option("", "any"), option("entry", "dir_entry"), option("exit", "dir_exit"))),
    el("label", {}, t("vehicle_class"), el("select", { name: "vehicle_class" },
      option("", "any"), ...["car", "truck", "bus", "motorcycle"].map((c) => option(c, "class_" + c)))),
    el("label", {}, t("day"), el("input", { name: "day", id: "counts-day", type: "date", required: true })),
    el("button", { type: "submit" }, t("show")));
  if (form) {  // the user's last choices, kept when the language changes or the tab is left
    for (const [name, value] of form) filters.elements[name].value = value;
  }
  filters.addEventListener("submit", (event) => { event.preventDefault(); load(root, ctx); });
  filters.addEventListener("change", () => { form = [...new FormData(filters)]; });
  root.append(
    el("h2", {}, t("title")),
    filters,
    el("p", { class: "error", id: "counts-error", role: "alert" }),
    el("p", { id: "counts-total" }),
    el("p", { id: "counts-zone" }),
    el("div", { id: "chart", class: "chart" }));
}

export default {
  id: "counts",
  title: "tab",
  adminOnly: false,
  strings: {
    en: {
      tab: "Counts", title: "Crossings per hour", direction: "Direction", vehicle_class: "Class", day: "Day",
      show: "Show", total: "{n} crossings ({zone})", hours_in: "Hours in {zone}",
      chart_label: "crossings per hour, hours in {zone}",
    },
    vi: {
      tab: "Lưu lượng", title: "Lượt xe qua theo giờ", direction: "Hướng", vehicle_class: "Loại xe", day: "Ngày",
      show: "Xem", total: "{n} lượt qua ({zone})", hours_in: "Giờ theo múi {zone}",
      chart_label: "lượt xe qua theo giờ, giờ theo múi {zone}",
    },
    zh: {
      tab: "流量", title: "每小时通行量", direction: "方向", vehicle_class: "车型", day: "日期",
      show: "查看", total: "{n} 次通行（{zone}）", hours_in: "小时按 {zone} 时区",
      chart_label: "每小时通行量，小时按 {zone} 时区",
    },
  },
  async show(root, ctx) {
    if (!root.firstChild) build(root, ctx);
    await load(root, ctx);
  },
  hide() {},
};
