// gatewatch operator console, the shell: sign-in, language, the gate's time zone, tabs, and one <section> per view.
// A view is a module in ./views/ (see README "Console views"); adding one is an import and an entry in VIEWS.
import { LANGS, apiCaller, el, formatters, imageLoader, startLanguage, todayIn, translator } from "./core.js";
import SHELL from "./strings.js";
import queue from "./views/queue.js";
import counts from "./views/counts.js";
import exportView from "./views/export.js";
import today from "./views/today.js";
import trends from "./views/trends.js";
import plates from "./views/plates.js";
import holds from "./views/holds.js";
import users from "./views/users.js";

const VIEWS = [queue, today, trends, plates, counts, holds, exportView, users];

const $ = (id) => document.getElementById(id);
const state = {
  token: sessionStorage.getItem("gw_token"),
  user: JSON.parse(sessionStorage.getItem("gw_user") || "null"),  // {username, role}
  gate: null,  // {timezone, utc_offset} from GET /api/v1/gate
  lang: startLanguage(),
  current: null,  // the view shown
  clockTimer: null,
};
const shellT = () => translator(state.lang, SHELL);
const api = apiCaller(() => state.token, () => signOut(shellT()("session_ended")), () => shellT()("session_ended"));
const image = imageLoader(api, (error) => shellT()("image_unavailable", { error }));

/** The context a view gets (its own strings first in `t`). */
function contextFor(view) {
  const tz = state.gate ? state.gate.timezone : "UTC";
  const fmt = formatters(state.lang, tz);
  return {
    api, el, image,
    t: translator(state.lang, view.strings, SHELL),
    lang: state.lang,
    tz,
    zoneLabel: state.gate ? tz + " (UTC" + state.gate.utc_offset + ")" : tz,
    today: () => todayIn(tz),
    fmtTime: fmt.fmtTime, fmtDate: fmt.fmtDate, fmtNumber: fmt.fmtNumber,
    user: state.user,
  };
}

function visibleViews() {
  return VIEWS.filter((v) => !v.adminOnly || (state.user && state.user.role === "admin"));
}

/** Texts of the static page (data-i18n, data-i18n-aria) and the tabs, in the chosen language. */
function translateShell() {
  const t = shellT();
  document.documentElement.lang = state.lang === "zh" ? "zh-Hans" : state.lang;
  document.title = "gatewatch";
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll("[data-i18n-aria]")) node.setAttribute("aria-label", t(node.dataset.i18nAria));
  for (const tab of document.querySelectorAll("nav .tab")) {
    const view = VIEWS.find((v) => v.id === tab.dataset.view);
    tab.textContent = translator(state.lang, view.strings, SHELL)(view.title);
  }
  if (state.user) {
    $("who").textContent = t("who", { user: state.user.username, role: t("role_" + state.user.role) });
  }
  tickClock();
}

function tickClock() {
  const clock = $("gate-clock");
  clock.hidden = !state.gate || !state.token;
  if (!state.gate) return;
  const t = shellT();
  clock.textContent = t("gate_time", { time: formatters(state.lang, state.gate.timezone).fmtClock() });
  clock.title = t("gate_zone", { zone: state.gate.timezone + " (UTC" + state.gate.utc_offset + ")" });
}

function buildNav() {
  const nav = $("nav");
  nav.replaceChildren(...visibleViews().map((view) =>
    el("button", { type: "button", class: "tab", dataset: { view: view.id }, onclick: () => open(view.id) })));
  for (const view of VIEWS) {
    if (!$(view.id + "-view")) $("views").append(el("section", { id: view.id + "-view", class: "view", hidden: true }));
  }
}

function hideCurrent() {
  const view = VIEWS.find((v) => v.id === state.current);
  if (view) {
    try { view.hide(); } catch (e) { console.error(e); }
  }
}

/** Show the view `id` (or the sign-in page); the view before it is hidden (its timers stop). */
function open(id) {
  hideCurrent();
  state.current = id === "signin" ? null : id;
  $("signin-view").hidden = id !== "signin";
  for (const view of VIEWS) {
    const root = $(view.id + "-view");
    if (root) root.hidden = view.id !== id;
  }
  for (const tab of document.querySelectorAll("nav .tab")) {
    const active = tab.dataset.view === id;
    tab.classList.toggle("active", active);
    if (active) tab.setAttribute("aria-current", "page"); else tab.removeAttribute("aria-current");
  }
  $("nav").hidden = id === "signin";
  $("signout").hidden = id === "signin";
  $("who").hidden = id === "signin";
  tickClock();
  const view = VIEWS.find((v) => v.id === id);
  if (view) {
    if (location.hash !== "#" + id) history.replaceState(null, "", "#" + id);
    view.show($(id + "-view"), contextFor(view));
  }
}

function signOut(message) {
  hideCurrent();
  state.current = null;
  state.token = null; state.user = null;
  sessionStorage.removeItem("gw_token"); sessionStorage.removeItem("gw_user");
  image.clear();
  for (const view of VIEWS) {
    const root = $(view.id + "-view");
    if (root) root.replaceChildren();
  }
  $("signin-error").textContent = message || "";
  open("signin");
}

/** After sign-in or a reload with a token: who am I, which zone is the gate in; then the first view. */
async function enter() {
  try {
    const [me, gate] = await Promise.all([
      api("/api/v1/users/me").then((r) => r.json()), api("/api/v1/gate").then((r) => r.json())]);
    state.user = { username: me.username, role: me.role };
    state.gate = gate;
    sessionStorage.setItem("gw_user", JSON.stringify(state.user));
  } catch (e) {
    if (state.token) $("signin-error").textContent = e.message;
    open("signin");
    return;
  }
  buildNav();
  translateShell();
  const wanted = location.hash.slice(1);
  const first = visibleViews().find((v) => v.id === wanted) || visibleViews()[0];
  open(first.id);
}

function setLanguage(lang) {
  state.lang = lang;
  localStorage.setItem("gw_lang", lang);
  translateShell();
  // Views draw their texts when shown: hide, empty and show the current one again in the new language.
  const id = state.current;
  if (id) {
    hideCurrent();
    for (const view of VIEWS) {
      const root = $(view.id + "-view");
      if (root) root.replaceChildren();
    }
    state.current = null;
    open(id);
  }
}

$("lang").replaceChildren(...Object.entries(LANGS).map(([code, info]) =>
  el("option", { value: code, lang: code === "zh" ? "zh-Hans" : code }, info.name)));
$("lang").value = state.lang;
$("lang").addEventListener("change", () => setLanguage($("lang").value));

$("signin").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("signin-error").textContent = "";
  const form = new URLSearchParams(new FormData(event.target));
  try {
    const response = await api("/api/v1/auth/token", { method: "POST", body: form });
    const token = await response.json();
    state.token = token.access_token;
    sessionStorage.setItem("gw_token", state.token);
    $("password").value = "";
    await enter();
  } catch (e) {
    $("signin-error").textContent = e.status === 401 ? shellT()("signin_wrong") : e.message;
  }
});

$("signout").addEventListener("click", async () => {
  // End the token on the server too (every token of this user), not only in this browser.
  try { await api("/api/v1/auth/logout", { method: "POST" }); } catch (e) { /* already ended */ }
  signOut("");
});

state.clockTimer = setInterval(tickClock, 30000);
translateShell();
if (state.token) enter(); else open("signin");
