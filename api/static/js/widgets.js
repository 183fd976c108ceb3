// Pieces the Today, Trends, Plates, Holds and Users views share: texts, durations, an enlargeable evidence image,
// small SVG charts drawn here (no library, no CDN) and a table helper.

const SVG = "http://www.w3.org/2000/svg";

/** Texts several views use, merged under each view's own strings. */
export const COMMON = {
  en: {
    plate: "Plate", time: "Time", direction: "Direction", vehicle_class: "Class", total: "Total", zone_name: "Zone",
    no_plate: "no plate", none_yet: "Nothing yet.", loading: "Loading…", show: "Show", status: "Status",
    dur_s: "{s} s", dur_m: "{m} min", dur_hm: "{h} h {m} min", dur_dh: "{d} d {h} h",
    enlarge: "Enlarge {what}", close: "Close", crop: "vehicle crop", plate_image: "plate", snapshot: "snapshot",
    status_open: "open", status_confirmed: "confirmed", status_dismissed: "dismissed",
  },
  vi: {
    plate: "Biển số", time: "Thời gian", direction: "Hướng", vehicle_class: "Loại xe", total: "Tổng", zone_name: "Khu vực",
    no_plate: "không đọc được biển", none_yet: "Chưa có dữ liệu.", loading: "Đang tải…", show: "Xem", status: "Trạng thái",
    dur_s: "{s} giây", dur_m: "{m} phút", dur_hm: "{h} giờ {m} phút", dur_dh: "{d} ngày {h} giờ",
    enlarge: "Phóng to {what}", close: "Đóng", crop: "ảnh xe", plate_image: "ảnh biển số", snapshot: "ảnh toàn cảnh",
    status_open: "chưa xử lý", status_confirmed: "đã xác nhận", status_dismissed: "đã bỏ qua",
  },
  zh: {
    plate: "车牌", time: "时间", direction: "方向", vehicle_class: "车型", total: "合计", zone_name: "区域",
    no_plate: "未识别车牌", none_yet: "暂无数据。", loading: "加载中…", show: "查看", status: "状态",
    dur_s: "{s} 秒", dur_m: "{m} 分钟", dur_hm: "{h} 小时 {m} 分", dur_dh: "{d} 天 {h} 小时",
    enlarge: "放大{what}", close: "关闭", crop: "车辆图像", plate_image: "车牌图像", snapshot: "现场快照",
    status_open: "待处理", status_confirmed: "已确认", status_dismissed: "已驳回",
  },
};

/** A view's strings with the common ones underneath (the view's own win). */
export function withCommon(own) {
  const out = {};
  for (const lang of Object.keys(COMMON)) out[lang] = Object.assign({}, COMMON[lang], own[lang] || {});
  return out;
}

/** Seconds as a short duration in the chosen language ("1 h 5 min", "1 giờ 5 phút", "1 小时 5 分"). */
export function fmtDuration(t, seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return t("dur_s", { s });
  if (s < 3600) return t("dur_m", { m: Math.floor(s / 60) });
  if (s < 86400) return t("dur_hm", { h: Math.floor(s / 3600), m: Math.floor((s % 3600) / 60) });
  return t("dur_dh", { d: Math.floor(s / 86400), h: Math.floor((s % 86400) / 3600) });
}

/** A class or direction name in the chosen language (the shell's words; unknown classes as sent). */
export function word(t, prefix, value) {
  const key = prefix + value;
  const text = t(key);
  return text === key ? value : text;
}

/**
 * A thumbnail of an evidence image that opens it large in a modal dialog (Escape or a click closes it).
 * `what` names the image for screen readers ("vehicle crop"); the image is loaded with the token.
 */
export function zoomable(ctx, url, what, extraClass = "") {
  const { el, t } = ctx;
  const thumb = el("img", { alt: what, class: "thumb", loading: "lazy" });
  const big = el("img", { alt: what, class: "big" });
  const dialog = el("dialog", { class: "lightbox", "aria-label": what },
    el("figure", {}, big, el("figcaption", {}, what)),
    el("button", { type: "button", class: "close", onclick: () => dialog.close() }, t("close")));
  dialog.addEventListener("click", (event) => { if (event.target === dialog || event.target === big) dialog.close(); });
  const button = el("button", { type: "button", class: "zoomable " + extraClass, "aria-label": t("enlarge", { what }),
    dataset: { url }, onclick: () => { big.src = thumb.src; dialog.showModal(); } }, thumb);
  ctx.image(thumb, url);
  return el("span", { class: "zoom-wrap" }, button, dialog);
}

/** An SVG element. */
export function svg(name, attrs = {}, text) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * A bar chart: `groups` = [{label, values: [n per series]}], `series` = [{name, cls}]; bars side by side per group,
 * scaled to the largest value, y axis in the locale's numbers. Each bar carries data-label, data-series, data-count.
 */
export function barChart(ctx, { groups, series, label, width = 760, height = 240 }) {
  const left = 44, bottom = 22, top = series.length > 1 ? 26 : 12, right = 8;
  const step = Math.max(1, Math.ceil(Math.max(0, ...groups.flatMap((g) => g.values)) / 4));
  const max = step * 4;  // whole-number ticks
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label,
    preserveAspectRatio: "xMinYMin meet", class: "bars" });
  for (let i = 0; i <= 4; i++) {
    const v = step * i, y = height - bottom - ((height - bottom - top) * i) / 4;
    chart.append(svg("line", { x1: left, x2: width - right, y1: y, y2: y, class: "grid" }));
    chart.append(svg("text", { x: left - 6, y: y + 3, "text-anchor": "end" }, ctx.fmtNumber(v)));
  }
  const gw = (width - left - right) / Math.max(1, groups.length);
  const bw = Math.max(1, (gw - 4) / Math.max(1, series.length));
  const every = Math.ceil(groups.length / 12);  // at most about 12 labels
  groups.forEach((g, i) => {
    const x0 = left + i * gw + 2;
    g.values.forEach((v, j) => {
      const h = ((height - bottom - top) * v) / max;
      const bar = svg("rect", { class: "bar " + series[j].cls, x: x0 + j * bw, y: height - bottom - h,
        width: Math.max(1, bw - 1), height: h, "data-label": g.label, "data-series": series[j].cls, "data-count": v });
      bar.append(svg("title", {}, g.label + " · " + series[j].name + ": " + ctx.fmtNumber(v)));
      chart.append(bar);
    });
    if (i % every === 0) {
      chart.append(svg("text", { class: "axis", x: x0 + (gw - 4) / 2, y: height - bottom + 14, "text-anchor": "middle" },
        g.short || g.label));
    }
  });
  if (series.length > 1) {  // legend above the plot
    let x = left;
    for (const s of series) {
      chart.append(svg("rect", { x, y: 4, width: 10, height: 10, class: "bar " + s.cls }));
      chart.append(svg("text", { x: x + 14, y: 13, class: "legend" }, s.name));
      x += 30 + s.name.length * 7;
    }
  }
  return chart;
}

/** A table with a caption-less header row; `rows` are arrays of cells (text or nodes). Wrapped to scroll sideways. */
export function table(ctx, headers, rows, attrs = {}) {
  const { el } = ctx;
  return el("div", { class: "table-wrap" }, el("table", attrs,
    el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, ...rows.map((cells) => el("tr", {}, ...cells.map((c) => el("td", {}, c)))))));
}
