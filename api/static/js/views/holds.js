// The hold list editor: entries in force (add with reason, gate and expiry; remove) and the history of every entry,
// removed and expired ones too (GET/POST /api/v1/holds/entries, DELETE /api/v1/holds/entries/{id}). Any operator may
// edit it; the server records who added and who removed each entry.
import { table, withCommon } from "../widgets.js";

const S = { history: false };

function untilText(ctx, h) {
  return h.until ? ctx.fmtTime(h.until) : ctx.t("until_removed");
}

function stateText(ctx, h) {
  if (h.removed_at) return ctx.t("removed_by", { who: h.removed_by, time: ctx.fmtTime(h.removed_at) });
  return h.active ? ctx.t("in_force") : ctx.t("expired");
}

async function load(root, ctx) {
  const { el, t, fmtTime } = ctx;
  const list = root.querySelector("#holds-list");
  const error = root.querySelector("#holds-error");
  try {
    const entries = await (await ctx.api("/api/v1/holds/entries?active=" + String(!S.history))).json();
    root.querySelector("#holds-count").textContent = t(S.history ? "count_all" : "count_active", { n: ctx.fmtNumber(entries.length) });
    const rows = entries.map((h) => [
      el("span", { class: "plate" }, h.plate), h.gate || t("every_gate"), h.reason, untilText(ctx, h),
      t("added_by", { who: h.added_by, time: fmtTime(h.added_at) }), stateText(ctx, h),
      h.active ? el("button", { type: "button", class: "remove", dataset: { holdId: h.id },
        "aria-label": t("remove_plate", { plate: h.plate }), onclick: () => remove(root, ctx, h) }, t("remove")) : "",
    ]);
    list.replaceChildren(entries.length
      ? table(ctx, [t("plate"), t("gate"), t("reason"), t("until"), t("added"), t("status"), ""], rows, { class: "holds" })
      : el("p", { class: "muted" }, t("empty")));
  } catch (e) {
    error.textContent = e.message;
  }
}

async function remove(root, ctx, hold) {
  const error = root.querySelector("#holds-error");
  error.textContent = "";
  try {
    await ctx.api("/api/v1/holds/entries/" + hold.id, { method: "DELETE" });
    root.querySelector("#holds-done").textContent = ctx.t("removed", { plate: hold.plate });
  } catch (e) {
    error.textContent = e.message;
  }
  await load(root, ctx);
}

async function add(root, ctx, form) {
  const error = root.querySelector("#holds-error");
  error.textContent = "";
  const data = new FormData(form);
  const body = { plate: String(data.get("plate")).trim(), reason: String(data.get("reason")).trim() };
  const gate = String(data.get("gate") || "").trim();
  const until = String(data.get("until") || "");
  if (gate) body.gate = gate;
  if (until) body.until = until.length === 16 ? until + ":00" : until;  // a local time: the server reads it in the gate's zone
  try {
    const hold = await (await ctx.api("/api/v1/holds/entries", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })).json();
    form.reset();
    root.querySelector("#holds-done").textContent = ctx.t("added_ok", { plate: hold.plate });
  } catch (e) {
    error.textContent = e.message;
  }
  await load(root, ctx);
}

function build(root, ctx) {
  const { el, t } = ctx;
  const form = el("form", { class: "filters hold-form", id: "hold-form" },
    el("label", {}, t("plate"), el("input", { name: "plate", id: "hold-plate", required: true, minlength: 2, maxlength: 32,
      autocomplete: "off", placeholder: "29C-123.45" })),
    el("label", { class: "wide" }, t("reason"), el("input", { name: "reason", id: "hold-reason", required: true, maxlength: 2000 })),
    el("label", {}, t("gate_opt"), el("input", { name: "gate", id: "hold-gate", maxlength: 64, placeholder: t("every_gate") })),
    el("label", {}, t("until_opt", { zone: ctx.tz }), el("input", { name: "until", id: "hold-until", type: "datetime-local" })),
    el("button", { type: "submit", id: "hold-add" }, t("add")));
  form.addEventListener("submit", (event) => { event.preventDefault(); add(root, ctx, form); });
  const history = el("input", { type: "checkbox", id: "holds-history", checked: S.history });
  history.addEventListener("change", () => { S.history = history.checked; load(root, ctx); });
  root.replaceChildren(
    el("div", { class: "view-head" }, el("h2", {}, t("title"))),
    el("p", { class: "muted" }, t("explain")),
    form,
    el("p", { class: "error", id: "holds-error", role: "alert" }),
    el("p", { class: "done", id: "holds-done", "aria-live": "polite" }),
    el("div", { class: "filters" }, el("label", { class: "check" }, history, t("show_history")),
      el("span", { id: "holds-count", class: "muted" })),
    el("div", { id: "holds-list" }));
}

export default {
  id: "holds",
  title: "tab",
  adminOnly: false,
  strings: withCommon({
    en: {
      tab: "Hold list", title: "Hold list", explain: "Vehicles to stop: the edge boxes flag these plates when they cross.",
      reason: "Reason", gate_opt: "Gate (empty: every gate)", until_opt: "Until ({zone}; empty: until removed)",
      add: "Add to hold list", added_ok: "{plate} added to the hold list.", removed: "{plate} removed from the hold list.",
      every_gate: "every gate", until: "Until", until_removed: "until removed", added: "Added",
      added_by: "{who}, {time}", removed_by: "removed by {who}, {time}", in_force: "in force", expired: "expired",
      remove: "Remove", remove_plate: "Remove {plate} from the hold list", show_history: "History (removed and expired too)",
      count_active: "in force: {n}", count_all: "entries: {n}", empty: "The hold list is empty.",
    },
    vi: {
      tab: "Danh sách kiểm soát", title: "Danh sách xe cần kiểm soát", explain: "Xe cần dừng kiểm tra: thiết bị tại làn sẽ cảnh báo khi các biển số này đi qua.",
      reason: "Lý do", gate_opt: "Cửa khẩu (để trống: mọi cửa khẩu)", until_opt: "Đến lúc ({zone}; để trống: đến khi gỡ)",
      add: "Thêm vào danh sách", added_ok: "Đã thêm {plate} vào danh sách.", removed: "Đã gỡ {plate} khỏi danh sách.",
      every_gate: "mọi cửa khẩu", until: "Đến lúc", until_removed: "đến khi gỡ", added: "Người thêm",
      added_by: "{who}, {time}", removed_by: "{who} đã gỡ, {time}", in_force: "đang hiệu lực", expired: "hết hạn",
      remove: "Gỡ", remove_plate: "Gỡ {plate} khỏi danh sách", show_history: "Lịch sử (cả mục đã gỡ và hết hạn)",
      count_active: "{n} mục đang hiệu lực", count_all: "{n} mục", empty: "Danh sách trống.",
    },
    zh: {
      tab: "布控名单", title: "布控名单", explain: "需拦查的车辆：这些车牌通过时，车道设备会发出告警。",
      reason: "原因", gate_opt: "口岸（留空：全部口岸）", until_opt: "截止（{zone}；留空：直到撤销）",
      add: "加入布控名单", added_ok: "已将 {plate} 加入布控名单。", removed: "已将 {plate} 移出布控名单。",
      every_gate: "全部口岸", until: "截止", until_removed: "直到撤销", added: "添加",
      added_by: "{who}，{time}", removed_by: "{who} 于 {time} 撤销", in_force: "生效中", expired: "已过期",
      remove: "撤销", remove_plate: "将 {plate} 移出布控名单", show_history: "历史记录（含已撤销和已过期）",
      count_active: "{n} 条生效中", count_all: "共 {n} 条", empty: "布控名单为空。",
    },
  }),
  async show(root, ctx) {
    build(root, ctx);
    await load(root, ctx);
  },
  hide() {},
};
