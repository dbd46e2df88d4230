// Building the page from data without ever parsing data as HTML: product names and
// member names come from spreadsheets and head office, and go in as text nodes only.

export function h(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node, ...children) {
  node.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

// A table from column specs {title, value(row) -> text|Node, numeric}.
export function table(columns, rows, { empty = "", onRow } = {}) {
  const head = h("tr", {}, columns.map((c) => h("th", { class: c.numeric ? "num" : "" }, c.title)));
  const body = rows.map((row) =>
    h(
      "tr",
      { class: onRow ? "link" : "", onclick: onRow ? () => onRow(row) : undefined },
      columns.map((c) => h("td", { class: c.numeric ? "num" : "" }, c.value(row))),
    ),
  );
  if (!rows.length && empty) body.push(h("tr", {}, h("td", { colspan: columns.length, class: "empty" }, empty)));
  return h("div", { class: "scroll" }, h("table", {}, h("thead", {}, head), h("tbody", {}, body)));
}

export function field(label, input, hint) {
  return h("label", { class: "field" }, h("span", {}, label), input, hint ? h("small", {}, hint) : null);
}

export function notice(kind, text) {
  return h("p", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

export function daysBefore(isoDay, days) {
  const d = new Date(isoDay + "T12:00:00Z");
  d.setUTCDate(d.getUTCDate() - days);
  return d.toISOString().slice(0, 10);
}

// A chart from the API as an <img>. Fetched rather than set as src: the browser keeps an
// image it has shown under the same address for the life of the page, and this page
// never reloads, so a chart would stay as it was at the first visit.
export function chart(src, alt) {
  const img = h("img", { class: "chart", alt });
  fetch(src, { credentials: "same-origin", cache: "no-store" })
    .then((r) => (r.ok ? r.blob() : Promise.reject(new Error(`${alt}: HTTP ${r.status}`))))
    .then((blob) => {
      const url = URL.createObjectURL(blob);
      img.addEventListener("load", () => URL.revokeObjectURL(url), { once: true });
      img.src = url;
    })
    .catch((error) => img.replaceWith(notice("error", error.message)));
  return img;
}

// A moment on the shop's clock ([time] zone), whatever the zone of the phone showing it:
// "2026-11-24 09:00". The store keeps UTC.
export function when(iso, zone, fallback = "–") {
  const moment = iso ? new Date(iso) : null;
  if (!moment || Number.isNaN(moment.getTime())) return iso || fallback;
  return moment.toLocaleString("sv-SE", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit" });
}
