// Every request of the page goes through here: the public HTTP API, with the visitor's key.
const KEY = "geotranquil.cle";

export function apiKey() {
  return sessionStorage.getItem(KEY);
}

export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
}

// The person signed in with the City's account (single sign-on), as /auth/session tells: the
// server keeps that session in a cookie the page never reads; null before it is asked.
let sso = null;

export async function loadSession() {
  try {
    const response = await fetch("/auth/session");
    sso = response.ok ? await response.json() : null;
  } catch (_) { sso = null; }
  return sso;
}

export function ssoSession() {
  return sso;
}

export function signedIn() {
  return Boolean(apiKey()) || Boolean(sso && sso.signed_in);
}

export function authHeaders() {
  const key = apiKey();
  return key ? { "X-API-Key": key } : {};
}

export class ApiError extends Error {
  constructor(status, description) {
    super(description);
    this.status = status;
  }
}

async function check(response) {
  if (response.ok) return response;
  let description = `erreur ${response.status}`;
  try {
    const body = await response.json();
    if (body.description) description = body.description;
  } catch (_) { /* not JSON */ }
  throw new ApiError(response.status, description);
}

export async function getJson(path, params = {}) {
  const url = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
  }
  const response = await fetch(url, { headers: authHeaders() });
  return (await check(response)).json();
}

export async function send(method, path, body, params = {}) {
  const url = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  const response = await fetch(url, {
    method,
    headers: { ...authHeaders(), "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return check(response);
}

// The caller's role, from the collections it may read (no key: the public).
export async function detectRole() {
  const doc = await getJson("/collections");
  const ids = new Set(doc.collections.map((c) => c.id));
  if (!signedIn()) return "public";
  if (ids.has("events")) return "analyst";
  if (ids.has("zones")) return "planner";
  return "partner";
}
