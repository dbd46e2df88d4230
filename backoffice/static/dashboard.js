// Today at a glance: sales against the same weekday last week, the trend and the busy
// hours, what is running low, and whether the devices and head office are all right.

import { get } from "./api.js";
import { chart, clear, daysBefore, h, table } from "./dom.js";
import { t } from "./i18n.js";
import { formatAmount, formatQuantity } from "./money.js";

function change(now, before) {
  if (now === null || before === null || before === 0) return h("small", { class: "muted" }, t("dash.no_compare"));
  const bp = Math.round(((now - before) * 10000) / Math.abs(before));
  return h("small", { class: bp >= 0 ? "up" : "down" }, `${bp >= 0 ? "▲" : "▼"} ${formatAmount(Math.abs(bp), 2)}% `,
    t("dash.vs_last_week"));
}

function figure(title, now, before, show) {
  return h("div", { class: "card figure" }, h("span", {}, title), h("strong", {}, show(now)), change(now, before));
}

export async function render(page) {
  const data = await get("/dashboard");
  const money = (v) => (v === null ? "–" : formatAmount(v, data.exponent));
  const { today, last_week: week } = data;
  const heatFrom = daysBefore(data.trend.to, 55);
  const sync = data.sync;
  const offline = data.devices.filter((d) => !d.online);
  clear(page,
    h("h1", {}, data.shop, " ", h("small", { class: "muted" }, today.day)),
    h("section", { class: "figures" },
      figure(t("dash.net"), today.net, week.net, money),
      figure(t("dash.baskets"), today.baskets, week.baskets, String),
      figure(t("dash.average"), today.average, week.average, money)),
    h("section", { class: "card" },
      h("h2", {}, t("dash.trend")),
      chart(`/reports/trend/chart?from=${data.trend.from}&to=${data.trend.to}`, t("dash.trend"))),
    h("section", { class: "card" },
      h("h2", {}, t("dash.peak")),
      chart(`/reports/peak-hours/chart?from=${heatFrom}&to=${data.trend.to}`, t("dash.peak"))),
    h("section", { class: "card", id: "alerts" },
      h("h2", {}, t("dash.low_stock"), " ", h("span", { class: data.alerts.length ? "badge warn" : "badge" }, data.alerts.length)),
      table([
        { title: t("col.product"), value: (a) => h("a", { href: `#/catalog/${encodeURIComponent(a.sku)}` }, a.name || a.sku) },
        { title: t("col.on_hand"), numeric: true, value: (a) => formatQuantity(a.on_hand, a.unit) },
        { title: t("col.reorder_point"), numeric: true, value: (a) => formatQuantity(a.point, a.unit) },
      ], data.alerts, { empty: t("dash.no_alerts") })),
    h("section", { class: "card", id: "health" },
      h("h2", {}, t("dash.health")),
      h("p", { class: data.selling ? "ok" : "bad" }, data.selling ? t("dash.selling") : t("dash.not_selling")),
      offline.length
        ? h("ul", {}, offline.map((d) => h("li", { class: d.required ? "bad" : "warn" }, `${d.name}: ${d.last_error || t("dash.offline")}`)))
        : h("p", { class: "ok" }, t("dash.devices_ok", { n: data.devices.length })),
      h("p", { class: sync.alert || sync.last_error ? "warn" : "" },
        !sync.enabled ? t("dash.sync_off")
          : t("dash.sync", { pending: sync.pending, at: sync.last_success || t("dash.never") }),
        sync.last_error ? h("small", {}, " ", sync.last_error) : null)));
}
