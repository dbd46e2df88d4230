// Chinese and English. Chinese is the default for a browser set to Chinese; the choice
// is remembered on the device. Each page module adds its own strings with addStrings,
// so a page's words travel with the page.

const STRINGS = { zh: {}, en: {} };
const KEY = "pos.lang";

function stored() {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null; // storage refused (a locked-down in-app browser): the browser's language decides
  }
}

export function lang() {
  const chosen = stored();
  if (chosen === "zh" || chosen === "en") return chosen;
  return (navigator.languages || [navigator.language || "en"]).some((l) => /^zh\b/i.test(l)) ? "zh" : "en";
}

export function setLang(value) {
  try {
    localStorage.setItem(KEY, value);
  } catch {
    // not remembered on this device; the page still switches
  }
  document.documentElement.lang = value === "zh" ? "zh-CN" : "en";
}

export function addStrings(table) {
  for (const code of Object.keys(STRINGS)) Object.assign(STRINGS[code], table[code] || {});
}

// t("dash.sync", {pending: 3}) fills {pending}; an unknown key shows `fallback`, else the key itself.
export function t(key, vars = {}, fallback) {
  const text = STRINGS[lang()][key] ?? STRINGS.en[key] ?? fallback ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

addStrings({
  en: {
    "app.title": "Back office", loading: "Loading…", save: "Save",
    "signin.code": "Operator code", "signin.pin": "PIN", "signin.submit": "Sign in", "signin.out": "Sign out",
    "signin.ended": "Your session has ended: sign in again.",
    "nav.dashboard": "Dashboard", "nav.catalog": "Catalog", "nav.stock": "Stock", "nav.members": "Members",
    "nav.reports": "Reports", "nav.settings": "Settings",
    "role.manager": "manager", "role.supervisor": "supervisor", "role.cashier": "cashier",
    "unit.piece": "piece", "unit.kg": "kg (weighed)",
    "col.product": "Product", "col.name": "Name", "col.name_en": "English name", "col.category": "Category",
    "col.price": "Price", "col.cost": "Cost", "col.unit": "Unit", "col.barcodes": "Barcodes", "col.tax_class": "Tax class",
    "col.on_hand": "On hand", "col.reorder_point": "Reorder point", "col.day": "Business day",
    "dash.net": "Net sales today", "dash.baskets": "Baskets today", "dash.average": "Average basket",
    "dash.vs_last_week": "vs. same day last week", "dash.no_compare": "nothing to compare with last week",
    "dash.trend": "Sales, last 4 weeks", "dash.peak": "Busy hours, last 8 weeks", "dash.low_stock": "Low stock",
    "dash.no_alerts": "Nothing is running low.", "dash.health": "Till and head office",
    "dash.selling": "The till can sell.", "dash.not_selling": "The till cannot sell: a required device is missing.",
    "dash.offline": "offline", "dash.devices_ok": "All {n} devices work.",
    "dash.sync_off": "Not connected to a head office.", "dash.sync": "{pending} events wait for head office; last sent {at}.",
    "dash.never": "never",
    "catalog.search": "SKU, name or barcode", "catalog.new": "New product", "catalog.import": "Import CSV",
    "catalog.retired": "retired", "catalog.none": "No product matches.", "catalog.active": "On sale (untick to retire)",
    "catalog.bad_amount": "Price and cost are amounts like 12.50.", "catalog.saved": "Saved: {name} at {price}.",
    "catalog.barcodes_hint": "several: separate with spaces", "catalog.labels": "Shelf labels",
    "catalog.copies": "Copies", "catalog.print_labels": "Print on the receipt printer",
    "catalog.labels_done": "{n} label(s) printed.",
    "import.file": "Catalog file (CSV)", "import.columns": "Columns: sku, name, name_en, barcodes, plu, unit, price, cost, tax_class, category, active",
    "import.skip_bad": "Import the good rows and skip the bad ones", "import.done": "{applied} of {rows} rows imported.",
    "import.errors": "{n} problem(s)",
    "import.not_utf8": "This file is not UTF-8 text. In Excel or WPS, save it as \"CSV UTF-8\" and import it again.",
    "reports.chart": "chart", "reports.shifts": "Shifts and Z reports", "reports.unknown": "There is no report {name}.",
    "reports.from": "From", "reports.to": "To", "reports.show": "Show", "reports.csv": "Download CSV",
    "reports.empty": "Nothing in this period.", "reports.first_rows": "The first {n} rows; the CSV download has them all.",
    "shift.opened": "Opened", "shift.closed": "Closed", "shift.open": "open", "shift.none": "No shifts yet.",
    "shift.reprint": "Reprint (marked COPY)", "shift.reprinted": "Sent to the receipt printer.",
    "z.sales": "Sales", "z.returns": "Returns", "z.voids": "Post-voids", "z.net": "Net sales", "z.discounts": "Discounts",
    "z.expected_cash": "Cash expected", "z.counted_cash": "Cash counted", "z.over_short": "Over / short",
    "report.sales-hour": "Sales by hour", "report.sales-day": "Sales by day", "report.sales-week": "Sales by week",
    "report.sales-month": "Sales by month", "report.sales-product": "Sales by product",
    "report.sales-category": "Sales by category", "report.sales-operator": "Sales by operator",
    "report.sales-tender": "Sales by tender", "report.sales-member": "Members and non-members",
    "report.returns": "Returns", "report.voids": "Voids and cancellations", "report.discounts": "Discounts",
    "report.tax": "Tax", "report.profit": "Profit by category", "report.profit-product": "Profit by product",
    "report.basket": "Baskets", "report.peak-hours": "Peak hours", "report.trend": "Sales trend",
    "report.top-movers": "Top sellers", "report.slow-movers": "Slow sellers", "report.inventory": "Inventory value",
    "report.days-of-cover": "Days of cover", "report.stockouts": "Stock-outs", "report.members": "Members",
  },
  zh: {
    "app.title": "后台管理", loading: "加载中…", save: "保存",
    "signin.code": "员工编号", "signin.pin": "密码", "signin.submit": "登录", "signin.out": "退出",
    "signin.ended": "登录已过期，请重新登录。",
    "nav.dashboard": "概览", "nav.catalog": "商品", "nav.stock": "库存", "nav.members": "会员", "nav.reports": "报表",
    "nav.settings": "设置",
    "role.manager": "店长", "role.supervisor": "主管", "role.cashier": "收银员",
    "unit.piece": "件", "unit.kg": "公斤（称重）",
    "col.product": "商品", "col.name": "名称", "col.name_en": "英文名称", "col.category": "类别", "col.price": "售价",
    "col.cost": "成本", "col.unit": "单位", "col.barcodes": "条码", "col.tax_class": "税类", "col.on_hand": "库存",
    "col.reorder_point": "补货点", "col.day": "营业日",
    "dash.net": "今日净销售额", "dash.baskets": "今日单数", "dash.average": "客单价", "dash.vs_last_week": "对比上周同日",
    "dash.no_compare": "上周同日无数据", "dash.trend": "近四周销售", "dash.peak": "近八周繁忙时段", "dash.low_stock": "库存不足",
    "dash.no_alerts": "暂无缺货商品。", "dash.health": "收银机与总部", "dash.selling": "收银机可以正常销售。",
    "dash.not_selling": "收银机无法销售：缺少必需设备。", "dash.offline": "离线", "dash.devices_ok": "全部 {n} 台设备正常。",
    "dash.sync_off": "未连接总部。", "dash.sync": "{pending} 条记录待上传总部；上次上传 {at}。", "dash.never": "从未",
    "catalog.search": "货号、名称或条码", "catalog.new": "新建商品", "catalog.import": "导入 CSV", "catalog.retired": "已停售",
    "catalog.none": "没有匹配的商品。", "catalog.active": "在售（取消勾选即停售）", "catalog.bad_amount": "售价和成本须为金额，如 12.50。",
    "catalog.saved": "已保存：{name}，售价 {price}。", "catalog.barcodes_hint": "多个条码用空格分隔", "catalog.labels": "货架标签",
    "catalog.copies": "份数", "catalog.print_labels": "用小票打印机打印", "catalog.labels_done": "已打印 {n} 张标签。",
    "import.file": "商品文件（CSV）", "import.columns": "列：sku, name, name_en, barcodes, plu, unit, price, cost, tax_class, category, active",
    "import.skip_bad": "导入正确的行，跳过错误的行", "import.done": "已导入 {applied} / {rows} 行。", "import.errors": "{n} 处错误",
    "import.not_utf8": "该文件不是 UTF-8 编码。请在 Excel 或 WPS 中另存为\u201cCSV UTF-8\u201d后重新导入。",
    "reports.chart": "图表", "reports.shifts": "班次与 Z 报表", "reports.unknown": "没有报表 {name}。", "reports.from": "从",
    "reports.to": "到", "reports.show": "查看", "reports.csv": "下载 CSV", "reports.empty": "该时段没有数据。", "reports.first_rows": "仅显示前 {n} 行；下载 CSV 可得全部数据。",
    "shift.opened": "开班", "shift.closed": "交班", "shift.open": "进行中", "shift.none": "暂无班次。",
    "shift.reprint": "重印（标注副本）", "shift.reprinted": "已发送到小票打印机。",
    "z.sales": "销售", "z.returns": "退货", "z.voids": "撤销", "z.net": "净销售额", "z.discounts": "折扣",
    "z.expected_cash": "应有现金", "z.counted_cash": "清点现金", "z.over_short": "长短款",
    "report.sales-hour": "按小时销售", "report.sales-day": "按日销售", "report.sales-week": "按周销售",
    "report.sales-month": "按月销售", "report.sales-product": "商品销售", "report.sales-category": "类别销售",
    "report.sales-operator": "收银员销售", "report.sales-tender": "支付方式", "report.sales-member": "会员与非会员",
    "report.returns": "退货", "report.voids": "撤销与作废", "report.discounts": "折扣", "report.tax": "税额",
    "report.profit": "类别毛利", "report.profit-product": "商品毛利", "report.basket": "客单", "report.peak-hours": "繁忙时段",
    "report.trend": "销售趋势", "report.top-movers": "畅销商品", "report.slow-movers": "滞销商品", "report.inventory": "库存价值",
    "report.days-of-cover": "库存可售天数", "report.stockouts": "缺货商品", "report.members": "会员概况",
    "rcol.day": "营业日", "rcol.weekday": "星期", "rcol.net": "净销售额", "rcol.average7": "7日均值", "rcol.week_before": "上周同日",
    "rcol.wow": "周环比", "rcol.baskets": "单数", "rcol.value": "金额", "rcol.average": "客单价", "rcol.items": "件数",
    "rcol.items_per_basket": "每单件数", "rcol.sku": "货号", "rcol.name": "名称", "rcol.category": "类别",
    "rcol.quantity": "数量", "rcol.tax": "税额", "rcol.cost": "成本", "rcol.profit": "毛利", "rcol.margin": "毛利率",
    "tender.cash": "现金", "tender.card": "银行卡", "tender.wallet": "扫码支付", "tender.stored_value": "储值",
    "tender.voucher": "代金券",
  },
});
