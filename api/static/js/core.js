// Shared pieces of the console: languages, translation, the API call with the token, formatting in the gate's
// zone, authenticated images and a small DOM helper. No build, no CDN: plain ES modules.

/** The console's languages: Intl locale and the name shown in the selector (in its own language). */
export const LANGS = {
  en: { locale: "en-GB", name: "English" },
  vi: { locale: "vi-VN", name: "Tiếng Việt" },
  zh: { locale: "zh-CN", name: "中文（简体）" },
};

/** The user's language: remembered choice, else the browser's if we have it, else English. */
export function startLanguage() {
  const saved = localStorage.getItem("gw_lang");
  if (saved && saved in LANGS) return saved;
  const browser = (navigator.language || "en").slice(0, 2).toLowerCase();
  return browser in LANGS ? browser : "en";
}

/**
 * A translator over string tables (first table that has the key wins), with `{name}` placeholders.
 * A missing key is returned as is (and warned about): never silently English in another language.
 */
export function translator(lang, ...tables) {
  return (key, vars = {}) => {
    for (const table of tables) {
      const text = table && table[lang] && table[lang][key];
      if (text !== undefined) return text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
    }
    console.warn("gatewatch: no " + lang + " text for " + key);
    return key;
  };
}

/** Element with attributes and children; text children become text nodes (never HTML). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** Date parts of `date` in `tz` as numbers ({year, month, day, hour, minute, second}). */
export function zonedParts(date, tz) {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: tz, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  }).formatToParts(date);
  const out = {};
  for (const p of parts) if (p.type !== "literal") out[p.type] = Number(p.value);
  return out;
}

/** Today's date (YYYY-MM-DD) in the zone `tz`, whatever the browser's zone. */
export function todayIn(tz, now = new Date()) {
  const p = zonedParts(now, tz);
  return String(p.year).padStart(4, "0") + "-" + String(p.month).padStart(2, "0") + "-" + String(p.day).padStart(2, "0");
}

/** Seconds since midnight in the zone `tz`. */
export function secondsSinceMidnight(tz, now = new Date()) {
  const p = zonedParts(now, tz);
  return p.hour * 3600 + p.minute * 60 + p.second;
}

/** The day after a YYYY-MM-DD day. */
export function nextDay(day) {
  const next = new Date(day + "T00:00:00Z");
  next.setUTCDate(next.getUTCDate() + 1);
  return next.toISOString().slice(0, 10);
}

/** Formatters in the chosen language's locale and the gate's zone. */
export function formatters(lang, tz) {
  const locale = LANGS[lang].locale;
  const time = new Intl.DateTimeFormat(locale, {
    timeZone: tz, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short",
  });
  const clock = new Intl.DateTimeFormat(locale, { timeZone: tz, hourCycle: "h23", hour: "2-digit", minute: "2-digit", timeZoneName: "short" });
  const date = new Intl.DateTimeFormat(locale, { timeZone: tz, dateStyle: "medium" });
  const day = new Intl.DateTimeFormat(locale, { timeZone: "UTC", dateStyle: "medium" });
  const number = new Intl.NumberFormat(locale);
  return {
    fmtTime: (iso) => time.format(new Date(iso)),
    fmtClock: (when) => clock.format(when ? new Date(when) : new Date()),
    // A bare day (YYYY-MM-DD) is that calendar day; a timestamp is its day in the gate's zone.
    fmtDate: (iso) => (/^\d{4}-\d{2}-\d{2}$/.test(iso) ? day.format(new Date(iso + "T00:00:00Z")) : date.format(new Date(iso))),
    fmtNumber: (n) => number.format(n),
  };
}

/**
 * `api(path, options)`: fetch with the bearer token from `getToken()`; a non-2xx answer throws Error(detail);
 * a 401 (other than the sign-in call itself) calls `onSignedOut()` and throws.
 */
export function apiCaller(getToken, onSignedOut, sessionEndedText) {
  return async function api(path, options = {}) {
    const headers = Object.assign({}, options.headers || {});
    const token = getToken();
    if (token) headers.Authorization = "Bearer " + token;
    const response = await fetch(path, Object.assign({}, options, { headers }));
    if (response.status === 401 && path !== "/api/v1/auth/token") {
      onSignedOut();
      throw new Error(sessionEndedText());
    }
    if (!response.ok) {
      let detail = response.statusText;
      try {
        const body = await response.json();
        detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
      } catch (e) { /* not JSON */ }
      const error = new Error(detail);
      error.status = response.status;
      throw error;
    }
    return response;
  };
}

/**
 * `image(img, url)`: loads an evidence image with the token as a blob URL (cached per URL: evidence URLs name
 * the image's sha256, so they never change). Resolves to true once shown, false if it could not be loaded.
 */
export function imageLoader(api, unavailableText) {
  const cache = new Map();
  async function image(img, url) {
    try {
      let src = cache.get(url);
      if (!src) {
        const response = await api(url);
        src = URL.createObjectURL(await response.blob());
        cache.set(url, src);
        if (cache.size > 300) {  // forget the oldest
          const [oldUrl, oldSrc] = cache.entries().next().value;
          cache.delete(oldUrl);
          URL.revokeObjectURL(oldSrc);
        }
      }
      img.src = src;
      await img.decode();
      return true;
    } catch (e) {
      img.alt = unavailableText(e.message);
      return false;
    }
  }
  image.clear = () => {
    for (const src of cache.values()) URL.revokeObjectURL(src);
    cache.clear();
  };
  return image;
}
