// Every report of the appliance over any business days: its chart, its table, its CSV.

import { get, query } from "./api.js";
import { chart, clear, daysBefore, field, h, notice, table } from "./dom.js";
import { t } from "./i18n.js";
import { formatAmount, formatBp } from "./money.js";

const ROWS = 200; // a phone shows a long list badly: the first rows here, all of them in the CSV
const DEFAULT_DAYS = { "sales-month": 365, "sales-week": 84, "peak-hours": 56, trend: 28, "sales-day": 28, basket: 28 };

function cell(kind, value, exponent) {
  if (value === null || value === undefined) return "–";
  switch (kind) {
    case "money": return formatAmount(value, exponent);
    case "qty": case "milli": return formatAmount(value, 3).replace(/\.000$/, "");
    case "bp": return formatBp(value);
    default: return String(value);
  }
}

function index(page, names) {
  clear(page, h("h1", {}, t("nav.reports")),
    h("div", { class: "tiles" }, names.map((r) =>
      h("a", { class: "card tile", href: `#/reports/${r.name}` },
        h("strong", {}, t(`report.${r.name}`, {}, r.name)), h("small", {}, r.summary),
        r.chart ? h("span", { class: "badge" }, t("reports.chart")) : null))),
    h("p", {}, h("a", { href: "#/reports/~shifts" }, t("reports.shifts"))));
}

async function one(page, name, names, shop, params) {
  const spec = names.find((r) => r.name === name);
  if (!spec) {
    clear(page, notice("error", t("reports.unknown", { name })));
    return;
  }
  const today = (await get("/dashboard")).today.day;
  const to = h("input", { type: "date", value: params.get("to") || today, required: true });
  const from = h("input", { type: "date", value: params.get("from") || daysBefore(to.value, (DEFAULT_DAYS[name] || 7) - 1), required: true });
  const body = h("div", { id: "report" });
  const show = async () => {
    const range = query({ from: from.value, to: to.value });
    const shown = query({ from: from.value, to: to.value, limit: ROWS }); // the CSV has every row
    clear(body, h("p", { class: "loading" }, t("loading")));
    try {
      const report = await get(`/reports/${name}${shown}`);
      const columns = report.columns.map((c, i) => ({
        title: t(`rcol.${c.key}`, {}, c.title), numeric: c.kind !== "text", value: (row) => cell(c.kind, row[i], shop.exponent) }));
      const rows = report.rows.concat(report.total ? [report.total] : []);
      clear(body,
        spec.chart ? chart(`/reports/${name}/chart${shown}`, report.title) : null,
        table(columns, rows.map((row) => report.columns.map((c) => row[c.key])), { empty: t("reports.empty") }),
        report.rows.length >= ROWS ? h("p", { class: "muted" }, t("reports.first_rows", { n: ROWS })) : null,
        report.notes.map((n) => h("p", { class: "muted" }, n)),
        h("p", {}, h("a", { class: "button", href: `/reports/${name}/csv${range}`, download: `${name}_${from.value}_${to.value}.csv` },
          t("reports.csv"))));
    } catch (error) {
      clear(body, notice("error", error.message));
    }
  };
  const form = h("form", { class: "card toolbar", onsubmit: (e) => { e.preventDefault(); show(); } },
    field(t("reports.from"), from), field(t("reports.to"), to), h("button", { type: "submit", class: "primary" }, t("reports.show")));
  clear(page, h("p", {}, h("a", { href: "#/reports" }, "← ", t("nav.reports"))),
    h("h1", {}, t(`report.${name}`, {}, name), " ", h("small", { class: "muted" }, spec.summary)), form, body);
  await show();
}

export async function render(page, [name, ...rest], { shop }) {
  if (name === "~shifts") {
    const shifts = await import("./shifts.js");
    return shifts.render(page, rest, { shop });
  }
  const names = await get("/reports");
  if (!name) return index(page, names);
  return one(page, name, names, shop, new URLSearchParams(location.hash.split("?")[1] || ""));
}
