// User management (admins only; the server checks it too): list, create, disable and enable users
// (GET/POST /api/v1/users, POST /api/v1/users/{name}/disable|enable). Disabling ends the user's sessions at once.
import { table, withCommon } from "../widgets.js";

async function load(root, ctx) {
  const { el, t, fmtTime } = ctx;
  try {
    const users = await (await ctx.api("/api/v1/users")).json();
    root.querySelector("#users-list").replaceChildren(table(ctx, [t("username"), t("role"), t("status"), t("created"), ""],
      users.map((u) => {
        const self = u.username === ctx.user.username;
        const action = u.disabled ? "enable" : "disable";
        return [u.username, t("role_" + u.role), t(u.disabled ? "disabled" : "active"), fmtTime(u.created_at),
          self ? el("span", { class: "muted" }, t("you")) : el("button", { type: "button", class: action,
            dataset: { user: u.username }, "aria-label": t(action + "_user", { user: u.username }),
            onclick: () => setDisabled(root, ctx, u.username, action) }, t(action))];
      }), { class: "users" }));
  } catch (e) {
    root.querySelector("#users-error").textContent = e.message;
  }
}

async function setDisabled(root, ctx, username, action) {
  root.querySelector("#users-error").textContent = "";
  try {
    await ctx.api("/api/v1/users/" + encodeURIComponent(username) + "/" + action, { method: "POST" });
    root.querySelector("#users-done").textContent = ctx.t(action + "d_ok", { user: username });
  } catch (e) {
    root.querySelector("#users-error").textContent = e.message;
  }
  await load(root, ctx);
}

async function create(root, ctx, form) {
  root.querySelector("#users-error").textContent = "";
  const data = new FormData(form);
  const body = { username: String(data.get("username")).trim(), password: String(data.get("password")), role: data.get("role") };
  try {
    await ctx.api("/api/v1/users", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    form.reset();
    root.querySelector("#users-done").textContent = ctx.t("created_ok", { user: body.username });
  } catch (e) {
    root.querySelector("#users-error").textContent = e.message;
  }
  await load(root, ctx);
}

function build(root, ctx) {
  const { el, t } = ctx;
  const form = el("form", { class: "filters", id: "user-form" },
    el("label", {}, t("username"), el("input", { name: "username", id: "new-username", required: true, maxlength: 64,
      autocomplete: "off" })),
    el("label", {}, t("password"), el("input", { name: "password", id: "new-password", type: "password", required: true,
      minlength: 8, maxlength: 72, autocomplete: "new-password" })),
    el("label", {}, t("role"), el("select", { name: "role", id: "new-role" },
      el("option", { value: "operator" }, t("role_operator")), el("option", { value: "admin" }, t("role_admin")))),
    el("button", { type: "submit", id: "user-create" }, t("create")));
  form.addEventListener("submit", (event) => { event.preventDefault(); create(root, ctx, form); });
  root.replaceChildren(
    el("div", { class: "view-head" }, el("h2", {}, t("title"))),
    el("h3", {}, t("new_user")),
    form,
    el("p", { class: "error", id: "users-error", role: "alert" }),
    el("p", { class: "done", id: "users-done", "aria-live": "polite" }),
    el("div", { id: "users-list" }));
}

export default {
  id: "users",
  title: "tab",
  adminOnly: true,
  strings: withCommon({
    en: {
      tab: "Users", title: "Users", new_user: "New user", role: "Role", created: "Created", create: "Create user",
      active: "active", disabled: "disabled", you: "you", disable: "Disable", enable: "Enable",
      disable_user: "Disable {user}", enable_user: "Enable {user}", created_ok: "User {user} created.",
      disabled_ok: "{user} is disabled; their sessions have ended.", enabled_ok: "{user} may sign in again.",
    },
    vi: {
      tab: "Người dùng", title: "Quản lý người dùng", new_user: "Thêm người dùng", role: "Vai trò", created: "Ngày tạo",
      create: "Tạo người dùng", active: "đang hoạt động", disabled: "đã khóa", you: "bạn", disable: "Khóa", enable: "Mở khóa",
      disable_user: "Khóa {user}", enable_user: "Mở khóa {user}", created_ok: "Đã tạo người dùng {user}.",
      disabled_ok: "Đã khóa {user}; các phiên đăng nhập đã kết thúc.", enabled_ok: "{user} có thể đăng nhập lại.",
    },
    zh: {
      tab: "用户", title: "用户管理", new_user: "新建用户", role: "角色", created: "创建时间", create: "创建用户",
      active: "正常", disabled: "已停用", you: "本人", disable: "停用", enable: "启用",
      disable_user: "停用 {user}", enable_user: "启用 {user}", created_ok: "已创建用户 {user}。",
      disabled_ok: "已停用 {user}，其登录会话已全部结束。", enabled_ok: "{user} 可以重新登录。",
    },
  }),
  async show(root, ctx) {
    build(root, ctx);
    await load(root, ctx);
  },
  hide() {},
};
