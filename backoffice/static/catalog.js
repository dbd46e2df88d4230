// Products: find, create, edit, retire; import a spreadsheet; print shelf labels.

import { ApiError, call, get, query } from "./api.js";
import { clear, field, h, notice, table } from "./dom.js";
import { t } from "./i18n.js";
import { formatAmount, parseAmount } from "./money.js";

function list(page, shop) {
  const search = h("input", { type: "search", placeholder: t("catalog.search"), "aria-label": t("catalog.search") });
  const results = h("div");
  const show = async () => {
    const products = await get("/products" + query({ search: search.value.trim(), limit: 200 }));
    clear(results, table([
      { title: "SKU", value: (p) => p.sku },
      { title: t("col.name"), value: (p) => [p.name, p.active ? null : h("span", { class: "badge" }, t("catalog.retired"))] },
      { title: t("col.category"), value: (p) => p.category },
      { title: t("col.price"), numeric: true, value: (p) => formatAmount(p.price, shop.exponent) + (p.unit === "kg" ? "/kg" : "") },
    ], products, { empty: t("catalog.none"), onRow: (p) => { location.hash = `#/catalog/${encodeURIComponent(p.sku)}`; } }));
  };
  let timer = null;
  search.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(show, 200); });
  clear(page,
    h("h1", {}, t("nav.catalog")),
    h("div", { class: "toolbar" }, search,
      h("a", { class: "button", href: "#/catalog/~new" }, t("catalog.new")),
      h("a", { class: "button", href: "#/catalog/~import" }, t("catalog.import"))),
    results);
  return show();
}

function importer(page) {
  const file = h("input", { type: "file", accept: ".csv,text/csv", required: true });
  const skip = h("input", { type: "checkbox" });
  const result = h("div", { id: "import-result" });
  const form = h("form", { class: "card", onsubmit: async (event) => {
    event.preventDefault();
    clear(result, h("p", { class: "loading" }, t("loading")));
    let text;
    try {
      // Strict: a spreadsheet saved in GBK (Excel's default for Chinese) would otherwise come in garbled.
      text = new TextDecoder("utf-8", { fatal: true }).decode(await file.files[0].arrayBuffer());
    } catch {
      clear(result, notice("error", t("import.not_utf8")));
      return;
    }
    try {
      const done = await call("POST", "/catalog/import", { csv: text, skip_bad: skip.checked });
      clear(result, notice("ok", t("import.done", { applied: done.applied, rows: done.rows })), errors(done.errors));
    } catch (error) {
      clear(result, notice("error", error.message), errors(error.body.errors || []));
    }
  } },
  field(t("import.file"), file, t("import.columns")),
  h("label", { class: "check" }, skip, " ", t("import.skip_bad")),
  h("button", { type: "submit", class: "primary" }, t("catalog.import")));
  clear(page, h("h1", {}, t("catalog.import")), form, result);
}

function errors(list) {
  if (!list.length) return null;
  return h("div", { class: "card" }, h("h2", {}, t("import.errors", { n: list.length })),
    h("ul", { class: "errors" }, list.map((e) => h("li", {}, e))));
}

async function editor(page, sku, shop, operator) {
  const creating = sku === "~new";
  let product = { sku: "", name: "", name_en: "", unit: "piece", price: 0, cost: 0, tax_class: "", category: "",
    plu: null, active: true, barcodes: [] };
  if (!creating) product = await get(`/products/${encodeURIComponent(sku)}`);
  const input = (name, value, extra = {}) => h("input", { name, value: value ?? "", ...extra });
  const f = {
    sku: input("sku", product.sku, { required: true, maxlength: 32, readonly: !creating }),
    name: input("name", product.name, { required: true, maxlength: 64 }),
    name_en: input("name_en", product.name_en, { maxlength: 64 }),
    barcodes: input("barcodes", product.barcodes.join(" "), { inputmode: "numeric" }),
    unit: h("select", { name: "unit" }, ["piece", "kg"].map((u) => h("option", { value: u, selected: product.unit === u }, t(`unit.${u}`)))),
    price: input("price", formatAmount(product.price, shop.exponent).replaceAll(",", ""), { inputmode: "decimal", required: true }),
    cost: input("cost", formatAmount(product.cost, shop.exponent).replaceAll(",", ""), { inputmode: "decimal" }),
    category: input("category", product.category, { maxlength: 64 }),
    tax_class: input("tax_class", product.tax_class, { maxlength: 32 }),
    plu: input("plu", product.plu, { inputmode: "numeric", maxlength: 6 }),
    active: h("input", { name: "active", type: "checkbox", checked: product.active }),
  };
  const status = h("div", { id: "save-status" });
  const save = async (event) => {
    event.preventDefault();
    const price = parseAmount(f.price.value, shop.exponent);
    const cost = f.cost.value.trim() ? parseAmount(f.cost.value, shop.exponent) : 0;
    if (price === null || cost === null) {
      clear(status, notice("error", t("catalog.bad_amount")));
      return;
    }
    const body = { name: f.name.value.trim(), name_en: f.name_en.value.trim(), unit: f.unit.value, price, cost,
      barcodes: f.barcodes.value.split(/[\s,|]+/).filter(Boolean), plu: f.plu.value.trim() || null,
      category: f.category.value.trim(), tax_class: f.tax_class.value.trim(), active: f.active.checked };
    try {
      const saved = await call("PUT", `/products/${encodeURIComponent(f.sku.value.trim())}`, body);
      clear(status, notice("ok", t("catalog.saved", { name: saved.name, price: formatAmount(saved.price, shop.exponent) })));
      if (creating) location.hash = `#/catalog/${encodeURIComponent(saved.sku)}`;
    } catch (error) {
      clear(status, notice("error", error instanceof ApiError ? error.message : String(error)));
    }
  };
  const copies = h("input", { type: "number", min: 1, max: 50, value: 1, class: "short", "aria-label": t("catalog.copies") });
  const labels = async () => {
    try {
      const done = await call("POST", `/products/${encodeURIComponent(product.sku)}/labels`, { copies: Number(copies.value) });
      clear(status, notice("ok", t("catalog.labels_done", { n: done.printed })));
    } catch (error) {
      clear(status, notice("error", error.message));
    }
  };
  clear(page,
    h("p", {}, h("a", { href: "#/catalog" }, "← ", t("nav.catalog"))),
    h("h1", {}, creating ? t("catalog.new") : product.name),
    h("form", { class: "card grid", onsubmit: save },
      field("SKU", f.sku), field(t("col.name"), f.name), field(t("col.name_en"), f.name_en),
      field(t("col.barcodes"), f.barcodes, t("catalog.barcodes_hint")), field(t("col.unit"), f.unit),
      field(t("col.price"), f.price), field(t("col.cost"), f.cost), field(t("col.category"), f.category),
      field(t("col.tax_class"), f.tax_class), field("PLU", f.plu),
      h("label", { class: "check" }, f.active, " ", t("catalog.active")),
      status,
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("save")))),
    creating || operator.role === "cashier" ? null : h("div", { class: "card toolbar" },
      h("span", {}, t("catalog.labels")), copies,
      h("button", { type: "button", onclick: labels }, t("catalog.print_labels"))));
}

export async function render(page, [sku], { shop, operator }) {
  if (!sku) return list(page, shop);
  if (sku === "~import") return importer(page);
  return editor(page, sku, shop, operator);
}
