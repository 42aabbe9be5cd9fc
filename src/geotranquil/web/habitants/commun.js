// What the views of the residents' app share: elements, words, dates, the public API, the map.

import { baseMapStyle } from "/carte/static/fond.js";

export const $ = (id) => document.getElementById(id);

/** Workflow states of a report, as residents read them. */
export const ETATS = {
  received: "Reçu",
  in_progress: "En cours de traitement",
  resolved: "Résolu",
  rejected_duplicate: "Clos : déjà signalé",
  rejected_abuse: "Rejeté",
};

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attributes)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") node.textContent = v;
    else if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

const DATE = new Intl.DateTimeFormat("fr-FR", { dateStyle: "long", timeStyle: "short" });
const DAY = new Intl.DateTimeFormat("fr-FR", { dateStyle: "long" });
export const dateTime = (iso) => (iso ? DATE.format(new Date(iso)) : "");
export const day = (value) => DAY.format(value instanceof Date ? value : new Date(value));
export const number = (n) => new Intl.NumberFormat("fr-FR").format(n);

/** Local calendar date as YYYY-MM-DD. */
export function isoDay(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** Metres between two lon/lat points (haversine). */
export function distance(lon1, lat1, lon2, lat2) {
  const r = 6371008.8;
  const rad = Math.PI / 180;
  const dlat = (lat2 - lat1) * rad;
  const dlon = (lon2 - lon1) * rad;
  const a = Math.sin(dlat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dlon / 2) ** 2;
  return 2 * r * Math.asin(Math.sqrt(a));
}

export class ApiError extends Error {
  constructor(status, description) {
    super(description);
    this.status = status;
  }
}

/** GET a JSON document of the public API; the error's message is the server's French text. */
export async function getJson(path, params = {}) {
  const url = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
  }
  const response = await fetch(url);
  if (!response.ok) throw new ApiError(response.status, await describe(response));
  return response.json();
}

/** The message of an error response: ours ({description}) or Open311's ([{description}]). */
export async function describe(response) {
  try {
    const body = await response.json();
    const first = Array.isArray(body) ? body[0] : body;
    if (first && first.description) return first.description;
  } catch (_) { /* not JSON */ }
  return `erreur ${response.status}`;
}

/** A MapLibre style: the platform's outlines over the base map (offline: the BAN's streets). */
export function baseStyle(config) {
  const layers = [
    { id: "fond", type: "background", paint: { "background-color": "#eef0f2" } },
    { id: "quartiers-limites", type: "line", source: "fond", "source-layer": "quartiers", minzoom: 12,
      paint: { "line-color": "#6b7785", "line-width": 0.7, "line-dasharray": [3, 2] } },
    { id: "arrondissements-limites", type: "line", source: "fond", "source-layer": "arrondissements",
      paint: { "line-color": "#3d4756", "line-width": 1.3 } },
    { id: "commune-limite", type: "line", source: "fond", "source-layer": "commune",
      paint: { "line-color": "#16324f", "line-width": 2.4 } },
  ];
  return baseMapStyle(config, { sources: {}, layers });
}

export const MARSEILLE = [5.3811, 43.2965];

/** A map in ``container`` over Marseille (or the data's extent), once its base map is known. */
export async function newMap(container, config) {
  const map = new maplibregl.Map({
    container,
    style: await baseStyle(config),
    center: MARSEILLE,
    zoom: 12,
    maxZoom: 18,
    attributionControl: config.basemap_url || config.basemap_style_url ? { compact: true } : false,
    cooperativeGestures: false,
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  return map;
}
