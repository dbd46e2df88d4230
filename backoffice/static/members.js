// Members: find one, see their balances, ledgers, purchases and coupons, edit the profile;
// segments for campaigns (members, CSV, coupons); a member's data export and erasure.
// Addresses: #/members, #/members/m/<id>, #/members/~segments[/<name>/<parameter>]
// ("m" and "~segments" are fixed words, so no member id can be mistaken for a sub-page).

import { call, get, query } from "./api.js";
import { clear, field, h, notice, table, when } from "./dom.js";
import { addStrings, t } from "./i18n.js";
import { formatAmount, formatBp, parseAmount } from "./money.js";

addStrings({
  en: {
    "members.search": "Name, last digits of the phone, or scan a card", "members.none": "No member matches.",
    "members.type": "Type part of a name or the last digits of a phone number.",
    "members.segments": "Segments", "members.phone": "Phone", "members.tier": "Tier", "members.no_tier": "no tier",
    "members.points": "Points", "members.stored_value": "Stored value", "members.birthday": "Birthday",
    "members.tags": "Tags", "members.tags_hint": "separate with spaces", "members.card": "Card",
    "members.consent": "Agreed to marketing messages", "members.marketing": "Marketing", "members.consent_at": "since {at}",
    "members.tier_spend": "{amount} spent in the last 12 months", "members.tier_points": "{points} points earned in the last 12 months",
    "members.edit": "Profile", "members.saved": "Profile saved.", "members.unchanged": "Nothing was changed.",
    "members.statement": "Statement", "members.earlier": "{n} earlier rows are not shown.",
    "members.no_rows": "No entries yet.", "members.when": "When", "members.change": "Change", "members.balance": "Balance",
    "members.ref": "Receipt or reference", "members.what": "What", "members.expires": "Expires",
    "members.history": "Purchases", "members.no_history": "No purchases yet.", "members.receipt": "Receipt",
    "members.total": "Total", "members.discount": "Discount", "members.items": "Lines",
    "members.kind.sale": "sale", "members.kind.return": "return", "members.kind.void": "post-void",
    "members.pk.earn": "earned", "members.pk.take_back": "taken back", "members.pk.redeem": "paid with points",
    "members.pk.refund": "given back", "members.pk.reward": "reward", "members.pk.expire": "expired",
    "members.pk.adjust": "adjustment", "members.pk.erase": "erasure",
    "members.coupons": "Coupons", "members.no_coupons": "No coupons.", "members.code": "Code", "members.value": "Value",
    "members.min_spend": "Minimum spend", "members.state": "State", "members.open": "open", "members.used": "used",
    "members.expired": "expired",
    "members.issue": "Issue a coupon", "members.issue_to": "Issue a coupon to these {n} members",
    "members.off": "Kind", "members.off_amount": "Amount off", "members.off_percent": "Percentage off", "members.worth": "Worth",
    "members.expires_on": "Last day it may be used", "members.campaign": "Campaign",
    "members.bad_worth": "Give an amount like 5.00 or a percentage like 10 (at most 100).",
    "members.bad_amount": "Amounts are like 12.50.", "members.issued": "{n} coupon(s) issued.",
    "members.privacy": "Personal data", "members.export": "Download everything kept (JSON)",
    "members.erase": "Erase this member", "members.erase_why": "The name, phone, birthday, tags, consent and card are cleared for good; sales stay in the books without the person. Points are forfeited.",
    "members.erase_reason": "Reason (the customer's request and its date)", "members.erase_confirm": "Type the member's phone number ({phone}) to confirm",
    "members.erase_owed": "{amount} of stored value is still owed: pay it out first.",
    "members.erased": "Member erased; {n} points forfeited.", "members.back": "Members",
    "members.segment": "Segment", "members.size": "Members", "members.parameter": "Parameter", "members.show": "Show",
    "members.why": "Why", "members.csv": "Download CSV (members who agreed to marketing)",
    "members.first": "The first {n} of {size} are shown.", "members.no_segment_members": "Nobody is in this segment.",
    "members.seg.rfm": "RFM scores", "members.seg.lapsed": "Lapsed", "members.seg.birthdays": "Birthdays",
    "members.seg.tag": "Tag", "members.seg.tier": "Tier",
    "members.param.days": "Days", "members.param.month": "Month", "members.param.value": "Name",
    "members.param.rfm": "bought in the last {p} days", "members.param.lapsed": "no purchase in {p} days",
    "members.param.birthdays": "born in month {p}", "members.param.tag": "{p}", "members.param.tier": "{p}",
    "members.other": "Another {what}…", "members.never": "never", "members.yes": "yes", "members.no": "no",
  },
  zh: {
    "members.search": "姓名、手机号后几位，或扫描会员卡", "members.none": "没有匹配的会员。",
    "members.type": "请输入姓名的一部分或手机号后几位。",
    "members.segments": "会员分组", "members.phone": "手机号", "members.tier": "等级", "members.no_tier": "无等级",
    "members.points": "积分", "members.stored_value": "储值余额", "members.birthday": "生日",
    "members.tags": "标签", "members.tags_hint": "多个标签用空格分隔", "members.card": "会员卡",
    "members.consent": "同意接收营销信息", "members.marketing": "营销", "members.consent_at": "自 {at}",
    "members.tier_spend": "近 12 个月消费 {amount}", "members.tier_points": "近 12 个月获得 {points} 积分",
    "members.edit": "会员资料", "members.saved": "资料已保存。", "members.unchanged": "没有任何修改。",
    "members.statement": "明细", "members.earlier": "另有 {n} 条更早的记录未显示。",
    "members.no_rows": "暂无记录。", "members.when": "时间", "members.change": "变动", "members.balance": "余额",
    "members.ref": "小票或备注", "members.what": "类型", "members.expires": "到期",
    "members.history": "消费记录", "members.no_history": "暂无消费记录。", "members.receipt": "小票号",
    "members.total": "金额", "members.discount": "优惠", "members.items": "行数",
    "members.kind.sale": "销售", "members.kind.return": "退货", "members.kind.void": "撤销",
    "members.pk.earn": "消费获得", "members.pk.take_back": "退货扣回", "members.pk.redeem": "积分抵扣",
    "members.pk.refund": "退还", "members.pk.reward": "兑换礼品", "members.pk.expire": "过期",
    "members.pk.adjust": "人工调整", "members.pk.erase": "注销清零",
    "members.coupons": "优惠券", "members.no_coupons": "暂无优惠券。", "members.code": "券号", "members.value": "面值",
    "members.min_spend": "最低消费", "members.state": "状态", "members.open": "未使用", "members.used": "已使用",
    "members.expired": "已过期",
    "members.issue": "发放优惠券", "members.issue_to": "向这 {n} 位会员发放优惠券",
    "members.off": "优惠方式", "members.off_amount": "立减金额", "members.off_percent": "折扣百分比", "members.worth": "面值",
    "members.expires_on": "最后使用日期", "members.campaign": "活动名称",
    "members.bad_worth": "请填写金额（如 5.00）或百分比（如 10，最多 100）。",
    "members.bad_amount": "金额格式如 12.50。", "members.issued": "已发放 {n} 张优惠券。",
    "members.privacy": "个人信息", "members.export": "下载全部个人数据（JSON）",
    "members.erase": "注销此会员", "members.erase_why": "姓名、手机号、生日、标签、营销同意和会员卡将被永久清除；销售记录保留但不再关联到个人。积分作废。",
    "members.erase_reason": "原因（顾客的申请及日期）", "members.erase_confirm": "请输入会员手机号（{phone}）以确认",
    "members.erase_owed": "仍有 {amount} 储值余额未退还：请先退还。",
    "members.erased": "会员已注销；作废积分 {n}。", "members.back": "会员",
    "members.segment": "分组", "members.size": "人数", "members.parameter": "条件", "members.show": "查看",
    "members.why": "依据", "members.csv": "下载 CSV（仅同意营销的会员）",
    "members.first": "显示前 {n} 位，共 {size} 位。", "members.no_segment_members": "该分组没有会员。",
    "members.seg.rfm": "RFM 评分", "members.seg.lapsed": "流失会员", "members.seg.birthdays": "生日会员",
    "members.seg.tag": "标签", "members.seg.tier": "等级",
    "members.param.days": "天数", "members.param.month": "月份", "members.param.value": "名称",
    "members.param.rfm": "近 {p} 天有消费", "members.param.lapsed": "{p} 天未消费",
    "members.param.birthdays": "{p} 月生日", "members.param.tag": "{p}", "members.param.tier": "{p}",
    "members.other": "其他{what}…", "members.never": "从未", "members.yes": "是", "members.no": "否",
  },
});

const PARAM = { rfm: "days", lapsed: "days", birthdays: "month", tag: "value", tier: "value" };
const enc = encodeURIComponent;

let zone = "UTC"; // the shop's [time] zone, from the page's shop data
const at = (iso) => when(iso, zone, iso);

function backLink(href, label) {
  return h("p", {}, h("a", { href }, "← ", label));
}

// Runs `work` and shows its outcome in `status`; a refusal shows the server's message.
async function attempt(status, work) {
  try {
    clear(status, notice("ok", await work()));
  } catch (error) {
    clear(status, notice("error", error.message));
  }
}

// --- search

function search(page) {
  const input = h("input", { type: "search", placeholder: t("members.search"), "aria-label": t("members.search"), maxlength: 64 });
  const results = h("div", {}, h("p", { class: "muted" }, t("members.type")));
  const show = async () => {
    const text = input.value.trim();
    if (!text) return clear(results, h("p", { class: "muted" }, t("members.type")));
    try {
      const found = await get("/members" + query({ search: text }));
      clear(results, table([
        { title: t("col.name"), value: (m) => m.name },
        { title: t("members.phone"), value: (m) => m.phone },
        { title: t("members.tier"), value: (m) => m.tier || "–" },
      ], found, { empty: t("members.none"), onRow: (m) => { location.hash = `#/members/m/${enc(m.id)}`; } }));
    } catch (error) {
      clear(results, notice("error", error.message));
    }
  };
  // Enter looks the text up as a whole phone, card code or scanned QR first, as the till does.
  const open = async (event) => {
    event.preventDefault();
    if (!input.value.trim()) return;
    try {
      const member = await get(`/members/${enc(input.value.trim())}`);
      location.hash = `#/members/m/${enc(member.id)}`;
    } catch {
      await show();
    }
  };
  let timer = null;
  input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(show, 250); });
  clear(page, h("h1", {}, t("nav.members")),
    h("form", { class: "toolbar", onsubmit: open }, input, h("a", { class: "button", href: "#/members/~segments" }, t("members.segments"))),
    results);
  input.focus();
}

// --- one member

function figures(member, shop) {
  const basis = member.tier_by === "points"
    ? t("members.tier_points", { points: member.tier_basis })
    : t("members.tier_spend", { amount: formatAmount(member.tier_basis, shop.exponent) });
  const figure = (title, value, note) => h("div", { class: "card figure" }, h("span", {}, title), h("strong", {}, value), note ? h("small", {}, note) : null);
  return h("section", { class: "figures" },
    figure(t("members.tier"), member.tier || t("members.no_tier"), basis),
    figure(t("members.points"), String(member.points)),
    figure(t("members.stored_value"), formatAmount(member.stored_value, shop.exponent)));
}

function editor(member, refresh) {
  const input = (name, value, extra = {}) => h("input", { name, value: value ?? "", ...extra });
  const f = {
    name: input("name", member.name, { required: true, maxlength: 64 }),
    phone: input("phone", member.phone, { required: true, maxlength: 32, inputmode: "tel" }),
    birthday: input("birthday", member.birthday, { type: "date" }),
    tags: input("tags", member.tags.join(" "), { maxlength: 200 }),
    consent: h("input", { name: "consent", type: "checkbox", checked: member.consent_at !== null }),
  };
  const status = h("div");
  const save = (event) => {
    event.preventDefault();
    attempt(status, async () => {
      const tags = f.tags.value.split(/[\s,]+/).filter(Boolean);
      const wanted = { name: f.name.value.trim(), phone: f.phone.value.trim(), birthday: f.birthday.value,
        tags, consent: f.consent.checked };
      const before = { name: member.name, phone: member.phone, birthday: member.birthday || "", tags: member.tags,
        consent: member.consent_at !== null };
      // Only what changed is sent: an unchanged save writes no journal entry.
      const changes = Object.fromEntries(Object.entries(wanted).filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(before[k])));
      if (!Object.keys(changes).length) return t("members.unchanged");
      await call("PATCH", `/members/${enc(member.id)}`, changes);
      await refresh(t("members.saved"));
      return t("members.saved");
    });
  };
  return h("section", { class: "card", id: "member-profile" }, h("h2", {}, t("members.edit")), h("form", { class: "grid", onsubmit: save },
    field(t("col.name"), f.name), field(t("members.phone"), f.phone), field(t("members.birthday"), f.birthday),
    field(t("members.tags"), f.tags, t("members.tags_hint")),
    h("label", { class: "check" }, f.consent, " ", t("members.consent"),
      member.consent_at ? h("small", {}, " ", t("members.consent_at", { at: at(member.consent_at) })) : null),
    member.card_code ? h("p", { class: "muted" }, t("members.card"), ": ", member.card_code) : null,
    status,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("save")))));
}

function statement(member, shop) {
  const body = h("div");
  const tabs = {};
  const show = async (kind) => {
    for (const [name, button] of Object.entries(tabs)) button.classList.toggle("active", name === kind);
    try {
      const ledger = await get(`/members/${enc(member.id)}/statement` + query({ kind }));
      const amount = (v) => (kind === "points" ? String(v) : formatAmount(v, shop.exponent));
      const columns = [
        { title: t("members.when"), value: (r) => at(r.at) },
        kind === "points" ? { title: t("members.what"), value: (r) => t(`members.pk.${r.kind}`, {}, r.kind) } : null,
        { title: t("members.change"), numeric: true, value: (r) => (r.change > 0 ? "+" : "") + amount(r.change) },
        { title: t("members.balance"), numeric: true, value: (r) => amount(r.balance) },
        { title: t("members.ref"), value: (r) => r.receipt_no || r.ref },
        kind === "points" ? { title: t("members.expires"), value: (r) => r.expires_on || "" } : null,
      ].filter(Boolean);
      clear(body, ledger.earlier ? h("p", { class: "muted" }, t("members.earlier", { n: ledger.earlier })) : null,
        table(columns, ledger.rows, { empty: t("members.no_rows") }));
    } catch (error) {
      clear(body, notice("error", error.message));
    }
  };
  for (const kind of ["stored_value", "points"]) {
    tabs[kind] = h("button", { type: "button", onclick: () => show(kind) }, t(`members.${kind}`));
  }
  show("stored_value");
  return h("section", { class: "card", id: "member-statement" },
    h("h2", {}, t("members.statement")), h("div", { class: "switch" }, Object.values(tabs)), body);
}

function purchases(list, shop) {
  const money = (v) => formatAmount(v, shop.exponent);
  return h("section", { class: "card", id: "member-history" }, h("h2", {}, t("members.history")), table([
    { title: t("members.when"), value: (s) => at(s.completed_at) },
    { title: t("members.receipt"), value: (s) => s.receipt_no },
    { title: t("members.what"), value: (s) => t(`members.kind.${s.kind}`, {}, s.kind) },
    { title: t("members.items"), numeric: true, value: (s) => String(s.line_count) },
    { title: t("members.discount"), numeric: true, value: (s) => money(s.discount) },
    { title: t("members.total"), numeric: true, value: (s) => money(s.total) },
    { title: t("members.points"), numeric: true, value: (s) => (s.points > 0 ? "+" : "") + s.points },
  ], list, { empty: t("members.no_history") }));
}

function couponValue(c, exponent) {
  return c.percent ? formatBp(c.percent) : formatAmount(c.amount, exponent);
}

function couponList(list, shop) {
  const day = shop.today.day; // the business day, as the till counts expiry
  const state = (c) => {
    if (c.redeemed_ref) return t("members.used");
    return c.expires_on && c.expires_on < day ? t("members.expired") : t("members.open");
  };
  return table([
    { title: t("members.code"), value: (c) => c.code },
    { title: t("members.value"), numeric: true, value: (c) => couponValue(c, shop.exponent) },
    { title: t("members.min_spend"), numeric: true, value: (c) => formatAmount(c.min_spend, shop.exponent) },
    { title: t("members.expires"), value: (c) => c.expires_on || "–" },
    { title: t("members.state"), value: state },
  ], list, { empty: t("members.no_coupons") });
}

// The coupon form for one member ({member}) or a segment ({segment, days|month|value}); `done` (if any) runs after.
function couponForm(target, title, shop, done) {
  const kind = h("select", { name: "kind" },
    h("option", { value: "amount" }, t("members.off_amount")), h("option", { value: "percent" }, t("members.off_percent")));
  const worth = h("input", { name: "worth", inputmode: "decimal", required: true });
  const minSpend = h("input", { name: "min_spend", inputmode: "decimal", value: "0" });
  const expires = h("input", { name: "expires_on", type: "date" });
  const campaign = h("input", { name: "campaign", maxlength: 64 });
  const status = h("div");
  const issue = (event) => {
    event.preventDefault();
    attempt(status, async () => {
      // A percentage is basis points: "12.5" with two decimals is 1250, exactly.
      const value = kind.value === "percent" ? parseAmount(worth.value, 2) : parseAmount(worth.value, shop.exponent);
      const spend = parseAmount(minSpend.value || "0", shop.exponent);
      if (!value || (kind.value === "percent" && value > 10000)) throw new Error(t("members.bad_worth"));
      if (spend === null) throw new Error(t("members.bad_amount"));
      const body = { ...target, [kind.value]: value, min_spend: spend, campaign: campaign.value.trim() };
      if (expires.value) body.expires_on = expires.value;
      const answer = await call("POST", "/coupons", body);
      if (done) await done();
      return t("members.issued", { n: answer.issued });
    });
  };
  return h("section", { class: "card", id: "coupon-issue" }, h("h2", {}, title), h("form", { class: "grid", onsubmit: issue },
    field(t("members.off"), kind), field(t("members.worth"), worth),
    field(t("members.min_spend"), minSpend), field(t("members.expires_on"), expires), field(t("members.campaign"), campaign),
    status,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("members.issue")))));
}

function privacy(member, shop, page) {
  const reason = h("input", { name: "reason", required: true, maxlength: 200 });
  const confirm = h("input", { name: "confirm", required: true, maxlength: 32, inputmode: "tel", autocomplete: "off" });
  const button = h("button", { type: "submit", class: "danger", disabled: true }, t("members.erase"));
  const digits = (text) => text.replace(/[\s\-()]/g, "");
  confirm.addEventListener("input", () => { button.disabled = digits(confirm.value) !== member.phone; });
  const status = h("div");
  const erase = (event) => {
    event.preventDefault();
    attempt(status, async () => {
      const done = await call("POST", `/members/${enc(member.id)}/erase`, { reason: reason.value.trim(), confirm: confirm.value });
      clear(page, backLink("#/members", t("members.back")), notice("ok", t("members.erased", { n: done.points_forfeited })));
      return t("members.erased", { n: done.points_forfeited });
    });
  };
  return h("section", { class: "card danger", id: "member-privacy" },
    h("h2", {}, t("members.privacy")),
    h("p", {}, h("a", { class: "button", href: `/members/${enc(member.id)}/export`, download: `member-${member.id}.json` }, t("members.export"))),
    h("h2", {}, t("members.erase")),
    h("p", { class: "muted" }, t("members.erase_why")),
    member.stored_value ? notice("error", t("members.erase_owed", { amount: formatAmount(member.stored_value, shop.exponent) })) : null,
    h("form", { class: "grid", onsubmit: erase },
      field(t("members.erase_reason"), reason),
      field(t("members.erase_confirm", { phone: member.phone }), confirm),
      status,
      h("div", { class: "actions" }, button)));
}

async function profile(page, id, shop, flash) {
  const path = `/members/${enc(id)}`;
  const [member, history, coupons] = await Promise.all([get(path), get(`${path}/history`), get(`${path}/coupons`)]);
  const refresh = (message) => profile(page, id, shop, message);
  clear(page,
    backLink("#/members", t("members.back")),
    h("h1", {}, member.name, " ", h("small", { class: "muted" }, member.phone)),
    flash ? notice("ok", flash) : null,
    figures(member, shop),
    editor(member, refresh),
    statement(member, shop),
    purchases(history, shop),
    h("section", { class: "card", id: "member-coupons" }, h("h2", {}, t("members.coupons")), couponList(coupons, shop)),
    couponForm({ member: member.id }, t("members.issue"), shop, () => refresh()),
    privacy(member, shop, page));
}

// --- segments

function paramText(s) {
  const p = s[PARAM[s.segment]];
  return t(`members.param.${s.segment}`, { p: p ?? "" });
}

async function segmentList(page) {
  const list = await get("/segments");
  clear(page, backLink("#/members", t("members.back")), h("h1", {}, t("members.segments")),
    table([
      { title: t("members.segment"), value: (s) => t(`members.seg.${s.segment}`) },
      { title: t("members.parameter"), value: paramText },
      { title: t("members.size"), numeric: true, value: (s) => String(s.size) },
    ], list, { onRow: (s) => { location.hash = `#/members/~segments/${s.segment}/${enc(s[PARAM[s.segment]])}`; } }),
    h("p", { class: "toolbar" }, ["tag", "tier"].map((name) =>
      h("a", { class: "button", href: `#/members/~segments/${name}` }, t("members.other", { what: t(`members.seg.${name}`) })))));
}

function parameterInput(name, value) {
  const key = PARAM[name];
  if (key === "month") {
    return h("select", { name: key }, Array.from({ length: 12 }, (_, i) =>
      h("option", { value: i + 1, selected: String(i + 1) === String(value) }, String(i + 1))));
  }
  if (key === "days") return h("input", { name: key, type: "number", min: 1, max: 3700, value: value ?? "", class: "short" });
  return h("input", { name: key, value: value ?? "", maxlength: 32, required: true });
}

async function segment(page, name, param, shop) {
  if (!(name in PARAM)) return segmentList(page);
  const key = PARAM[name];
  const input = parameterInput(name, param);
  const form = h("form", { class: "card toolbar", onsubmit: (event) => {
    event.preventDefault();
    location.hash = `#/members/~segments/${name}/${enc(input.value.trim())}`;
  } }, field(t(`members.param.${key}`), input), h("button", { type: "submit", class: "primary" }, t("members.show")));
  const head = [backLink("#/members/~segments", t("members.segments")), h("h1", {}, t(`members.seg.${name}`)), form];
  if (!param && key === "value") return clear(page, head);
  const params = { [key]: param };
  const found = await get(`/segments/${name}` + query(params));
  const used = { [key]: found[key] };
  input.value = String(found[key]);
  clear(page, head,
    h("p", {}, paramText(found), " · ", t("members.size"), ": ", String(found.size),
      found.members.length < found.size ? h("small", {}, " ", t("members.first", { n: found.members.length, size: found.size })) : null),
    table([
      { title: t("col.name"), value: (m) => m.name },
      { title: t("members.phone"), value: (m) => m.phone },
      { title: t("members.tier"), value: (m) => m.tier || "–" },
      { title: t("members.marketing"), value: (m) => (m.consent ? t("members.yes") : t("members.no")) },
      { title: t("members.why"), value: (m) => (name === "lapsed" ? (m.why ? at(m.why) : t("members.never")) : m.why ?? "") },
    ], found.members, { empty: t("members.no_segment_members"), onRow: (m) => { location.hash = `#/members/m/${enc(m.id)}`; } }),
    h("p", {}, h("a", { class: "button", href: `/segments/${name}/csv` + query(used), download: `segment-${name}-${found[key]}.csv` }, t("members.csv"))),
    found.size
      ? couponForm({ segment: name, ...used }, t("members.issue_to", { n: found.size }), shop, null)
      : null);
}

export async function render(page, rest, { shop }) {
  zone = shop.zone;
  const [where, ...more] = rest;
  if (where === "m" && more[0]) return profile(page, more[0], shop);
  if (where === "~segments") return more[0] ? segment(page, more[0], more[1], shop) : segmentList(page);
  return search(page);
}
