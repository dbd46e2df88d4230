// Stock: levels and their value, deliveries in, adjustments, stocktakes, and what to reorder.
// Quantities are typed as people write them ("2", "1.5" kg) and sent in thousandths;
// amounts as "12.50" and sent in minor units. The server checks everything again.

import { call, get, query } from "./api.js";
import { clear, field, h, notice, table, when } from "./dom.js";
import { addStrings, t } from "./i18n.js";
import { formatAmount, formatQuantity, parseAmount } from "./money.js";

addStrings({
  en: {
    "stock.levels": "Levels", "stock.receive": "Receive goods", "stock.adjust": "Adjust", "stock.count": "Stocktake",
    "stock.reorder": "Reorder", "stock.search": "SKU or name", "stock.all_categories": "all categories",
    "stock.avg_cost": "Average cost", "stock.value": "Value at cost", "stock.below": "below point",
    "stock.none": "No stock is booked for these products yet.",
    "stock.more": "The first {shown} of {n} products: type in the search box to find the others.", "stock.total": "Stock value at cost: {value}",
    "stock.alerts_open": "{n} product(s) running low",
    "stock.line": "Line {n}", "stock.quantity": "Quantity", "stock.unit_cost": "Unit cost",
    "stock.unit_cost_hint": "per piece, or per kg for weighed goods", "stock.add_line": "Add a line",
    "stock.remove": "Remove", "stock.supplier": "Supplier", "stock.no_supplier": "— none —",
    "stock.document": "Delivery note no.", "stock.book_in": "Book in", "stock.bad_line": "Line {n}: {what}",
    "stock.bad_quantity": "the quantity must be a number above zero, like 2 or 1.5",
    "stock.bad_cost": "the unit cost must be an amount like 12.50", "stock.no_lines": "Fill in at least one line.",
    "stock.received": "Booked in {n} line(s).", "stock.cost_before": "Cost before", "stock.cost_after": "Cost after",
    "stock.alert_raised": "Running low: {name}, {on_hand} on hand, reorder point {point}.",
    "stock.alert_cleared": "Back above its reorder point: {name}.",
    "stock.needs_supervisor": "Adjusting stock needs a supervisor or a manager: ask one to sign in.",
    "stock.change": "Change", "stock.change_hint": "negative takes out (-2), positive puts in (3)",
    "stock.bad_change": "The change must be a number other than zero, like -2 or 1.5.", "stock.reason": "Reason",
    "stock.reason.damaged": "Damaged", "stock.reason.expired": "Expired", "stock.reason.theft": "Theft",
    "stock.reason.found": "Found", "stock.reason.correction": "Correction", "stock.note": "Note",
    "stock.do_adjust": "Adjust stock", "stock.adjusted": "{name}: {change}; on hand now {on_hand}.",
    "stock.count_none": "No stocktake is open.", "stock.count_scope": "Category to count",
    "stock.count_scope_hint": "leave empty to count every product",
    "stock.blind": "Blind count (the sheet does not show the expected quantity)", "stock.count_open": "Start the stocktake",
    "stock.opened": "Stocktake {id} started.", "stock.count_title": "Stocktake {id}", "stock.count_all": "every product",
    "stock.count_since": "opened {at} by {by}", "stock.blind_badge": "blind", "stock.expected": "Expected",
    "stock.counted": "Counted", "stock.counted_so_far": "Counted so far", "stock.add_count": "Add count",
    "stock.count_hint": "Counts add up: enter the shelf, then the back room. Count one product in one go.",
    "stock.save_counts": "Save counts", "stock.bad_count": "{sku}: a count is a number like 12 or 0.75.",
    "stock.no_counts": "Type at least one count.", "stock.counts_saved": "{n} count(s) saved.",
    "stock.show_variance": "Show the variance", "stock.variance": "Variance", "stock.variance_total": "Variance at cost: {value}",
    "stock.variance_none": "Nothing counted yet.", "stock.apply": "Apply these counts to stock",
    "stock.cancel": "Cancel the stocktake (stock stays as it is)",
    "stock.supervisor_applies": "A supervisor or a manager reviews the variance and applies the counts.",
    "stock.applied": "Stocktake {id} applied: {n} product(s) changed, variance at cost {value}.",
    "stock.cancelled": "Stocktake {id} cancelled; stock unchanged.", "stock.all_suppliers": "all suppliers",
    "stock.to_order": "What to order", "stock.order_qty": "Order", "stock.order_up_to": "Up to",
    "stock.nothing_to_order": "Nothing to order: every product with a supplier is above its reorder point.",
    "stock.alerts": "Low-stock alerts", "stock.since": "Since", "stock.no_alerts": "Nothing is running low.",
  },
  zh: {
    "stock.levels": "库存一览", "stock.receive": "收货入库", "stock.adjust": "库存调整", "stock.count": "盘点",
    "stock.reorder": "补货", "stock.search": "货号或名称", "stock.all_categories": "全部类别",
    "stock.avg_cost": "平均成本", "stock.value": "成本金额", "stock.below": "低于补货点",
    "stock.none": "这些商品还没有库存记录。",
    "stock.more": "仅显示前 {shown} 个（共 {n} 个）商品：在搜索框输入以查找其他商品。", "stock.total": "库存成本总额：{value}",
    "stock.alerts_open": "{n} 个商品库存不足",
    "stock.line": "第 {n} 行", "stock.quantity": "数量", "stock.unit_cost": "单位成本",
    "stock.unit_cost_hint": "每件；称重商品为每公斤", "stock.add_line": "添加一行",
    "stock.remove": "删除", "stock.supplier": "供应商", "stock.no_supplier": "— 无 —",
    "stock.document": "送货单号", "stock.book_in": "确认入库", "stock.bad_line": "第 {n} 行：{what}",
    "stock.bad_quantity": "数量须为大于零的数字，如 2 或 1.5",
    "stock.bad_cost": "单位成本须为金额，如 12.50", "stock.no_lines": "请至少填写一行。",
    "stock.received": "已入库 {n} 行。", "stock.cost_before": "原平均成本", "stock.cost_after": "新平均成本",
    "stock.alert_raised": "库存不足：{name}，现有 {on_hand}，补货点 {point}。",
    "stock.alert_cleared": "已回到补货点以上：{name}。",
    "stock.needs_supervisor": "库存调整需要主管或店长，请让其登录。",
    "stock.change": "变动数量", "stock.change_hint": "负数为减少（-2），正数为增加（3）",
    "stock.bad_change": "变动数量须为非零数字，如 -2 或 1.5。", "stock.reason": "原因",
    "stock.reason.damaged": "损坏", "stock.reason.expired": "过期", "stock.reason.theft": "丢失被盗",
    "stock.reason.found": "找回", "stock.reason.correction": "更正", "stock.note": "备注",
    "stock.do_adjust": "确认调整", "stock.adjusted": "{name}：{change}；现有库存 {on_hand}。",
    "stock.count_none": "当前没有进行中的盘点。", "stock.count_scope": "盘点类别",
    "stock.count_scope_hint": "留空则盘点全部商品",
    "stock.blind": "盲盘（盘点表不显示应有数量）", "stock.count_open": "开始盘点",
    "stock.opened": "盘点 {id} 已开始。", "stock.count_title": "盘点 {id}", "stock.count_all": "全部商品",
    "stock.count_since": "{at} 由 {by} 开始", "stock.blind_badge": "盲盘", "stock.expected": "应有数量",
    "stock.counted": "实盘数量", "stock.counted_so_far": "已盘数量", "stock.add_count": "本次清点",
    "stock.count_hint": "清点数量会累加：可先录入货架，再录入仓库。同一商品请一次盘完。",
    "stock.save_counts": "保存清点", "stock.bad_count": "{sku}：清点数量须为数字，如 12 或 0.75。",
    "stock.no_counts": "请至少填写一个清点数量。", "stock.counts_saved": "已保存 {n} 条清点。",
    "stock.show_variance": "查看盘点差异", "stock.variance": "差异", "stock.variance_total": "差异成本合计：{value}",
    "stock.variance_none": "尚未清点任何商品。", "stock.apply": "按清点结果更新库存",
    "stock.cancel": "取消盘点（库存不变）",
    "stock.supervisor_applies": "由主管或店长查看差异并确认生效。",
    "stock.applied": "盘点 {id} 已生效：{n} 个商品库存已更新，差异成本 {value}。",
    "stock.cancelled": "盘点 {id} 已取消，库存未变。", "stock.all_suppliers": "全部供应商",
    "stock.to_order": "建议订货", "stock.order_qty": "订货数量", "stock.order_up_to": "补至",
    "stock.nothing_to_order": "无需订货：有供应商的商品都在补货点以上。",
    "stock.alerts": "缺货提醒", "stock.since": "起始时间", "stock.no_alerts": "暂无缺货商品。",
  },
});

const RANK = { cashier: 0, supervisor: 1, manager: 2 };
const REASONS = ["damaged", "expired", "theft", "found", "correction"];
const TABS = [["", "stock.levels"], ["receive", "stock.receive"], ["adjust", "stock.adjust", "supervisor"],
  ["count", "stock.count"], ["reorder", "stock.reorder"]];

const may = (operator, role) => RANK[operator.role] >= RANK[role];
const enc = encodeURIComponent;
let zone = "UTC"; // the shop's [time] zone, from the page's shop data
const at = (iso) => when(iso, zone);

// "2", "1.5" or, when signed, "-0.25" as thousandths; null when it is not a quantity.
function parseQuantity(text, signed = false) {
  const [, sign, rest] = /^\s*([+-]?)(.*)$/s.exec(text || "");
  if (sign && !signed) return null;
  const value = parseAmount(rest, 3);
  return value === null ? null : sign === "-" ? -value : value;
}

function signedQuantity(milli, unit) {
  return (milli > 0 ? "+" : milli < 0 ? "-" : "") + formatQuantity(Math.abs(milli), unit);
}

function layout(page, current, operator, ...content) {
  const links = TABS.filter(([, , role]) => !role || may(operator, role)).map(([name, key]) =>
    h("a", { href: name ? `#/stock/${name}` : "#/stock", class: name === current ? "active" : "" }, t(key)));
  clear(page, h("h1", {}, t("nav.stock")), h("nav", { class: "tabs" }, links), content);
}

// Runs a form's action, showing the server's refusal (it names the field) instead of losing it.
async function attempt(status, action) {
  clear(status);
  try {
    await action();
  } catch (error) {
    clear(status, notice("error", error.message));
  }
}

function alertNotices(changes) {
  return changes.map((a) => notice(a.state === "raised" ? "warn" : "ok", t(`stock.alert_${a.state}`, {
    name: a.name || a.sku, on_hand: formatQuantity(a.on_hand, a.unit), point: formatQuantity(a.point, a.unit) })));
}

function skuList(products) {
  return h("datalist", { id: "stock-skus" }, products.map((p) => h("option", { value: p.sku }, p.name)));
}

// Suggestions only (the first 1000 products): a category typed by hand still works.
async function categoryList() {
  const products = await get("/products?limit=1000");
  const names = [...new Set(products.map((p) => p.category).filter(Boolean))].sort();
  return h("datalist", { id: "stock-categories" }, names.map((name) => h("option", { value: name })));
}

const SHOWN = 200; // rows drawn at once: thousands of table rows make a phone crawl; the search narrows them

async function levels(page, { shop, operator }) {
  const search = h("input", { type: "search", placeholder: t("stock.search"), "aria-label": t("stock.search") });
  const category = h("input", { placeholder: t("stock.all_categories"), "aria-label": t("col.category"), maxlength: 64,
    list: "stock-categories", class: "category", autocomplete: "off" });
  const results = h("div");
  const money = (v) => formatAmount(v, shop.exponent);
  let rows = [];
  const draw = () => {
    const needle = search.value.trim().toLowerCase();
    const found = rows.filter((r) => !needle || r.sku.toLowerCase().includes(needle) || r.name.toLowerCase().includes(needle));
    const shown = found.slice(0, SHOWN);
    const view = table([
      { title: "SKU", value: (r) => r.sku },
      { title: t("col.name"), value: (r) => [r.name, r.below ? [" ", h("span", { class: "badge warn" }, t("stock.below"))] : null] },
      { title: t("col.on_hand"), numeric: true, value: (r) => formatQuantity(r.on_hand, r.unit) },
      { title: t("stock.avg_cost"), numeric: true, value: (r) => money(r.cost) },
      { title: t("stock.value"), numeric: true, value: (r) => money(r.value) },
      { title: t("col.reorder_point"), numeric: true, value: (r) => (r.point === null ? "–" : formatQuantity(r.point, r.unit)) },
    ], shown, { empty: t("stock.none"),
      onRow: may(operator, "supervisor") ? (r) => { location.hash = `#/stock/adjust/${enc(r.sku)}`; } : undefined });
    view.querySelectorAll("tbody tr").forEach((tr, i) => tr.classList.toggle("below", Boolean(shown[i]?.below)));
    clear(results, view,
      found.length > SHOWN ? h("p", { class: "muted" }, t("stock.more", { shown: SHOWN, n: found.length })) : null,
      h("p", { class: "total" }, t("stock.total", { value: money(found.reduce((s, r) => s + r.value, 0)) })));
  };
  const load = async () => {
    rows = await get("/stock" + query({ category: category.value.trim() }));
    draw();
  };
  let timer = null;
  search.addEventListener("input", draw);
  category.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => attempt(results, load), 300); });
  const loaded = load(); // at the same time as the alerts and the category suggestions
  const [alerts, categories] = await Promise.all([get("/stock/alerts"), categoryList()]);
  layout(page, "", operator, categories,
    alerts.length ? h("p", {}, h("a", { href: "#/stock/reorder", class: "badge warn" }, t("stock.alerts_open", { n: alerts.length }))) : null,
    h("div", { class: "toolbar" }, search, category), results);
  await loaded;
}

async function receive(page, { shop, operator, arg }) {
  const [suppliers, products] = await Promise.all([get("/stock/suppliers"), get("/products?limit=1000")]);
  const bySku = new Map(products.map((p) => [p.sku, p]));
  const lines = h("div", { class: "lines" });
  const addLine = (sku = "") => {
    const line = h("div", { class: "line" },
      field("SKU", h("input", { name: "sku", list: "stock-skus", value: sku, maxlength: 64, autocomplete: "off" })),
      field(t("stock.quantity"), h("input", { name: "quantity", inputmode: "decimal" })),
      field(t("stock.unit_cost"), h("input", { name: "unit_cost", inputmode: "decimal" }), t("stock.unit_cost_hint")),
      h("button", { type: "button", class: "link", onclick: () => line.remove() }, t("stock.remove")));
    lines.append(line);
  };
  const supplier = h("select", { name: "supplier" }, h("option", { value: "" }, t("stock.no_supplier")),
    suppliers.map((s) => h("option", { value: s.id }, `${s.name} (${s.id})`)));
  const documentNo = h("input", { name: "document", maxlength: 64 });
  const status = h("div", { id: "receive-status" });
  const read = () => {
    const body = [];
    for (const [index, line] of [...lines.children].entries()) {
      const value = (name) => line.querySelector(`[name=${name}]`).value.trim();
      if (!value("sku")) continue;
      const quantity = parseQuantity(value("quantity"));
      const cost = parseAmount(value("unit_cost"), shop.exponent);
      const bad = !quantity ? "stock.bad_quantity" : cost === null ? "stock.bad_cost" : null;
      if (bad) throw new Error(t("stock.bad_line", { n: index + 1, what: t(bad) }));
      body.push({ sku: value("sku"), quantity, unit_cost: cost });
    }
    if (!body.length) throw new Error(t("stock.no_lines"));
    return body;
  };
  const submit = (event) => {
    event.preventDefault();
    return attempt(status, async () => {
      const done = await call("POST", "/stock/receive", { lines: read(), supplier: supplier.value, document: documentNo.value.trim() });
      const unit = (sku) => bySku.get(sku)?.unit || "piece";
      clear(status, notice("ok", t("stock.received", { n: done.lines.length })), alertNotices(done.stock_alerts),
        table([
          { title: "SKU", value: (l) => l.sku },
          { title: t("stock.quantity"), numeric: true, value: (l) => formatQuantity(l.quantity, unit(l.sku)) },
          { title: t("stock.cost_before"), numeric: true, value: (l) => formatAmount(l.cost_before, shop.exponent) },
          { title: t("stock.cost_after"), numeric: true, value: (l) => formatAmount(l.cost_after, shop.exponent) },
          { title: t("col.on_hand"), numeric: true, value: (l) => formatQuantity(l.on_hand, unit(l.sku)) },
        ], done.lines));
      clear(lines);
      addLine();
      documentNo.value = "";
    });
  };
  addLine(arg);
  layout(page, "receive", operator, skuList(products),
    h("form", { class: "card", onsubmit: submit },
      lines,
      h("p", {}, h("button", { type: "button", onclick: () => addLine() }, t("stock.add_line"))),
      h("div", { class: "grid" }, field(t("stock.supplier"), supplier), field(t("stock.document"), documentNo)),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("stock.book_in")))),
    status);
}

async function adjust(page, { operator, arg }) {
  if (!may(operator, "supervisor")) {
    layout(page, "adjust", operator, notice("error", t("stock.needs_supervisor")));
    return;
  }
  const products = await get("/products?limit=1000");
  const sku = h("input", { name: "sku", list: "stock-skus", value: arg || "", required: true, maxlength: 64, autocomplete: "off" });
  const change = h("input", { name: "quantity", inputmode: "decimal", required: true });
  const reason = h("select", { name: "reason" }, REASONS.map((r) => h("option", { value: r }, t(`stock.reason.${r}`))));
  const note = h("input", { name: "note", maxlength: 200 });
  const status = h("div", { id: "adjust-status" });
  const submit = (event) => {
    event.preventDefault();
    return attempt(status, async () => {
      const quantity = parseQuantity(change.value, true);
      if (!quantity) throw new Error(t("stock.bad_change"));
      const done = await call("POST", "/stock/adjust", { sku: sku.value.trim(), quantity, reason: reason.value, note: note.value.trim() });
      const unit = products.find((p) => p.sku === done.sku)?.unit || "piece";
      clear(status, notice("ok", t("stock.adjusted", { name: done.sku, change: signedQuantity(done.quantity, unit),
        on_hand: formatQuantity(done.on_hand, unit) })), alertNotices(done.stock_alerts));
      change.value = "";
      note.value = "";
    });
  };
  layout(page, "adjust", operator, skuList(products),
    h("form", { class: "card grid", onsubmit: submit },
      field("SKU", sku), field(t("stock.change"), change, t("stock.change_hint")), field(t("stock.reason"), reason),
      field(t("stock.note"), note), status,
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("stock.do_adjust")))));
}

async function count(page, context, message) {
  const { shop, operator } = context;
  const { session, lines } = await get("/stock/count");
  const status = h("div", { id: "count-status" }, message);
  const again = (text) => count(page, context, notice("ok", text));
  if (!session) {
    const scope = h("input", { name: "category", maxlength: 64, list: "stock-categories", autocomplete: "off" });
    const blind = h("input", { type: "checkbox", name: "blind" });
    const start = (event) => {
      event.preventDefault();
      return attempt(status, async () => {
        const opened = await call("POST", "/stock/count/open", { category: scope.value.trim(), blind: blind.checked });
        await again(t("stock.opened", { id: opened.id }));
      });
    };
    layout(page, "count", operator, await categoryList(), status, h("section", { class: "card" },
      h("p", {}, t("stock.count_none")),
      h("form", { class: "grid", onsubmit: start },
        field(t("stock.count_scope"), scope, t("stock.count_scope_hint")),
        h("label", { class: "check" }, blind, " ", t("stock.blind")),
        h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("stock.count_open"))))));
    return;
  }
  const inputs = new Map(lines.map((l) => [l.sku, h("input", { class: "short", inputmode: "decimal", "aria-label": `${t("stock.add_count")} ${l.sku}` })]));
  const save = (event) => {
    event.preventDefault();
    return attempt(status, async () => {
      const entries = [];
      for (const [sku, input] of inputs) {
        if (!input.value.trim()) continue;
        const quantity = parseQuantity(input.value);
        if (quantity === null) throw new Error(t("stock.bad_count", { sku }));
        entries.push({ sku, quantity });
      }
      if (!entries.length) throw new Error(t("stock.no_counts"));
      await call("POST", "/stock/count/enter", { entries });
      await again(t("stock.counts_saved", { n: entries.length }));
    });
  };
  const review = may(operator, "supervisor") ? h("section", { class: "card" },
    h("button", { type: "button", onclick: () => attempt(status, () => showVariance(review, shop, again)) },
      t("stock.show_variance"))) : h("p", { class: "muted" }, t("stock.supervisor_applies"));
  layout(page, "count", operator,
    h("h2", {}, t("stock.count_title", { id: session.id }), " ",
      session.blind ? h("span", { class: "badge" }, t("stock.blind_badge")) : null),
    h("p", { class: "muted" }, `${session.scope || t("stock.count_all")} · `,
      t("stock.count_since", { at: at(session.opened_at), by: session.opened_by })),
    status,
    h("form", { class: "card", onsubmit: save },
      h("p", { class: "muted" }, t("stock.count_hint")),
      table([
        { title: "SKU", value: (l) => l.sku },
        { title: t("col.name"), value: (l) => l.name },
        session.blind ? null : { title: t("stock.expected"), numeric: true, value: (l) => formatQuantity(l.expected, l.unit) },
        { title: t("stock.counted_so_far"), numeric: true, value: (l) => (l.counted === null ? "–" : formatQuantity(l.counted, l.unit)) },
        { title: t("stock.add_count"), numeric: true, value: (l) => inputs.get(l.sku) },
      ].filter(Boolean), lines),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("stock.save_counts")))),
    review);
}

// The variance is the confirmation: apply and cancel are offered only once it is on screen.
async function showVariance(section, shop, again) {
  const variance = await get("/stock/count/variance");
  const money = (v) => formatAmount(v, shop.exponent);
  const status = h("div");
  const finish = (path, text) => attempt(status, async () => again(text(await call("POST", path, {}))));
  clear(section,
    h("h2", {}, t("stock.variance")),
    table([
      { title: "SKU", value: (v) => v.sku },
      { title: t("col.name"), value: (v) => v.name },
      { title: t("stock.expected"), numeric: true, value: (v) => formatQuantity(v.expected, v.unit) },
      { title: t("stock.counted"), numeric: true, value: (v) => formatQuantity(v.counted, v.unit) },
      { title: t("stock.variance"), numeric: true, value: (v) => h("span", { class: v.variance < 0 ? "bad" : "" }, signedQuantity(v.variance, v.unit)) },
      { title: t("stock.value"), numeric: true, value: (v) => money(v.value) },
    ], variance.lines, { empty: t("stock.variance_none") }),
    h("p", { class: "total" }, t("stock.variance_total", { value: money(variance.value) })),
    status,
    h("div", { class: "toolbar" },
      h("button", { type: "button", class: "primary", onclick: () => finish("/stock/count/apply", (done) => t("stock.applied", {
        id: done.id, n: done.lines.filter((l) => l.variance).length, value: money(done.variance_value) })) }, t("stock.apply")),
      h("button", { type: "button", onclick: () => finish("/stock/count/cancel", (done) => t("stock.cancelled", { id: done.id })) },
        t("stock.cancel"))));
}

async function reorder(page, { operator }) {
  const [suppliers, alerts] = await Promise.all([get("/stock/suppliers"), get("/stock/alerts")]);
  const supplier = h("select", { "aria-label": t("stock.supplier") }, h("option", { value: "" }, t("stock.all_suppliers")),
    suppliers.map((s) => h("option", { value: s.id }, `${s.name} (${s.id})`)));
  const results = h("div");
  const names = new Map(suppliers.map((s) => [s.id, s.name]));
  const load = async () => {
    const wanted = await get("/stock/reorder" + query({ supplier: supplier.value }));
    clear(results, table([
      { title: t("stock.supplier"), value: (s) => names.get(s.supplier_id) || s.supplier_id },
      { title: "SKU", value: (s) => s.sku },
      { title: t("col.name"), value: (s) => s.name },
      { title: t("col.on_hand"), numeric: true, value: (s) => formatQuantity(s.on_hand, s.unit) },
      { title: t("col.reorder_point"), numeric: true, value: (s) => formatQuantity(s.point, s.unit) },
      { title: t("stock.order_up_to"), numeric: true, value: (s) => formatQuantity(s.order_up_to, s.unit) },
      { title: t("stock.order_qty"), numeric: true, value: (s) => h("strong", {}, formatQuantity(s.quantity, s.unit)) },
    ], wanted, { empty: t("stock.nothing_to_order"), onRow: (s) => { location.hash = `#/stock/receive/${enc(s.sku)}`; } }));
  };
  supplier.addEventListener("change", () => attempt(results, load));
  layout(page, "reorder", operator,
    h("section", { class: "card" }, h("h2", {}, t("stock.to_order")), h("div", { class: "toolbar" }, supplier), results),
    h("section", { class: "card", id: "stock-alerts" },
      h("h2", {}, t("stock.alerts"), " ", h("span", { class: alerts.length ? "badge warn" : "badge" }, alerts.length)),
      table([
        { title: "SKU", value: (a) => a.sku },
        { title: t("col.name"), value: (a) => a.name },
        { title: t("col.on_hand"), numeric: true, value: (a) => formatQuantity(a.on_hand, a.unit) },
        { title: t("col.reorder_point"), numeric: true, value: (a) => formatQuantity(a.point, a.unit) },
        { title: t("stock.since"), value: (a) => at(a.raised_at) },
      ], alerts, { empty: t("stock.no_alerts") })));
  await load();
}

const VIEWS = { "": levels, receive, adjust, count, reorder };

export async function render(page, [sub = "", arg], { shop, operator }) {
  zone = shop.zone;
  await (VIEWS[sub] || levels)(page, { shop, operator, arg });
}
