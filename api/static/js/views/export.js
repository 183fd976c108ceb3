// CSV export of crossings, counts per hour or reviewed flags for a range of the gate's days (at most 92 per file).
import { nextDay } from "../core.js";

const PATHS = { crossings: "/api/v1/crossings/export", counts: "/api/v1/counts/export", flags: "/api/v1/flags/export" };
let chosen = null;  // the last choices, kept between visits

// Download with the bearer token: fetch the CSV, then save the blob under the server's file name.
async function download(root, ctx, form) {
  const error = root.querySelector("#export-error"), done = root.querySelector("#export-done");
  const button = root.querySelector("#export-button");
  error.textContent = ""; done.textContent = "";
  const data = new FormData(form);
  const what = data.get("what");
  const params = new URLSearchParams({
    since: data.get("from") + "T00:00:00", until: nextDay(data.get("to")) + "T00:00:00", format: "csv" });
  if (data.get("gate")) params.set("gate", data.get("gate"));
  button.disabled = true;
  try {
    const response = await ctx.api(PATHS[what] + "?" + params);
    const match = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
    const url = URL.createObjectURL(await response.blob());
    const link = ctx.el("a", { href: url, download: match ? match[1] : what + ".csv", hidden: true });
    document.body.appendChild(link); link.click(); link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    done.textContent = ctx.t("saved", { file: link.download });
  } catch (e) {
    error.textContent = e.message;
  } finally {
    button.disabled = false;
  }
}

function build(root, ctx) {
  const { el, t } = ctx;
  const form = el("form", { id: "export-form", class: "filters" },
    el("label", {}, t("what"), el("select", { name: "what", id: "export-what" },
      el("option", { value: "crossings" }, t("what_crossings")),
      el("option", { value: "counts" }, t("what_counts")),
      el("option", { value: "flags" }, t("what_flags")))),
    el("label", {}, t("gate"), el("input", { name: "gate", id: "export-gate", maxlength: 64 })),
    el("label", {}, t("from"), el("input", { name: "from", id: "export-from", type: "date", required: true })),
    el("label", {}, t("to"), el("input", { name: "to", id: "export-to", type: "date", required: true })),
    el("button", { type: "submit", id: "export-button" }, t("download")));
  if (chosen) for (const [name, value] of chosen) form.elements[name].value = value;
  form.addEventListener("change", () => { chosen = [...new FormData(form)]; });
  form.addEventListener("submit", (event) => { event.preventDefault(); download(root, ctx, form); });
  root.append(
    el("h2", {}, t("title")),
    form,
    el("p", { id: "export-hint" }, t("hint", { zone: ctx.zoneLabel })),
    el("p", { class: "error", id: "export-error", role: "alert" }),
    el("p", { id: "export-done", role: "status" }));
}

export default {
  id: "export",
  title: "tab",
  adminOnly: false,
  strings: {
    en: {
      tab: "Export", title: "Export", what: "What", what_crossings: "Crossings", what_counts: "Counts per hour",
      what_flags: "Reviewed flags", from: "From", to: "To (inclusive)", download: "Download CSV",
      hint: "Days and times are the gate's time zone, {zone}; at most 92 days per file.", saved: "Saved {file}",
    },
    vi: {
      tab: "Xuất dữ liệu", title: "Xuất dữ liệu", what: "Dữ liệu", what_crossings: "Lượt xe qua",
      what_counts: "Lưu lượng theo giờ", what_flags: "Cảnh báo đã xử lý", from: "Từ ngày",
      to: "Đến ngày (tính cả ngày này)", download: "Tải tệp CSV",
      hint: "Ngày giờ theo múi giờ cửa khẩu, {zone}; tối đa 92 ngày mỗi tệp.", saved: "Đã lưu {file}",
    },
    zh: {
      tab: "导出", title: "数据导出", what: "内容", what_crossings: "通行记录", what_counts: "每小时流量",
      what_flags: "已处理告警", from: "起始日期", to: "截止日期（含当天）", download: "下载 CSV",
      hint: "日期和时间均按口岸时区 {zone}；每个文件最多 92 天。", saved: "已保存 {file}",
    },
  },
  async show(root, ctx) {
    if (!root.firstChild) build(root, ctx);
    root.querySelector("#export-error").textContent = "";
    const from = root.querySelector("#export-from"), to = root.querySelector("#export-to");
    if (!from.value) from.value = ctx.today();
    if (!to.value) to.value = from.value;
  },
  hide() {},
};
