// The back office shell: sign-in, the menu, and which page the address (#/...) shows.

import { call, get, signedIn, whenSignedOut } from "./api.js";
import { clear, field, h, notice } from "./dom.js";
import { lang, setLang, t } from "./i18n.js";

const PAGES = {
  dashboard: () => import("./dashboard.js"),
  catalog: () => import("./catalog.js"),
  stock: () => import("./stock.js"),
  members: () => import("./members.js"),
  reports: () => import("./reports.js"),
  settings: () => import("./settings.js"),
};

const root = document.getElementById("app");
let me = null;
let shop = null; // {currency, exponent, ...} from /dashboard, for pages that show money

export function session() {
  return { operator: me, shop };
}

function langSwitch() {
  const other = lang() === "zh" ? "en" : "zh";
  return h("button", { class: "link lang", type: "button", onclick: () => { setLang(other); start(); } },
    other === "zh" ? "中文" : "English");
}

function showSignIn(message) {
  me = null;
  document.title = t("app.title");
  const code = h("input", { name: "code", inputmode: "numeric", autocomplete: "username", required: true, maxlength: 8 });
  const pin = h("input", { name: "pin", type: "password", inputmode: "numeric", autocomplete: "current-password",
    required: true, maxlength: 12 });
  const status = h("div", {}, message ? notice("error", message) : null);
  const form = h("form", { class: "card signin", onsubmit: async (event) => {
    event.preventDefault();
    clear(status);
    try {
      const answer = await call("POST", "/session", { code: code.value.trim(), pin: pin.value });
      pin.value = "";
      signedIn(answer.csrf);
      me = answer.operator;
      location.hash = location.hash && location.hash !== "#/" ? location.hash : "#/dashboard";
      showShell();
    } catch (error) {
      pin.value = "";
      clear(status, notice("error", error.message));
    }
  } },
  h("h1", {}, t("app.title")),
  field(t("signin.code"), code),
  field(t("signin.pin"), pin),
  status,
  h("button", { type: "submit", class: "primary" }, t("signin.submit")),
  langSwitch());
  clear(root, h("main", { class: "center" }, form));
  code.focus();
}

async function signOut() {
  try {
    await call("DELETE", "/session");
  } finally {
    showSignIn();
  }
}

function showShell() {
  const links = Object.keys(PAGES).map((name) =>
    h("a", { href: `#/${name}`, dataset: { page: name } }, t(`nav.${name}`)));
  const main = h("main", { id: "page" });
  clear(root,
    h("header", {},
      h("strong", { class: "brand" }, t("app.title")),
      h("nav", {}, links),
      h("span", { class: "who" }, me.name, " · ", t(`role.${me.role}`)),
      langSwitch(),
      h("button", { type: "button", class: "link", onclick: signOut }, t("signin.out"))),
    main);
  route();
}

let shown = 0; // the latest navigation: a slower earlier page must not draw over it

async function route() {
  const page = document.getElementById("page");
  if (!me || !page) return;
  const mine = ++shown;
  const target = document.createElement("main"); // drawn off-screen, swapped in only if still wanted
  const [name, ...rest] = (location.hash.replace(/^#\/?/, "").split("?")[0] || "dashboard").split("/");
  const load = PAGES[name] || PAGES.dashboard;
  for (const link of document.querySelectorAll("nav a")) {
    link.classList.toggle("active", link.dataset.page === name);
  }
  clear(page, h("p", { class: "loading" }, t("loading")));
  target.id = "page";
  try {
    if (!shop) shop = await get("/dashboard");
    const view = await load();
    await view.render(target, rest.map(decodeURIComponent), { shop, operator: me });
  } catch (error) {
    clear(target, notice("error", error.message));
  }
  if (mine !== shown || !document.getElementById("page")) return;
  document.title = `${t(`nav.${name in PAGES ? name : "dashboard"}`)} · ${t("app.title")}`;
  document.getElementById("page").replaceWith(target);
}

export async function start() {
  document.documentElement.lang = lang() === "zh" ? "zh-CN" : "en";
  try {
    const answer = await get("/session");
    signedIn(answer.csrf);
    me = answer.operator;
    showShell();
  } catch (error) {
    showSignIn(error.status === 401 ? "" : error.message);
  }
}

whenSignedOut(() => showSignIn(t("signin.ended")));
window.addEventListener("hashchange", route);
start();
