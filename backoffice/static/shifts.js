// Shifts of this terminal and their Z reports, as printed at closing; a reprint is marked COPY.

import { call, get } from "./api.js";
import { clear, h, notice, table, when } from "./dom.js";
import { t } from "./i18n.js";
import { formatAmount } from "./money.js";

async function list(page, shop) {
  const shifts = await get("/shifts");
  clear(page, h("p", {}, h("a", { href: "#/reports" }, "← ", t("nav.reports"))), h("h1", {}, t("reports.shifts")),
    table([
      { title: t("col.day"), value: (s) => s.business_day },
      { title: t("shift.opened"), value: (s) => when(s.opened_at, shop.zone) },
      { title: t("shift.closed"), value: (s) => when(s.closed_at, shop.zone, t("shift.open")) },
      { title: "Z", numeric: true, value: (s) => (s.z_number === null ? "" : `#${s.z_number}`) },
    ], shifts, {
      empty: t("shift.none"),
      onRow: (s) => { if (s.closed_at) location.hash = `#/reports/~shifts/${encodeURIComponent(s.id)}`; },
    }));
}

async function zReport(page, id, shop) {
  const z = await get(`/shifts/${encodeURIComponent(id)}/z-report`);
  const money = (v) => formatAmount(v, shop.exponent);
  const status = h("div");
  const reprint = async () => {
    try {
      await call("POST", `/shifts/${encodeURIComponent(id)}/reprint`, {});
      clear(status, notice("ok", t("shift.reprinted")));
    } catch (error) {
      clear(status, notice("error", error.message));
    }
  };
  const row = (label, value) => h("tr", {}, h("th", {}, label), h("td", { class: "num" }, value));
  clear(page, h("p", {}, h("a", { href: "#/reports/~shifts" }, "← ", t("reports.shifts"))),
    h("h1", {}, `Z #${z.z_number}`, " ", h("small", { class: "muted" }, z.shift.business_day)),
    h("div", { class: "card" }, h("table", { class: "pairs" }, h("tbody", {},
      row(t("z.sales"), `${z.counts.sale} · ${money(z.totals.sale)}`),
      row(t("z.returns"), `${z.counts.return} · ${money(z.totals.return)}`),
      row(t("z.voids"), `${z.counts.void} · ${money(z.totals.void)}`),
      row(t("z.net"), money(z.net_sales)),
      row(t("z.discounts"), money(z.discounts)),
      z.tenders.map((l) => row(t(`tender.${l.kind}`, {}, l.kind), money(l.taken - l.refunded))),
      row(t("z.expected_cash"), money(z.expected_cash)),
      row(t("z.counted_cash"), z.counted_cash === null ? "–" : money(z.counted_cash)),
      row(t("z.over_short"), z.over_short === null ? "–" : money(z.over_short))))),
    status,
    h("button", { type: "button", onclick: reprint }, t("shift.reprint")));
}

export async function render(page, [id], { shop }) {
  return id ? zReport(page, id, shop) : list(page, shop);
}
