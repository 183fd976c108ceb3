// Flag review: the queue (filters: kind, status, camera, age), a large evidence viewer for the selected flag
// (snapshot with the vehicle's box drawn, crop, plate; click to enlarge), its facts and review history.
// Keys: c confirm, d dismiss, j / n next, k previous (not while typing). Refreshes itself every 10 s while shown.
import { secondsSinceMidnight } from "../core.js";

const POLL_MS = 10000;
const KINDS = ["held", "hold_list", "empty_truck"];
const STATUSES = ["open", "confirmed", "dismissed", "all"];
const AGES = {  // API age bounds in seconds; "today" is since midnight in the gate's zone
  any: () => ({}),
  hour: () => ({ max_age_s: 3600 }),
  today: (tz) => ({ max_age_s: Math.max(1, secondsSinceMidnight(tz)) }),
  day: () => ({ max_age_s: 86400 }),
  older_hour: () => ({ min_age_s: 3600 }),
  older_day: () => ({ min_age_s: 86400 }),
};

const filters = { flag_kind: "", status: "open", camera: "", age: "any" };  // kept between visits
const notes = new Map();  // flag_id -> note typed but not yet sent
let S = null;  // this visit: {root, ctx, items, selected, timer, loading, onKey, detailKey, listKey}

function duration(t, seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return t("dur_s", { s });
  if (s < 3600) return t("dur_ms", { m: Math.floor(s / 60), s: s % 60 });
  return t("dur_hm", { h: Math.floor(s / 3600), m: Math.floor((s % 3600) / 60) });
}

function kindText(t, flag) {
  return t("kind_" + flag.flag_kind) + (flag.ended_at ? "" : " (" + t("ongoing") + ")");
}

function reviewedText(ctx, flag) {
  return ctx.t("reviewed_line", { status: ctx.t("status_" + flag.status), who: flag.reviewed_by,
    time: ctx.fmtTime(flag.reviewed_at) }) + (flag.review_note ? " — " + flag.review_note : "");
}

// ---------- data ----------

function query() {
  const params = new URLSearchParams({ status: filters.status, limit: "100" });
  if (filters.flag_kind) params.set("flag_kind", filters.flag_kind);
  if (filters.camera) params.set("camera", filters.camera);
  for (const [k, v] of Object.entries(AGES[filters.age](S.ctx.tz))) params.set(k, String(v));
  return params;
}

async function load() {
  if (!S) return;
  if (S.loading) {  // filters changed while a page was on its way: load again once it is here
    S.again = true;
    return;
  }
  const run = S;
  run.loading = true;
  run.again = false;
  const error = run.root.querySelector("#queue-error");
  try {
    const page = await (await run.ctx.api("/api/v1/flags?" + query())).json();
    if (S !== run) return;  // left meanwhile
    error.textContent = "";
    render(page);
  } catch (e) {
    if (S === run) error.textContent = e.message;
  } finally {
    run.loading = false;
  }
  if (S === run && run.again) await load();
}

async function review(flagId, action) {
  const run = S;
  if (run.reviewing.has(flagId)) return;  // a second key press while the first is on its way
  run.reviewing.add(flagId);
  const card = run.root.querySelector(`li.card[data-flag-id="${flagId}"]`);
  if (card) for (const b of card.querySelectorAll("button")) b.disabled = true;
  // the next flag in the list becomes the selected one once this one leaves the queue
  const index = run.items.findIndex((f) => f.flag_id === flagId);
  const next = run.items[index + 1] || run.items[index - 1];
  try {
    await run.ctx.api("/api/v1/flags/" + flagId + "/review", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ action, note: notes.get(flagId) || "" }),
    });
    notes.delete(flagId);
    if (filters.status === "open" && next) run.selected = next.flag_id;
  } catch (e) {
    run.root.querySelector("#queue-error").textContent = e.message;
  }
  run.reviewing.delete(flagId);
  if (S === run) await load();  // if a load is on its way, it loads again once done
}

// ---------- list ----------

function card(flag) {
  const { el, t, fmtTime } = S.ctx;
  const open = flag.status === "open";
  const snapshot = flag.evidence.find((e) => e.role === "snapshot") || flag.evidence[0];
  const img = el("img", { class: "snapshot", alt: snapshot ? t("evidence_of", { role: t("role_" + snapshot.role), what: flag.plate || t("no_plate") }) : t("no_image") });
  if (snapshot) S.ctx.image(img, snapshot.url);
  const where = t("where", { gate: flag.gate, camera: flag.camera }) + (flag.lane ? " · " + t("lane_is", { lane: flag.lane }) : "");
  const node = el("li", { class: "card", dataset: { flagId: flag.flag_id, status: flag.status }, tabindex: "-1",
      onclick: (event) => { if (!event.target.closest("input, button")) select(flag.flag_id); } },
    img,
    el("div", { class: "facts" },
      el("p", { class: "plate" }, flag.plate || t("no_plate")),
      el("p", { class: "meta" }, [kindText(t, flag),
        t("started", { time: fmtTime(flag.started_at) }) + " · " + duration(t, flag.duration_s), where].join("\n")),
      open ? null : el("p", { class: "reviewed" }, reviewedText(S.ctx, flag)),
      open ? el("input", { class: "note", maxlength: 2000, placeholder: t("note"), "aria-label": t("note_for", { what: flag.plate || t("no_plate") }),
        value: notes.get(flag.flag_id) || "", oninput: (event) => notes.set(flag.flag_id, event.target.value) }) : null,
      open ? el("div", { class: "actions" },
        el("button", { type: "button", class: "confirm", onclick: () => review(flag.flag_id, "confirm") }, t("confirm")),
        el("button", { type: "button", class: "dismiss", onclick: () => review(flag.flag_id, "dismiss") }, t("dismiss"))) : null));
  return node;
}

function render(page) {
  const { t, fmtNumber } = S.ctx;
  S.items = page.items;
  const root = S.root;
  const title = filters.status === "open" ? "title_open" : filters.status === "all" ? "title_all" : "title_reviewed";
  root.querySelector("#queue-title-text").textContent = t(title);
  root.querySelector("#queue-count").textContent = fmtNumber(page.total);
  root.querySelector("#queue-shown").textContent = page.total > page.items.length
    ? t("shown", { shown: fmtNumber(page.items.length), total: fmtNumber(page.total) }) : "";
  const empty = root.querySelector("#queue-empty");
  empty.hidden = page.items.length > 0;
  empty.textContent = filters.status === "open" && !filters.flag_kind && !filters.camera && filters.age === "any"
    ? t("empty_open") : t("empty_filtered");
  // Redraw the list only when it changed (a poll must not undo what the user is doing).
  const key = JSON.stringify(page.items) + S.ctx.lang;
  if (key !== S.listKey) {
    S.listKey = key;
    const focused = document.activeElement && document.activeElement.closest("li.card")
      ? document.activeElement.closest("li.card").dataset.flagId : null;
    const list = root.querySelector("#queue");
    list.replaceChildren(...page.items.map(card));
    if (focused) {
      const note = list.querySelector(`li.card[data-flag-id="${focused}"] .note`);
      if (note) {
        note.focus();
        note.setSelectionRange(note.value.length, note.value.length);
      }
    }
  }
  if (!S.items.some((f) => f.flag_id === S.selected)) S.selected = S.items.length ? S.items[0].flag_id : null;
  select(S.selected, false);
}

function select(flagId, scroll = true) {
  S.selected = flagId;
  for (const node of S.root.querySelectorAll("#queue li.card")) {
    const on = node.dataset.flagId === flagId;
    node.classList.toggle("selected", on);
    if (on) node.setAttribute("aria-current", "true"); else node.removeAttribute("aria-current");
    if (on && scroll) node.scrollIntoView({ block: "nearest" });
  }
  showDetail(S.items.find((f) => f.flag_id === flagId) || null);
}

function step(delta) {
  if (!S.items.length) return;
  const index = S.items.findIndex((f) => f.flag_id === S.selected);
  const next = Math.min(S.items.length - 1, Math.max(0, (index < 0 ? 0 : index + delta)));
  select(S.items[next].flag_id);
}

// ---------- detail: evidence viewer, facts, history ----------

async function showDetail(flag) {
  const { el, t } = S.ctx;
  const pane = S.root.querySelector("#flag-detail");
  if (!flag) {
    S.detailKey = null;
    pane.replaceChildren(el("p", { class: "muted" }, t("detail_empty")));
    return;
  }
  const key = flag.flag_id + flag.last_event_at + flag.status + S.ctx.lang;
  if (key === S.detailKey) return;
  S.detailKey = key;
  const run = S;
  let detail;
  try {
    detail = await (await S.ctx.api("/api/v1/flags/" + flag.flag_id)).json();
  } catch (e) {
    if (S === run) pane.replaceChildren(el("p", { class: "error", role: "alert" }, e.message));
    return;
  }
  if (S !== run || S.detailKey !== key) return;
  pane.replaceChildren(...detailNodes(detail));
}

function boxFor(detail, evidence) {
  const event = detail.events.find((e) => e.event_id === evidence.event_id && Array.isArray(e.box));
  return event ? event.box : null;
}

function viewer(detail, evidence) {
  const { el, t } = S.ctx;
  const what = t("role_" + evidence.role);
  const img = el("img", { class: "evidence-" + evidence.role, alt: t("evidence_of", { role: what, what: detail.plate || t("no_plate") }) });
  const frame = el("div", { class: "frame" }, img);
  const figure = el("figure", { class: "viewer", dataset: { role: evidence.role } });
  const toggle = el("button", { type: "button", class: "zoom", "aria-pressed": "false", "aria-label": t("zoom", { what }),
    onclick: () => zoom(figure, toggle, !figure.classList.contains("zoomed")) }, frame);
  figure.append(toggle, el("figcaption", {}, what));
  S.ctx.image(img, evidence.url).then((ok) => {
    if (!ok) return;
    const w = img.naturalWidth, h = img.naturalHeight;
    frame.style.setProperty("--aspect", String(w / h));
    const box = evidence.role === "snapshot" ? boxFor(detail, evidence) : null;
    if (box) {  // x1, y1, x2, y2 in frame pixels; the snapshot is the frame
      const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
      svg.setAttribute("class", "box-overlay");
      svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
      svg.setAttribute("preserveAspectRatio", "none");
      svg.setAttribute("aria-hidden", "true");
      const rect = document.createElementNS("http://www.w3.org/2000/svg", "rect");
      const [x1, y1, x2, y2] = box;
      for (const [k, v] of Object.entries({ class: "box", x: x1, y: y1, width: Math.max(1, x2 - x1), height: Math.max(1, y2 - y1) })) {
        rect.setAttribute(k, String(v));
      }
      rect.setAttribute("vector-effect", "non-scaling-stroke");
      svg.append(rect);
      frame.append(svg);
      figure.dataset.box = box.join(",");
    }
  });
  return figure;
}

function zoom(figure, toggle, on) {
  for (const other of S.root.querySelectorAll("figure.viewer.zoomed")) {
    other.classList.remove("zoomed");
    other.querySelector("button.zoom").setAttribute("aria-pressed", "false");
  }
  figure.classList.toggle("zoomed", on);
  toggle.setAttribute("aria-pressed", on ? "true" : "false");
  toggle.setAttribute("aria-label", S.ctx.t(on ? "zoom_close" : "zoom", { what: S.ctx.t("role_" + figure.dataset.role) }));
}

function detailNodes(detail) {
  const { el, t, fmtTime } = S.ctx;
  const fact = (label, value) => [el("dt", {}, t(label)), el("dd", {}, value)];
  const byRole = { snapshot: [], crop: [], plate: [] };
  for (const e of detail.evidence) (byRole[e.role] || (byRole[e.role] = [])).push(e);
  // the latest snapshot (the flag's most recent frame) large; the crops and plate beside it
  const shown = [byRole.snapshot.at(-1), byRole.crop.at(-1), byRole.plate.at(-1)].filter(Boolean);
  const reviews = detail.reviews.length
    ? el("ol", { class: "history" }, ...detail.reviews.map((r) => el("li", {},
      t("reviewed_line", { status: t("status_" + (r.action === "confirm" ? "confirmed" : "dismissed")), who: r.reviewer, time: fmtTime(r.at) }),
      r.note ? el("q", {}, r.note) : null)))
    : el("p", { class: "muted" }, t("no_reviews"));
  return [
    el("h3", {}, el("span", { class: "plate" }, detail.plate || t("no_plate")), " ", el("span", { class: "kind" }, kindText(t, detail))),
    shown.length ? el("div", { class: "evidence" }, ...shown.map((e) => viewer(detail, e))) : el("p", { class: "muted" }, t("no_image")),
    el("dl", { class: "flag-facts" },
      ...fact("f_kind", t("kind_" + detail.flag_kind)),
      ...fact("f_zone", detail.zone || "—"),
      ...fact("f_class", detail.vehicle_class ? t("class_" + detail.vehicle_class) : "—"),
      ...fact("f_plate", detail.plate || t("no_plate")),
      ...fact("f_duration", duration(t, detail.duration_s) + (detail.ended_at ? "" : " (" + t("ongoing") + ")")),
      ...fact("f_started", fmtTime(detail.started_at)),
      ...fact("f_ended", detail.ended_at ? fmtTime(detail.ended_at) : t("ongoing")),
      ...fact("f_where", t("where", { gate: detail.gate, camera: detail.camera }) + (detail.lane ? " · " + t("lane_is", { lane: detail.lane }) : "")),
      ...fact("f_status", t("status_" + detail.status))),
    el("h4", {}, t("history")),
    reviews,
  ];
}

// ---------- keys ----------

function onKey(event) {
  if (!S || S.root.hidden || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === "Escape") {
    const zoomed = S.root.querySelector("figure.viewer.zoomed");
    if (zoomed) zoom(zoomed, zoomed.querySelector("button.zoom"), false);
    return;
  }
  const target = event.target;
  if (target && (target.closest("input, textarea, select, [contenteditable]"))) return;  // typing
  const flag = S.items.find((f) => f.flag_id === S.selected);
  const key = event.key.toLowerCase();
  if (key === "j" || key === "n") step(1);
  else if (key === "k") step(-1);
  else if ((key === "c" || key === "d") && flag && flag.status === "open") review(flag.flag_id, key === "c" ? "confirm" : "dismiss");
  else return;
  event.preventDefault();
}

// ---------- the view ----------

function build(root, ctx) {
  const { el, t } = ctx;
  const select = (name, values, label, text) => el("label", {}, t(label), el("select", { name, id: "queue-" + name },
    ...values.map((v) => el("option", { value: v, selected: filters[name] === v }, text(v)))));
  const form = el("form", { id: "queue-filters", class: "filters", "aria-label": t("filters") },
    select("flag_kind", ["", ...KINDS], "f_kind", (v) => (v ? t("kind_" + v) : t("any"))),
    select("status", STATUSES, "f_status", (v) => t("status_" + v)),
    el("label", {}, t("camera"), el("input", { name: "camera", id: "queue-camera", maxlength: 64, value: filters.camera, placeholder: t("all_cameras") })),
    select("age", Object.keys(AGES), "f_age", (v) => t("age_" + v)),
    el("button", { type: "submit" }, t("apply")));
  const apply = () => {
    const data = new FormData(form);
    for (const name of Object.keys(filters)) filters[name] = String(data.get(name) || "").trim();
    S.listKey = null;
    load();
  };
  form.addEventListener("submit", (event) => { event.preventDefault(); apply(); });
  form.addEventListener("change", (event) => { if (event.target.tagName === "SELECT") apply(); });
  root.append(
    el("div", { class: "view-head" },
      el("h2", { id: "queue-title" }, el("span", { id: "queue-title-text" }, t("title_open")), " ",
        el("span", { id: "queue-count", class: "badge" }, "0")),
      el("p", { class: "zone" }, t("times_in", { zone: ctx.zoneLabel }))),
    form,
    el("p", { class: "hint" }, t("keys_hint")),
    el("p", { class: "error", id: "queue-error", role: "alert" }),
    el("p", { id: "queue-empty", hidden: true }, t("empty_open")),
    el("div", { class: "review" },
      el("div", { class: "list" },
        el("ul", { id: "queue", class: "cards", "aria-labelledby": "queue-title" }),
        el("p", { id: "queue-shown", class: "muted" })),
      el("aside", { id: "flag-detail", class: "detail", "aria-label": t("detail_label") })));
}

const STRINGS = {
  en: {
    tab: "Flags", title_open: "Open flags", title_reviewed: "Reviewed flags", title_all: "All flags",
    empty_open: "No open flags. The queue is clear.", empty_filtered: "No flags match these filters.",
    filters: "Flag filters", f_kind: "Kind", f_status: "Status", f_age: "Started", apply: "Filter",
    all_cameras: "all cameras",
    status_open: "open", status_confirmed: "confirmed", status_dismissed: "dismissed", status_all: "all",
    age_any: "any time", age_hour: "in the last hour", age_today: "today (gate time)", age_day: "in the last 24 hours",
    age_older_hour: "over an hour ago", age_older_day: "over a day ago",
    no_plate: "(no plate)", no_image: "no image", ongoing: "ongoing", started: "started {time}",
    where: "gate {gate} · camera {camera}", lane_is: "lane {lane}",
    dur_s: "{s} s", dur_ms: "{m} min {s} s", dur_hm: "{h} h {m} min",
    note: "note (optional)", note_for: "Note on the flag of {what}", confirm: "Confirm", dismiss: "Dismiss",
    reviewed_line: "{status} by {who}, {time}",
    keys_hint: "Keys: c confirm · d dismiss · j or n next · k previous",
    shown: "showing {shown} of {total}", detail_label: "Selected flag", detail_empty: "Select a flag to see its evidence.",
    role_snapshot: "snapshot", role_crop: "vehicle crop", role_plate: "plate crop", evidence_of: "{role} of {what}",
    zoom: "Enlarge the {what}", zoom_close: "Close the enlarged {what}",
    f_zone: "Zone", f_class: "Class", f_plate: "Plate", f_duration: "Duration", f_started: "Started", f_ended: "Ended",
    f_where: "Where", history: "Review history", no_reviews: "Not reviewed yet.",
  },
  vi: {
    tab: "Cảnh báo", title_open: "Cảnh báo chờ xử lý", title_reviewed: "Cảnh báo đã xử lý", title_all: "Tất cả cảnh báo",
    empty_open: "Không có cảnh báo chờ xử lý.", empty_filtered: "Không có cảnh báo nào khớp bộ lọc.",
    filters: "Bộ lọc cảnh báo", f_kind: "Loại", f_status: "Trạng thái", f_age: "Bắt đầu", apply: "Lọc",
    all_cameras: "tất cả camera",
    status_open: "chờ xử lý", status_confirmed: "đã xác nhận", status_dismissed: "đã bỏ qua", status_all: "tất cả",
    age_any: "mọi lúc", age_hour: "trong 1 giờ qua", age_today: "hôm nay (giờ cửa khẩu)", age_day: "trong 24 giờ qua",
    age_older_hour: "hơn 1 giờ trước", age_older_day: "hơn 1 ngày trước",
    no_plate: "(không đọc được biển số)", no_image: "không có ảnh", ongoing: "đang diễn ra", started: "bắt đầu {time}",
    where: "cửa khẩu {gate} · camera {camera}", lane_is: "làn {lane}",
    dur_s: "{s} giây", dur_ms: "{m} phút {s} giây", dur_hm: "{h} giờ {m} phút",
    note: "ghi chú (không bắt buộc)", note_for: "Ghi chú cho cảnh báo của {what}", confirm: "Xác nhận", dismiss: "Bỏ qua",
    reviewed_line: "{who} {status} lúc {time}",
    keys_hint: "Phím tắt: c xác nhận · d bỏ qua · j hoặc n tiếp theo · k quay lại",
    shown: "hiển thị {shown} trên {total}", detail_label: "Cảnh báo đang chọn", detail_empty: "Chọn một cảnh báo để xem ảnh bằng chứng.",
    role_snapshot: "ảnh toàn cảnh", role_crop: "ảnh xe", role_plate: "ảnh biển số", evidence_of: "{role} của {what}",
    zoom: "Phóng to {what}", zoom_close: "Đóng {what} phóng to",
    f_zone: "Khu vực", f_class: "Loại xe", f_plate: "Biển số", f_duration: "Thời gian", f_started: "Bắt đầu", f_ended: "Kết thúc",
    f_where: "Vị trí", history: "Lịch sử xử lý", no_reviews: "Chưa được xử lý.",
  },
  zh: {
    tab: "告警", title_open: "待处理告警", title_reviewed: "已处理告警", title_all: "全部告警",
    empty_open: "没有待处理的告警。", empty_filtered: "没有符合筛选条件的告警。",
    filters: "告警筛选", f_kind: "类型", f_status: "状态", f_age: "开始时间", apply: "筛选",
    all_cameras: "全部摄像头",
    status_open: "待处理", status_confirmed: "已确认", status_dismissed: "已驳回", status_all: "全部",
    age_any: "不限", age_hour: "最近 1 小时", age_today: "今天（口岸时间）", age_day: "最近 24 小时",
    age_older_hour: "1 小时以前", age_older_day: "1 天以前",
    no_plate: "（未识别车牌）", no_image: "无图像", ongoing: "进行中", started: "开始于 {time}",
    where: "口岸 {gate} · 摄像头 {camera}", lane_is: "车道 {lane}",
    dur_s: "{s} 秒", dur_ms: "{m} 分 {s} 秒", dur_hm: "{h} 小时 {m} 分",
    note: "备注（可选）", note_for: "{what} 告警的备注", confirm: "确认", dismiss: "驳回",
    reviewed_line: "{who} {status}，{time}",
    keys_hint: "快捷键：c 确认 · d 驳回 · j 或 n 下一条 · k 上一条",
    shown: "显示 {shown} 条，共 {total} 条", detail_label: "所选告警", detail_empty: "选择一条告警以查看证据图像。",
    role_snapshot: "全景图", role_crop: "车辆图", role_plate: "车牌图", evidence_of: "{what} 的{role}",
    zoom: "放大{what}", zoom_close: "关闭放大的{what}",
    f_zone: "区域", f_class: "车型", f_plate: "车牌", f_duration: "持续时间", f_started: "开始", f_ended: "结束",
    f_where: "位置", history: "处理记录", no_reviews: "尚未处理。",
  },
};

export default {
  id: "queue",
  title: "tab",
  adminOnly: false,
  strings: STRINGS,
  async show(root, ctx) {
    if (S) this.hide();
    if (!root.firstChild) build(root, ctx);
    S = { root, ctx, items: [], selected: null, timer: null, loading: false, again: false, reviewing: new Set(), detailKey: null, listKey: null };
    document.addEventListener("keydown", onKey);
    S.timer = setInterval(load, POLL_MS);
    await load();
  },
  hide() {
    if (!S) return;
    clearInterval(S.timer);
    document.removeEventListener("keydown", onKey);
    S = null;
  },
};
