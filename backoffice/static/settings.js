// Settings: shop details (a manager may change them; they are saved to the configuration file and take effect
// when the till restarts), taxes and the rest of the configuration (read-only, with the file and key a technician
// changes), operators and roles, the shop's promotions, and the devices with a printer test page.

import { call, get } from "./api.js";
import { clear, field, h, notice, table, when } from "./dom.js";
import { addStrings, t } from "./i18n.js";
import { formatAmount, formatBp, parseAmount } from "./money.js";

addStrings({
  en: {
    "settings.tab.shop": "Shop and taxes", "settings.tab.operators": "Operators and roles",
    "settings.tab.promotions": "Promotions", "settings.tab.devices": "Devices",
    "settings.where": "From the configuration file {file}. Only a technician changes the other settings, there.",
    "settings.problem": "The configuration file cannot be read or changed here: {problem}",
    "settings.shop": "Shop details on every receipt", "settings.shop.name": "Shop name", "settings.shop.address": "Address",
    "settings.shop.tax_id": "Tax registration number", "settings.shop.phone": "Phone", "settings.shop.footer": "Receipt footer",
    "settings.pending": "Saved: prints from the next restart of the till. Now: {value}",
    "settings.restart": "Saved to {file}. The till prints the new details after its next restart (at the end of the day).",
    "settings.unchanged": "Nothing was changed.",
    "settings.tax": "Taxes", "settings.tax.how": "Set by a technician in [tax] of the configuration file.",
    "settings.tax.mode": "Prices", "settings.tax.mode.inclusive": "include tax", "settings.tax.mode.exclusive": "exclude tax (added at the total)",
    "settings.tax.rounding": "Tax rounding", "settings.tax.rounding.line": "on each line", "settings.tax.rounding.total": "once per rate on the total",
    "settings.tax.class": "Tax class", "settings.tax.rate": "Rate", "settings.tax.default": "default",
    "settings.other": "Other settings (read-only)", "settings.key": "Key", "settings.value": "Value", "settings.doc": "What it does",
    "settings.yes": "yes", "settings.no": "no", "settings.empty": "(empty)",
    "settings.op.code": "Code", "settings.op.role": "Role", "settings.op.status": "Status", "settings.op.active": "active",
    "settings.op.locked": "locked out", "settings.op.unlock": "Unlock", "settings.op.unlocked": "{name} is unlocked.",
    "settings.op.none": "No operators yet.", "settings.op.add": "Add an operator", "settings.op.pin": "PIN (4 to 8 digits)",
    "settings.op.pin2": "PIN again", "settings.op.pin_mismatch": "The two PINs differ.",
    "settings.op.code_hint": "1 to 8 digits, typed at the till to sign in",
    "settings.op.added": "{name} ({code}) is added as {role} and can sign in at the till now.",
    "settings.roles": "What each role may do", "settings.roles.hint": "Anything above an operator's role needs a supervisor's or manager's code and PIN at the till.",
    "settings.roles.action": "Action",
    "settings.promo.current": "Current and coming", "settings.promo.past": "Ended", "settings.promo.none": "None.",
    "settings.promo.kind": "Kind", "settings.promo.what": "Offer", "settings.promo.period": "Period", "settings.promo.status": "Status",
    "settings.promo.kind.timed_price": "Special price", "settings.promo.kind.multi_price": "Multi-buy price",
    "settings.promo.kind.buy_get": "Buy N get M free", "settings.promo.kind.category_percent": "Category discount",
    "settings.promo.status.running": "running", "settings.promo.status.scheduled": "scheduled", "settings.promo.status.ended": "ended",
    "settings.promo.status.withdrawn": "withdrawn", "settings.promo.status.unusable": "not applied",
    "settings.promo.timed_price": "{sku} at {price}", "settings.promo.multi_price": "any {n} of {skus} for {price}",
    "settings.promo.buy_get": "buy {buy} get {get} free: {skus}", "settings.promo.category_percent": "{percent} off {category}",
    "settings.promo.members": "members only", "settings.promo.open": "until ended", "settings.promo.now": "now",
    "settings.promo.end": "End now", "settings.promo.confirm": "End it now", "settings.promo.keep": "Keep",
    "settings.promo.ended": "{name} has ended: the till no longer applies it.",
    "settings.promo.new": "New promotion", "settings.promo.name": "Name on the receipt", "settings.promo.sku": "SKU",
    "settings.promo.skus": "SKUs", "settings.promo.skus_hint": "several: separate with spaces",
    "settings.promo.price": "Promotion price", "settings.promo.n": "Number of items", "settings.promo.buy": "Buy",
    "settings.promo.get": "Get free", "settings.promo.category": "Category", "settings.promo.percent": "Discount (%)",
    "settings.promo.first_day": "First day", "settings.promo.last_day": "Last day",
    "settings.promo.days_hint": "empty: from now / until ended", "settings.promo.members_only": "Members only",
    "settings.promo.bad_number": "Prices are amounts like 12.50; the discount is a percentage like 10 or 12.5.",
    "settings.promo.saved": "{name} is saved as {id}; the till applies it from now on.",
    "settings.dev.kind": "Kind", "settings.dev.address": "Address", "settings.dev.required": "Required",
    "settings.dev.status": "Status", "settings.dev.online": "working", "settings.dev.offline": "offline",
    "settings.dev.how": "Devices are set by a technician in [devices] of the configuration file; appliance doctor checks them.",
    "settings.dev.kind.scanner": "barcode scanner", "settings.dev.kind.keypad": "keypad", "settings.dev.kind.card_reader": "card reader",
    "settings.dev.kind.stripe_reader": "magnetic stripe reader", "settings.dev.kind.scale": "scale", "settings.dev.kind.printer": "receipt printer",
    "settings.dev.kind.drawer": "cash drawer", "settings.dev.kind.display": "customer display", "settings.dev.kind.indicator": "lights and beeper",
    "settings.dev.test": "Print a test page", "settings.dev.printed": "The test page was sent to the receipt printer.",
    "settings.perm.return": "Return with a receipt", "settings.perm.return.without_receipt": "Return without a receipt",
    "settings.perm.return.late": "Return after the return period", "settings.perm.return.to_cash": "Refund in cash a sale paid otherwise",
    "settings.perm.discount.over_limit": "Discount above the limit", "settings.perm.price.override_over_limit": "Price change above the limit",
    "settings.perm.sale.cancel": "Cancel a sale", "settings.perm.sale.post_void": "Void a completed sale",
    "settings.perm.shift.open": "Open a shift", "settings.perm.shift.x_report": "X report", "settings.perm.shift.close": "Close a shift (Z report)",
    "settings.perm.cash.paid_in": "Cash paid in", "settings.perm.cash.paid_out": "Cash paid out",
    "settings.perm.drawer.no_sale": "Open the drawer without a sale", "settings.perm.operator.unlock": "Unlock an operator",
    "settings.perm.operator.manage": "Add operators", "settings.perm.catalog.import": "Import the catalog",
    "settings.perm.stock.receive": "Receive deliveries", "settings.perm.stock.count": "Count stock",
    "settings.perm.stock.adjust": "Adjust stock", "settings.perm.stock.manage": "Manage suppliers and reorder points",
    "settings.perm.member.edit": "Add and edit members", "settings.perm.member.top_up": "Top up stored value",
    "settings.perm.points.adjust": "Adjust points", "settings.perm.coupon.issue": "Issue coupons",
    "settings.perm.member.export": "Export members' data", "settings.perm.member.erase": "Erase a member",
  },
  zh: {
    "settings.tab.shop": "门店与税率", "settings.tab.operators": "员工与角色", "settings.tab.promotions": "促销",
    "settings.tab.devices": "设备",
    "settings.where": "来自配置文件 {file}。其他设置只能由技术人员在该文件中修改。",
    "settings.problem": "无法在此读取或修改配置文件：{problem}",
    "settings.shop": "小票上的门店信息", "settings.shop.name": "门店名称", "settings.shop.address": "地址",
    "settings.shop.tax_id": "纳税人识别号", "settings.shop.phone": "电话", "settings.shop.footer": "小票结尾语",
    "settings.pending": "已保存：收银机下次重启后打印。当前：{value}",
    "settings.restart": "已保存到 {file}。收银机下次重启（建议在营业结束后）起打印新的门店信息。",
    "settings.unchanged": "没有任何修改。",
    "settings.tax": "税率", "settings.tax.how": "由技术人员在配置文件的 [tax] 中设置。",
    "settings.tax.mode": "售价", "settings.tax.mode.inclusive": "含税", "settings.tax.mode.exclusive": "不含税（结账时加税）",
    "settings.tax.rounding": "税额舍入", "settings.tax.rounding.line": "逐行舍入", "settings.tax.rounding.total": "按税率在合计上舍入一次",
    "settings.tax.class": "税类", "settings.tax.rate": "税率", "settings.tax.default": "默认",
    "settings.other": "其他设置（只读）", "settings.key": "配置项", "settings.value": "值", "settings.doc": "说明",
    "settings.yes": "是", "settings.no": "否", "settings.empty": "（空）",
    "settings.op.code": "编号", "settings.op.role": "角色", "settings.op.status": "状态", "settings.op.active": "正常",
    "settings.op.locked": "已锁定", "settings.op.unlock": "解锁", "settings.op.unlocked": "{name} 已解锁。",
    "settings.op.none": "还没有员工。", "settings.op.add": "添加员工", "settings.op.pin": "密码（4 至 8 位数字）",
    "settings.op.pin2": "再次输入密码", "settings.op.pin_mismatch": "两次输入的密码不一致。",
    "settings.op.code_hint": "1 至 8 位数字，在收银机上登录时输入",
    "settings.op.added": "已添加{role} {name}（{code}），现在即可在收银机上登录。",
    "settings.roles": "各角色的权限", "settings.roles.hint": "超出员工角色的操作，需要主管或店长在收银机上输入编号和密码批准。",
    "settings.roles.action": "操作",
    "settings.promo.current": "进行中与即将开始", "settings.promo.past": "已结束", "settings.promo.none": "无。",
    "settings.promo.kind": "类型", "settings.promo.what": "优惠内容", "settings.promo.period": "时间", "settings.promo.status": "状态",
    "settings.promo.kind.timed_price": "限时特价", "settings.promo.kind.multi_price": "任选组合价",
    "settings.promo.kind.buy_get": "买赠", "settings.promo.kind.category_percent": "类别折扣",
    "settings.promo.status.running": "进行中", "settings.promo.status.scheduled": "未开始", "settings.promo.status.ended": "已结束",
    "settings.promo.status.withdrawn": "已撤回", "settings.promo.status.unusable": "未生效",
    "settings.promo.timed_price": "{sku} 特价 {price}", "settings.promo.multi_price": "{skus} 任选 {n} 件 {price}",
    "settings.promo.buy_get": "买 {buy} 送 {get}：{skus}", "settings.promo.category_percent": "{category} 减 {percent}",
    "settings.promo.members": "仅限会员", "settings.promo.open": "直至结束", "settings.promo.now": "立即",
    "settings.promo.end": "立即结束", "settings.promo.confirm": "确认结束", "settings.promo.keep": "保留",
    "settings.promo.ended": "{name} 已结束，收银机不再使用。",
    "settings.promo.new": "新建促销", "settings.promo.name": "小票上的名称", "settings.promo.sku": "货号",
    "settings.promo.skus": "货号", "settings.promo.skus_hint": "多个货号用空格分隔",
    "settings.promo.price": "促销价", "settings.promo.n": "件数", "settings.promo.buy": "买", "settings.promo.get": "送",
    "settings.promo.category": "类别", "settings.promo.percent": "折扣（%）",
    "settings.promo.first_day": "开始日期", "settings.promo.last_day": "结束日期",
    "settings.promo.days_hint": "留空：立即开始／直至手动结束", "settings.promo.members_only": "仅限会员",
    "settings.promo.bad_number": "价格须为金额，如 12.50；折扣为百分比，如 10 或 12.5。",
    "settings.promo.saved": "{name} 已保存为 {id}，收银机即刻生效。",
    "settings.dev.kind": "类型", "settings.dev.address": "地址", "settings.dev.required": "必需",
    "settings.dev.status": "状态", "settings.dev.online": "正常", "settings.dev.offline": "离线",
    "settings.dev.how": "设备由技术人员在配置文件的 [devices] 中设置；可用 appliance doctor 检查。",
    "settings.dev.kind.scanner": "扫码枪", "settings.dev.kind.keypad": "键盘", "settings.dev.kind.card_reader": "读卡器",
    "settings.dev.kind.stripe_reader": "磁条读卡器", "settings.dev.kind.scale": "电子秤", "settings.dev.kind.printer": "小票打印机",
    "settings.dev.kind.drawer": "钱箱", "settings.dev.kind.display": "顾客显示屏", "settings.dev.kind.indicator": "指示灯与蜂鸣器",
    "settings.dev.test": "打印测试页", "settings.dev.printed": "测试页已发送到小票打印机。",
    "settings.perm.return": "凭小票退货", "settings.perm.return.without_receipt": "无小票退货",
    "settings.perm.return.late": "超过退货期限退货", "settings.perm.return.to_cash": "非现金支付的交易退现金",
    "settings.perm.discount.over_limit": "超过限额的折扣", "settings.perm.price.override_over_limit": "超过限额的改价",
    "settings.perm.sale.cancel": "取消交易", "settings.perm.sale.post_void": "撤销已完成的交易",
    "settings.perm.shift.open": "开班", "settings.perm.shift.x_report": "X 报表", "settings.perm.shift.close": "交班（Z 报表）",
    "settings.perm.cash.paid_in": "现金存入", "settings.perm.cash.paid_out": "现金支出",
    "settings.perm.drawer.no_sale": "无交易开钱箱", "settings.perm.operator.unlock": "解锁员工",
    "settings.perm.operator.manage": "添加员工", "settings.perm.catalog.import": "导入商品",
    "settings.perm.stock.receive": "收货", "settings.perm.stock.count": "盘点",
    "settings.perm.stock.adjust": "调整库存", "settings.perm.stock.manage": "管理供应商与补货点",
    "settings.perm.member.edit": "添加和编辑会员", "settings.perm.member.top_up": "储值充值",
    "settings.perm.points.adjust": "调整积分", "settings.perm.coupon.issue": "发放优惠券",
    "settings.perm.member.export": "导出会员资料", "settings.perm.member.erase": "删除会员",
  },
});

const TABS = ["shop", "operators", "promotions", "devices"];
const RANK = { cashier: 0, supervisor: 1, manager: 2 };
const SHOP_KEYS = ["name", "address", "tax_id", "phone", "footer"];

// A configuration value as a person reads it (the file's own spelling: "13%", true, lists).
function shown(value) {
  if (typeof value === "boolean") return value ? t("settings.yes") : t("settings.no");
  if (Array.isArray(value)) return value.map(shown).join(", ");
  if (value && typeof value === "object") return Object.entries(value).map(([k, v]) => `${k} = ${shown(v)}`).join(", ");
  return value === "" ? t("settings.empty") : String(value);
}

const keyOf = (e) => h("code", { class: "key" }, `[${e.section}] ${e.key}`);

function shopCard(entries, data, operator, done) {
  const editable = operator.role === "manager" && entries.every((e) => e.editable);
  const status = h("div");
  const inputs = {};
  const rows = entries.map((e) => {
    const now = e.saved === null ? e.value : e.saved;
    const hint = [e.doc, " ", keyOf(e), e.saved === null ? null : h("span", { class: "warn" }, " ", t("settings.pending", { value: e.value }))];
    if (!editable) return field(t(`settings.shop.${e.key}`), h("strong", {}, shown(now)), hint);
    inputs[e.key] = h("input", { name: e.key, value: now });
    return field(t(`settings.shop.${e.key}`), inputs[e.key], hint);
  });
  const save = async (event) => {
    event.preventDefault();
    const changes = {};
    for (const e of entries) {
      const value = inputs[e.key].value.trim();
      if (value !== (e.saved === null ? e.value : e.saved)) changes[e.key] = value;
    }
    if (!Object.keys(changes).length) {
      clear(status, notice("ok", t("settings.unchanged")));
      return;
    }
    try {
      await call("PUT", "/settings/shop", changes);
      await done(notice("ok", t("settings.restart", { file: data.file })));
    } catch (error) {
      clear(status, notice("error", error.message));
    }
  };
  return h(editable ? "form" : "section", { class: "card grid", id: "shop", onsubmit: editable ? save : undefined },
    h("h2", {}, t("settings.shop")), rows, status,
    editable ? h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("save"))) : null);
}

function taxCard(entries) {
  const entry = Object.fromEntries(entries.map((e) => [e.key, e]));
  const value = Object.fromEntries(entries.map((e) => [e.key, e.value]));
  const about = (key) => h("td", { class: "doc" }, keyOf(entry[key]), " ", h("small", {}, entry[key].doc));
  const row = (label, text, key) => h("tr", {}, h("th", {}, label), h("td", {}, text), about(key));
  return h("section", { class: "card", id: "taxes" },
    h("h2", {}, t("settings.tax")),
    h("p", { class: "muted" }, t("settings.tax.how")),
    h("div", { class: "scroll" }, h("table", { class: "pairs" }, h("tbody", {},
      row(t("settings.tax.mode"), t(`settings.tax.mode.${value.mode}`, {}, value.mode), "mode"),
      row(t("settings.tax.rounding"), t(`settings.tax.rounding.${value.rounding}`, {}, value.rounding), "rounding")))),
    table([
      { title: t("settings.tax.class"), value: ([name]) => [name, name === value.default_class ? [" ", h("span", { class: "badge" }, t("settings.tax.default"))] : null] },
      { title: t("settings.tax.rate"), numeric: true, value: ([, rate]) => rate },
    ], Object.entries(value.classes)),
    h("p", {}, keyOf(entry.classes), " ", h("small", {}, entry.classes.doc)));
}

async function general(body, { operator }, message) {
  const data = await get("/settings");
  const of = (section) => data.entries.filter((e) => e.section === section);
  const done = (note) => general(body, { operator }, note);
  clear(body,
    message,
    data.problem ? notice("error", t("settings.problem", { problem: data.problem }))
      : h("p", { class: "muted" }, t("settings.where", { file: data.file })),
    shopCard(of("shop"), data, operator, done),
    taxCard(of("tax")),
    h("section", { class: "card", id: "other" }, h("h2", {}, t("settings.other")),
      table([
        { title: t("settings.key"), value: keyOf },
        { title: t("settings.value"), value: (e) => [shown(e.value), e.saved === null ? null : h("small", { class: "warn" }, " → ", shown(e.saved))] },
        { title: t("settings.doc"), value: (e) => h("small", {}, e.doc) },
      ], data.entries.filter((e) => e.section !== "shop" && e.section !== "tax"))));
}

async function operators(body, { operator }, message) {
  const [list, roles] = await Promise.all([get("/operators"), get("/roles")]);
  const done = (note) => operators(body, { operator }, note);
  const status = h("div");
  const unlock = async (o) => {
    try {
      await call("POST", `/operators/${encodeURIComponent(o.code)}/unlock`, {});
      await done(notice("ok", t("settings.op.unlocked", { name: o.name })));
    } catch (error) {
      clear(status, notice("error", error.message));
    }
  };
  clear(body,
    message, status,
    h("section", { class: "card", id: "operators" },
      table([
        { title: t("settings.op.code"), value: (o) => o.code },
        { title: t("col.name"), value: (o) => o.name },
        { title: t("settings.op.role"), value: (o) => t(`role.${o.role}`) },
        { title: t("settings.op.status"), value: (o) => (o.locked
          ? [h("span", { class: "badge warn" }, t("settings.op.locked")), " ",
             h("button", { type: "button", onclick: () => unlock(o) }, t("settings.op.unlock"))]
          : t("settings.op.active")) },
      ], list, { empty: t("settings.op.none") })),
    operator.role === "manager" ? addOperator(done) : null,
    h("section", { class: "card", id: "roles" },
      h("h2", {}, t("settings.roles")),
      h("p", { class: "muted" }, t("settings.roles.hint")),
      table([
        { title: t("settings.roles.action"), value: (p) => t(`settings.perm.${p.action}`, {}, p.action) },
        ...roles.roles.map((role) => ({ title: t(`role.${role}`), value: (p) => (RANK[role] >= RANK[p.role] ? "✓" : "") })),
      ], roles.permissions)));
}

function addOperator(done) {
  const code = h("input", { name: "code", inputmode: "numeric", pattern: "[0-9]{1,8}", maxlength: 8, required: true });
  const name = h("input", { name: "name", maxlength: 64, required: true });
  const role = h("select", { name: "role" }, Object.keys(RANK).map((r) => h("option", { value: r }, t(`role.${r}`))));
  const pin = () => h("input", { type: "password", inputmode: "numeric", pattern: "[0-9]{4,8}", maxlength: 8,
    autocomplete: "new-password", required: true });
  const [pin1, pin2] = [pin(), pin()];
  pin1.name = "pin";
  pin2.name = "pin2";
  const status = h("div");
  const submit = async (event) => {
    event.preventDefault();
    if (pin1.value !== pin2.value) {
      clear(status, notice("error", t("settings.op.pin_mismatch")));
      return;
    }
    try {
      const added = await call("POST", "/operators",
        { code: code.value.trim(), name: name.value.trim(), role: role.value, pin: pin1.value });
      await done(notice("ok", t("settings.op.added", { name: added.name, code: added.code, role: t(`role.${added.role}`) })));
    } catch (error) {
      clear(status, notice("error", error.message));
    } finally {
      pin1.value = pin2.value = "";
    }
  };
  return h("form", { class: "card grid", id: "add-operator", onsubmit: submit },
    h("h2", {}, t("settings.op.add")),
    field(t("settings.op.code"), code, t("settings.op.code_hint")), field(t("col.name"), name),
    field(t("settings.op.role"), role), h("span"),
    field(t("settings.op.pin"), pin1), field(t("settings.op.pin2"), pin2),
    status,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("settings.op.add"))));
}


const percent = (bp) => formatBp(bp).replace(/\.?0+%$/, "%"); // 1000 -> "10%", 1250 -> "12.5%"

function offer(p, shop) {
  if (p.status === "unusable") return h("span", { class: "bad" }, p.problem);
  const q = p.params;
  const money = (v) => formatAmount(v, shop.exponent);
  return t(`settings.promo.${p.kind}`, { sku: q.sku, skus: (q.skus || []).join(", "), n: q.n, buy: q.buy, get: q.get,
    category: q.category, price: q.price === undefined ? "" : money(q.price), percent: percent(q.percent) });
}

function promotionTable(list, shop, zone, canEnd, end) {
  return table([
    { title: t("col.name"), value: (p) => [p.name, p.members_only ? [" ", h("span", { class: "badge" }, t("settings.promo.members"))] : null] },
    { title: t("settings.promo.kind"), value: (p) => t(`settings.promo.kind.${p.kind}`, {}, p.kind) },
    { title: t("settings.promo.what"), value: (p) => offer(p, shop) },
    { title: t("settings.promo.period"), value: (p) => [when(p.starts_at, zone, t("settings.promo.now")), h("br"), "– ", when(p.ends_at, zone, t("settings.promo.open"))] },
    { title: t("settings.promo.status"), value: (p) => {
      const badge = h("span", { class: p.status === "running" ? "badge ok" : "badge" }, t(`settings.promo.status.${p.status}`));
      if (!canEnd || !["running", "scheduled"].includes(p.status)) return badge;
      const slot = h("span");
      const ask = () => clear(slot,
        h("button", { type: "button", class: "danger", onclick: () => end(p) }, t("settings.promo.confirm")), " ",
        h("button", { type: "button", onclick: () => clear(slot, first()) }, t("settings.promo.keep")));
      const first = () => h("button", { type: "button", onclick: ask }, t("settings.promo.end"));
      return [badge, " ", clear(slot, first())];
    } },
  ], list, { empty: t("settings.promo.none") });
}

async function promotions(body, { shop, operator }, message) {
  const [list, settings] = await Promise.all([get("/promotions"), get("/settings")]);
  const zone = settings.entries.find((e) => e.section === "time" && e.key === "zone").value;
  const done = (note) => promotions(body, { shop, operator }, note);
  const status = h("div");
  const manager = operator.role === "manager";
  const end = async (p) => {
    try {
      await call("POST", `/promotions/${encodeURIComponent(p.id)}/end`, {});
      await done(notice("ok", t("settings.promo.ended", { name: p.name })));
    } catch (error) {
      clear(status, notice("error", error.message));
    }
  };
  const past = (p) => p.status === "ended" || p.status === "withdrawn";
  clear(body,
    message, status,
    h("section", { class: "card", id: "promotions" }, h("h2", {}, t("settings.promo.current")),
      promotionTable(list.filter((p) => !past(p)), shop, zone, manager, end)),
    manager ? newPromotion(shop, done) : null,
    h("section", { class: "card", id: "ended" }, h("h2", {}, t("settings.promo.past")),
      promotionTable(list.filter(past), shop, zone, false, end)));
}

// The fields each kind of promotion takes, as the API names them.
const KIND_FIELDS = {
  timed_price: ["sku", "price"],
  multi_price: ["skus", "n", "price"],
  buy_get: ["skus", "buy", "get"],
  category_percent: ["category", "percent"],
};

function newPromotion(shop, done) {
  const inputs = {
    sku: h("input", { name: "sku", maxlength: 32, required: true }),
    skus: h("input", { name: "skus", required: true }),
    price: h("input", { name: "price", inputmode: "decimal", required: true }),
    n: h("input", { name: "n", type: "number", min: 2, max: 1000, value: 3, required: true }),
    buy: h("input", { name: "buy", type: "number", min: 1, max: 1000, value: 2, required: true }),
    get: h("input", { name: "get", type: "number", min: 1, max: 1000, value: 1, required: true }),
    category: h("input", { name: "category", maxlength: 64, required: true }),
    percent: h("input", { name: "percent", inputmode: "decimal", required: true }),
  };
  const hints = { skus: t("settings.promo.skus_hint") };
  const kind = h("select", { name: "kind" }, Object.keys(KIND_FIELDS).map((k) => h("option", { value: k }, t(`settings.promo.kind.${k}`))));
  const name = h("input", { name: "name", maxlength: 64, required: true });
  const first = h("input", { name: "first_day", type: "date" });
  const last = h("input", { name: "last_day", type: "date" });
  const members = h("input", { name: "members_only", type: "checkbox" });
  const params = h("div", { class: "grid" });
  const showKind = () => clear(params, KIND_FIELDS[kind.value].map((key) => field(t(`settings.promo.${key}`), inputs[key], hints[key])));
  kind.addEventListener("change", showKind);
  showKind();
  const status = h("div");
  const read = (key) => {
    const text = inputs[key].value;
    if (key === "skus") return text.split(/[\s,]+/).filter(Boolean);
    if (key === "sku" || key === "category") return text.trim();
    if (key === "price") return parseAmount(text, shop.exponent);
    if (key === "percent") return parseAmount(text, 2);
    return Number(text);
  };
  const submit = async (event) => {
    event.preventDefault();
    const values = Object.fromEntries(KIND_FIELDS[kind.value].map((key) => [key, read(key)]));
    if (Object.values(values).some((v) => v === null)) {
      clear(status, notice("error", t("settings.promo.bad_number")));
      return;
    }
    const request = { kind: kind.value, name: name.value.trim(), params: values, members_only: members.checked };
    if (first.value) request.first_day = first.value;
    if (last.value) request.last_day = last.value;
    try {
      const saved = await call("POST", "/promotions", request);
      await done(notice("ok", t("settings.promo.saved", { name: saved.name, id: saved.id })));
    } catch (error) {
      clear(status, notice("error", error.message));
    }
  };
  return h("form", { class: "card grid", id: "new-promotion", onsubmit: submit },
    h("h2", {}, t("settings.promo.new")),
    field(t("settings.promo.kind"), kind), field(t("settings.promo.name"), name),
    params,
    field(t("settings.promo.first_day"), first, t("settings.promo.days_hint")), field(t("settings.promo.last_day"), last),
    h("label", { class: "check" }, members, " ", t("settings.promo.members_only")),
    status,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("save"))));
}

async function devices(body) {
  const list = await get("/devices");
  const status = h("div");
  const testPage = async () => {
    try {
      await call("POST", "/devices/printer/test-page", {});
      clear(status, notice("ok", t("settings.dev.printed")));
    } catch (error) {
      clear(status, notice("error", error.message));
    }
  };
  clear(body,
    h("p", { class: "muted" }, t("settings.dev.how")),
    h("section", { class: "card", id: "devices" },
      table([
        { title: t("col.name"), value: (d) => d.name },
        { title: t("settings.dev.kind"), value: (d) => t(`settings.dev.kind.${d.kind}`, {}, d.kind) },
        { title: t("settings.dev.address"), value: (d) => h("code", {}, d.address) },
        { title: t("settings.dev.required"), value: (d) => (d.required ? t("settings.yes") : "") },
        { title: t("settings.dev.status"), value: (d) => (d.online
          ? h("span", { class: "ok" }, t("settings.dev.online"))
          : h("span", { class: d.required ? "bad" : "warn" }, t("settings.dev.offline"), d.last_error ? `: ${d.last_error}` : "")) },
      ], list)),
    list.some((d) => d.kind === "printer") ? h("div", { class: "toolbar" },
      h("button", { type: "button", id: "test-page", onclick: testPage }, t("settings.dev.test"))) : null,
    status);
}

const VIEWS = { shop: general, operators, promotions, devices };

export async function render(page, [tab], { shop, operator }) {
  const name = tab in VIEWS ? tab : "shop";
  const body = h("div");
  clear(page,
    h("h1", {}, t("nav.settings")),
    h("nav", { class: "tabs" }, TABS.map((key) =>
      h("a", { href: key === "shop" ? "#/settings" : `#/settings/${key}`, class: key === name ? "active" : "" }, t(`settings.tab.${key}`)))),
    body);
  await VIEWS[name](body, { shop, operator });
}
