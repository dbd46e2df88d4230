// Calls to the appliance's local API with the session cookie and the CSRF token.
// Every page goes through here, so an ended session sends the browser back to sign-in
// in one place, and every refusal arrives as an ApiError with the server's message.

let csrf = null;
let onSignedOut = () => {};

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

export function signedIn(token) {
  csrf = token;
}

export function whenSignedOut(handler) {
  onSignedOut = handler;
}

export async function call(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && csrf) headers["X-CSRF-Token"] = csrf;
  const response = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const type = response.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await response.json() : await response.text();
  if (response.status === 401 && path !== "/session") {
    csrf = null;
    onSignedOut();
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export const get = (path) => call("GET", path);

export function query(params) {
  const pairs = Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== "");
  return pairs.length ? "?" + new URLSearchParams(pairs).toString() : "";
}
