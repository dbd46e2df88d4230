// Money as integer minor units, as everywhere in the appliance: text in, integers out,
// never a floating-point number in between (0.1 + 0.2 is not 0.3).

export function formatAmount(minor, exponent) {
  if (minor === null || minor === undefined) return "–";
  const negative = minor < 0;
  const digits = String(Math.abs(minor)).padStart(exponent + 1, "0");
  const whole = digits.slice(0, digits.length - exponent);
  const frac = exponent ? "." + digits.slice(digits.length - exponent) : "";
  return (negative ? "-" : "") + whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",") + frac;
}

// Full-width digits and points from a Chinese input method as their ASCII selves; commas
// and spaces are thousands separators ("2,000" is two thousand, never two).
function normalized(text) {
  return String(text ?? "")
    .replace(/[\uFF10-\uFF19]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xff10 + 48))
    .replace(/[\uFF0E\u3002]/g, ".")
    .replace(/[,\uFF0C\s]/g, "");
}

// "12.5" with exponent 2 -> 1250; null for text that is not an amount.
export function parseAmount(text, exponent) {
  const match = /^(\d{1,10})(?:\.(\d*))?$/.exec(normalized(text));
  if (!match) return null;
  const frac = match[2] || "";
  if (frac.length > exponent) return null;
  return Number(match[1]) * 10 ** exponent + Number(frac.padEnd(exponent, "0") || "0");
}

export function formatQuantity(milli, unit) {
  if (unit === "kg") return formatAmount(milli, 3) + " kg";
  return Number.isInteger(milli / 1000) ? String(milli / 1000) : formatAmount(milli, 3);
}

// Basis points (1/100 of a percent) as "12.34%".
export function formatBp(bp) {
  return bp === null || bp === undefined ? "–" : formatAmount(bp, 2) + "%";
}
