// The web map: state in the URL, layers from the platform's vector tiles, side panel.
import { ApiError, apiKey, authHeaders, detectRole, getJson, loadSession, send, setApiKey, signedIn, ssoSession } from "./api.js";
import { PolygonDrawing } from "./dessin.js";
import { baseMapStyle } from "./fond.js";
import {
  FILL_OPACITY, forecastFill, legendItems, quantileBreaks, sequential, statisticPaint, stepFill,
} from "./palettes.js";
import { cellPanel, esc, publicCellPanel, reportPanel } from "./panneau.js";
import { setupVeille } from "./veille.js";

const $ = (id) => document.getElementById(id);
const STAFF = new Set(["planner", "analyst", "admin"]);
const RAW = new Set(["analyst", "admin"]);
// the statistics' layers come from the server's registry (config.json), then these
const OTHER_LAYERS = [
  { id: "counts", label: "Nombre d'événements", staff: false },
  { id: "rates", label: "Taux pour 1 000 habitants", staff: false },
  { id: "forecast", label: "Prévision (période suivante)", staff: true, kind: "forecast" },
];
let LAYERS = OTHER_LAYERS;

function buildLayers() {
  const statistics = (app.config.statistics || []).map((st) => ({
    id: st.layer, label: st.label, title: st.title, staff: true, kind: st.kind, style: st.style,
    followsBin: st.follows_bin,
  }));
  LAYERS = [...statistics, ...OTHER_LAYERS];
}

function layerOf(id) { return LAYERS.find((l) => l.id === id); }
function isStatistic(id) { return Boolean(layerOf(id)?.style); }
const PUBLIC_MIN_COUNT = 5;
// time bins: the API's names and the URL's (French) ones
const BINS = [
  { id: "day", url: "jour", label: "Jour" },
  { id: "week", url: "semaine", label: "Semaine" },
  { id: "month", url: "mois", label: "Mois" },
];
const VALUES_PAGE = 10000;
// MapLibre's own texts, in French
const MAPLIBRE_FR = {
  "AttributionControl.ToggleAttribution": "Afficher ou masquer les sources",
  "AttributionControl.MapFeedback": "Signaler une erreur de carte",
  "FullscreenControl.Enter": "Plein écran",
  "FullscreenControl.Exit": "Quitter le plein écran",
  "GeolocateControl.FindMyLocation": "Me localiser",
  "GeolocateControl.LocationNotAvailable": "Position indisponible",
  "LogoControl.Title": "MapLibre",
  "Map.Title": "Carte de Marseille",
  "Marker.Title": "Repère",
  "NavigationControl.ResetBearing": "Remettre le nord en haut",
  "NavigationControl.ZoomIn": "Zoom avant",
  "NavigationControl.ZoomOut": "Zoom arrière",
  "Popup.Close": "Fermer",
  "ScaleControl.Feet": "pi",
  "ScaleControl.Meters": "m",
  "ScaleControl.Kilometers": "km",
  "GlobeControl.Enable": "Activer le globe",
  "GlobeControl.Disable": "Désactiver le globe",
  "TerrainControl.Enable": "Activer le relief",
  "TerrainControl.Disable": "Désactiver le relief",
  "CooperativeGesturesHandler.WindowsHelpText": "Ctrl + molette pour zoomer",
  "CooperativeGesturesHandler.MacHelpText": "⌘ + molette pour zoomer",
  "CooperativeGesturesHandler.MobileHelpText": "Deux doigts pour déplacer la carte",
};

const app = {
  map: null, role: "public", config: null, categories: [], runs: null, zones: [],
  state: null, drawing: null, report: null, reportBody: null, reportTarget: null, cell: null,
  labels: new Map(), classes: null, loads: 0,
};
window.carte = app;

// --- state <-> URL -----------------------------------------------------------------------------
function readState() {
  const p = new URLSearchParams(window.location.hash.slice(1));
  const centre = (p.get("centre") || "").split(",").map(Number);
  return {
    layer: p.get("couche") || "",
    start: p.get("debut") || "",
    end: p.get("fin") || "",
    bin: (BINS.find((b) => b.url === p.get("pas")) || BINS[1]).id,
    cats: p.get("categories") ? p.get("categories").split(",") : null,
    res: Number(p.get("resolution")) || 0,
    run: p.get("calcul") || "",
    events: p.get("evenements") === "1",
    zoom: p.has("zoom") ? Number(p.get("zoom")) : null,
    center: centre.length === 2 && centre.every(Number.isFinite) ? centre : null,
  };
}

function writeState() {
  const s = app.state;
  const p = new URLSearchParams();
  p.set("couche", s.layer);
  if (s.start) p.set("debut", s.start);
  if (s.end) p.set("fin", s.end);
  p.set("pas", BINS.find((b) => b.id === s.bin).url);
  if (s.cats) p.set("categories", s.cats.join(","));
  p.set("resolution", String(s.res));
  if (s.run) p.set("calcul", s.run);
  if (s.events) p.set("evenements", "1");
  if (app.map) {
    const c = app.map.getCenter();
    p.set("zoom", app.map.getZoom().toFixed(2));
    p.set("centre", `${c.lng.toFixed(5)},${c.lat.toFixed(5)}`);
  }
  history.replaceState(null, "", `#${p.toString()}`);
}

// --- messages --------------------------------------------------------------------------------
function message(text, error = false) {
  const el = $("message");
  el.textContent = text || "";
  el.classList.toggle("erreur", Boolean(error));
}

function failed(err) {
  message(err instanceof ApiError ? err.message : `Erreur : ${err.message || err}`, true);
}

// --- what the caller may see -------------------------------------------------------------------
function isStaff() { return STAFF.has(app.role); }
function mayReadRaw() { return RAW.has(app.role); }

function runsOf(kind) {
  if (!app.runs) return [];
  if (kind === "forecast") return app.runs.forecast_runs;
  const runs = app.runs.hotspot_runs.filter((r) => r.kind === kind);
  if (!LAYERS.some((l) => l.kind === kind && l.followsBin)) return runs;
  // a space-time statistic (emerging) follows the chosen time bin, when a run was computed with it
  const same = runs.filter((r) => r.bin === app.state.bin);
  return same.length ? same : runs;
}

function availableLayers() {
  return LAYERS.filter((l) => (!l.staff || isStaff()) && (!l.kind || runsOf(l.kind).length > 0));
}

function allowedResolutions() {
  const all = app.config.resolutions;
  return isStaff() ? all : all.filter((r) => r <= app.config.public_max_resolution);
}

function normaliseState() {
  const s = app.state;
  const layers = availableLayers().map((l) => l.id);
  const first = layers.find(isStatistic);
  if (!layers.includes(s.layer)) s.layer = first || "counts";
  const res = allowedResolutions();
  if (!res.includes(s.res)) s.res = res.includes(9) ? 9 : res[res.length - 1];
  const codes = new Set(app.categories.map((c) => c.code));
  if (s.cats) {
    s.cats = s.cats.filter((c) => codes.has(c));
    if (s.cats.length === 0 || s.cats.length === codes.size) s.cats = null;
  }
  const kind = layerOf(s.layer).kind;
  if (!kind || !runsOf(kind).some((r) => String(r.id) === s.run)) s.run = "";
  if (!mayReadRaw()) s.events = false;
  if (!s.start && !s.end && app.config.time_range[1]) {
    // by default the last 52 weeks of data
    const last = new Date(`${app.config.time_range[1]}T00:00:00Z`);
    const first = new Date(last.getTime() - 364 * 86400000 + 86400000);
    const floor = app.config.time_range[0];
    s.start = floor && first.toISOString().slice(0, 10) < floor ? floor : first.toISOString().slice(0, 10);
    s.end = app.config.time_range[1];
  }
}

// --- controls ----------------------------------------------------------------------------------
function buildControls() {
  const s = app.state;
  $("couches").innerHTML = availableLayers().map((l) => `<label>
      <input type="radio" name="couche" value="${l.id}" ${l.id === s.layer ? "checked" : ""}>
      ${esc(l.label)}</label>`).join("");
  $("resolution").innerHTML = allowedResolutions().map((r) => `<option value="${r}"
      ${r === s.res ? "selected" : ""}>${r}</option>`).join("");
  $("debut").value = s.start;
  $("fin").value = s.end;
  $("pas").innerHTML = BINS.map((b) => `<option value="${b.id}" ${b.id === s.bin ? "selected" : ""}>
      ${b.label}</option>`).join("");
  const families = new Map();
  for (const c of app.categories) {
    if (!families.has(c.family)) families.set(c.family, { label: c.family_label, items: [] });
    families.get(c.family).items.push(c);
  }
  $("familles").innerHTML = [...families.entries()].map(([code, f]) => `<details open>
      <summary>${esc(f.label)}</summary>
      ${f.items.map((c) => `<label class="case"><input type="checkbox" name="categorie"
        value="${esc(c.code)}" data-famille="${esc(code)}"
        ${!s.cats || s.cats.includes(c.code) ? "checked" : ""}> ${esc(c.label)}</label>`).join("")}
    </details>`).join("");
  $("case-evenements").hidden = !mayReadRaw();
  $("evenements").checked = s.events;
  $("urbanisme").hidden = !isStaff();
  $("zone-enregistree").innerHTML = '<option value="">—</option>' + app.zones.map((z) =>
    `<option value="${z.id}">${esc(z.name)}</option>`).join("");
  buildRunSelect();
}

function buildRunSelect() {
  const s = app.state;
  const kind = layerOf(s.layer).kind;
  const select = $("calcul");
  const runs = kind ? runsOf(kind) : [];
  select.innerHTML = '<option value="">Par défaut</option>' + runs.map((r) => {
    const text = kind === "forecast"
      ? `n° ${r.id} — ${r.method}, à partir du ${r.origin}, rés. ${r.resolution}`
      : `n° ${r.id} — du ${r.period_start} au ${r.period_end}, rés. ${r.resolution}, pas : ${binLabel(r.bin)}`;
    return `<option value="${r.id}" ${String(r.id) === s.run ? "selected" : ""}>${esc(text)}</option>`;
  }).join("");
  select.disabled = runs.length === 0;
  $("resolution").disabled = !["counts", "rates"].includes(s.layer);
}

function binLabel(id) {
  const found = BINS.find((b) => b.id === id);
  return found ? found.label.toLowerCase() : id;
}

function bindControls() {
  $("couches").addEventListener("change", (e) => {
    app.state.layer = e.target.value;
    app.state.run = "";
    buildRunSelect();
    refresh();
  });
  $("resolution").addEventListener("change", (e) => { app.state.res = Number(e.target.value); refresh(); });
  $("calcul").addEventListener("change", (e) => { app.state.run = e.target.value; refresh(); });
  $("debut").addEventListener("change", (e) => { app.state.start = e.target.value; refresh(); });
  $("fin").addEventListener("change", (e) => { app.state.end = e.target.value; refresh(); });
  $("pas").addEventListener("change", (e) => {
    app.state.bin = e.target.value;
    if (layerOf(app.state.layer).followsBin) { app.state.run = ""; buildRunSelect(); }
    refresh();
    if (app.report && app.reportTarget) requestReport(app.reportTarget.target, app.reportTarget.geometry);
  });
  $("evenements").addEventListener("change", (e) => { app.state.events = e.target.checked; refresh(); });
  $("familles").addEventListener("change", () => { readCategories(); refresh(); });
  $("toutes").addEventListener("click", () => { setAllCategories(true); });
  $("aucune").addEventListener("click", () => { setAllCategories(false); });
  $("connexion").addEventListener("submit", (e) => { e.preventDefault(); signIn($("cle").value.trim()); });
  $("se-deconnecter").addEventListener("click", () => {
    if (!apiKey() && ssoSession() && ssoSession().signed_in) cityAccount("/auth/deconnexion");
    else signIn("");
  });
  $("compte-ville").addEventListener("click", (e) => { e.preventDefault(); cityAccount("/auth/connexion"); });
  $("dessiner").addEventListener("click", () => startDrawing());
  $("terminer").addEventListener("click", () => {
    if (!app.drawing.finish()) message("Un polygone demande au moins trois sommets.", true);
  });
  $("annuler").addEventListener("click", () => { app.drawing.stop(); });
  $("zone-enregistree").addEventListener("change", (e) => {
    if (e.target.value) requestReport({ zone_id: Number(e.target.value) }, null);
  });
}

function setAllCategories(on) {
  for (const box of document.querySelectorAll('input[name="categorie"]')) box.checked = on;
  readCategories();
  refresh();
}

function readCategories() {
  const boxes = [...document.querySelectorAll('input[name="categorie"]')];
  const chosen = boxes.filter((b) => b.checked).map((b) => b.value);
  app.state.cats = chosen.length === boxes.length ? null : chosen;
}

// --- layers ------------------------------------------------------------------------------------
function datetimeParam() {
  const { start, end } = app.state;
  if (!start && !end) return null;
  return `${start || ".."}/${end || ".."}`;
}

function collectionOf(layer) {
  const s = app.state;
  if (isStatistic(layer)) {
    if (s.run) return `run-${s.run}`;
    // a space-time statistic follows the chosen time bin (runsOf), not always the default run
    const run = layerOf(layer).followsBin ? runRecord() : null;
    return run ? `run-${run.id}` : layer;
  }
  switch (layer) {
    case "forecast":
      return s.run ? `forecast-${s.run}` : "forecasts";
    default:
      return `counts-r${s.res}`;
  }
}

function tileUrl(collection, filtered) {
  const params = new URLSearchParams();
  if (filtered) {
    const dt = datetimeParam();
    if (dt) params.set("datetime", dt);
    if (app.state.cats) params.set("categories", app.state.cats.join(","));
  }
  const query = params.toString();
  return `${window.location.origin}/tiles/${collection}/{z}/{x}/{y}.mvt${query ? `?${query}` : ""}`;
}

function fillPaint(layer) {
  if (isStatistic(layer)) return statisticPaint(layerOf(layer).style);
  switch (layer) {
    case "counts": return { "fill-color": stepFill("count", classBreaks()), "fill-opacity": FILL_OPACITY };
    case "rates": return { "fill-color": stepFill("rate_per_1000", classBreaks()), "fill-opacity": FILL_OPACITY };
    default: return { "fill-color": forecastFill(), "fill-opacity": FILL_OPACITY };
  }
}

function removeData() {
  for (const id of ["evenements-points", "evenements-hex", "donnees-contour", "donnees-remplissage"]) {
    if (app.map.getLayer(id)) app.map.removeLayer(id);
  }
  for (const id of ["evenements", "donnees"]) if (app.map.getSource(id)) app.map.removeSource(id);
}

function renderLayers() {
  const map = app.map;
  const s = app.state;
  removeData();
  const collection = collectionOf(s.layer);
  const filtered = ["counts", "rates"].includes(s.layer);
  map.addSource("donnees", { type: "vector", tiles: [tileUrl(collection, filtered)], maxzoom: 16 });
  const before = map.getLayer("quartiers-limites") ? "quartiers-limites" : undefined;
  map.addLayer({
    id: "donnees-remplissage", type: "fill", source: "donnees", "source-layer": collection,
    paint: fillPaint(s.layer),
  }, before);
  map.addLayer({
    id: "donnees-contour", type: "line", source: "donnees", "source-layer": collection,
    minzoom: 12, paint: { "line-color": "#ffffff", "line-width": 0.4, "line-opacity": 0.6 },
  }, before);
  if (s.events && mayReadRaw()) {
    map.addSource("evenements", { type: "vector", tiles: [tileUrl("events", true)], maxzoom: 16 });
    // below zoom 14 the server groups events per hexagon (the clusters); above, points
    map.addLayer({
      id: "evenements-hex", type: "fill", source: "evenements", "source-layer": "events",
      filter: ["==", ["geometry-type"], "Polygon"],
      paint: {
        "fill-color": ["step", ["get", "count"], "#fee6ce", 5, "#fdae6b", 20, "#e6550d", 50, "#a63603"],
        "fill-opacity": 0.55, "fill-outline-color": "#a63603",
      },
    });
    map.addLayer({
      id: "evenements-points", type: "circle", source: "evenements", "source-layer": "events",
      filter: ["==", ["geometry-type"], "Point"],
      paint: { "circle-radius": 4, "circle-color": "#d95f02", "circle-stroke-color": "#fff", "circle-stroke-width": 1 },
    });
  }
  renderLegend();
  describe();
}

function legendItem(i) {
  const data = i.from === undefined ? ""
    : ` data-de="${i.from}" data-a="${i.to ?? ""}" data-n="${i.n}"`;
  const symbol = i.symbol ? `<span class="symbole" aria-hidden="true">${esc(i.symbol)}</span>` : "";
  const count = i.n === undefined ? "" : ` <span class="effectif">(${i.n} hex.)</span>`;
  return `<li${data}><span class="pastille" aria-hidden="true"
      style="background:${i.color};opacity:${i.opacity}"></span>${symbol}${esc(i.label)}${count}</li>`;
}

function renderLegend() {
  const s = app.state;
  const layer = layerOf(s.layer);
  const classed = ["counts", "rates"].includes(s.layer);
  const items = legendItems(layer.style || s.layer, classed ? currentClasses() : null);
  let html = `<h2>${esc(layer.label)}</h2>`;
  if (classed) {
    html += items.length
      ? `<p class="aide">Classes par quantiles des ${app.classes.values.length} hexagones non vides.</p>`
      : '<p class="aide">Aucun hexagone non vide pour ce choix.</p>';
  }
  html += `<ul>${items.map(legendItem).join("")}</ul>`;
  if (["counts", "rates"].includes(s.layer) && !isStaff()) {
    html += `<p class="aide">Nombres par semaines entières, arrondis au hasard à un multiple de 5 par hexagone, catégorie et semaine (vie privée) ; inférieurs à ${PUBLIC_MIN_COUNT} masqués.</p>`;
  }
  if (s.events && mayReadRaw()) {
    html += `<h2>Événements</h2><ul><li><span class="pastille" style="background:#d95f02;border-radius:50%"></span>
      un événement (zoom 14 et plus)</li><li><span class="pastille" style="background:#fdae6b"></span>
      regroupés par hexagone en dessous</li></ul>`;
  }
  $("legende").innerHTML = html;
}

function categoriesText() {
  const s = app.state;
  if (!s.cats) return app.role === "public" || app.role === "partner"
    ? "toutes les catégories publiques" : "toutes les catégories";
  const labels = app.categories.filter((c) => s.cats.includes(c.code)).map((c) => c.label);
  return `${labels.length} catégorie(s) : ${labels.join(", ")}`;
}

function runRecord() {
  const s = app.state;
  const kind = layerOf(s.layer).kind;
  const runs = runsOf(kind);
  if (!runs.length) return null;
  if (s.run) return runs.find((r) => String(r.id) === s.run);
  if (kind === "forecast") return runs[0];
  // the default run: all categories, counts, newest (as the server chooses it)
  return runs.find((r) => r.categories === null && r.value === "counts") || runs[0];
}

function dateFr(iso) {
  return iso ? new Date(iso).toLocaleString("fr-FR", { dateStyle: "long", timeStyle: "short" }) : "—";
}

function describe() {
  const s = app.state;
  const period = s.start || s.end
    ? `${s.start ? `du ${s.start}` : "depuis le début des données"} ${s.end ? `au ${s.end} inclus` : "à aujourd'hui"}`
    : "sur toute la durée des données";
  let text;
  if (s.layer === "counts" || s.layer === "rates") {
    const what = s.layer === "counts" ? "Nombre d'événements" : "Événements pour 1 000 habitants";
    text = `${what} par hexagone H3 de résolution ${s.res}, ${period}, ${categoriesText()} ` +
      `(données jusqu'au ${app.config.time_range[1] || "—"}).`;
  } else {
    const run = runRecord();
    if (s.layer === "forecast") {
      text = `Prévision n° ${run.id} (${run.method}), ${run.horizon} période(s) de ${run.period_days} jour(s) ` +
        `à partir du ${run.origin}, résolution ${run.resolution}, ` +
        `${run.categories ? run.categories.join(", ") : "toutes catégories"} ; calculée le ${dateFr(run.created_at)}.`;
    } else {
      const name = layerOf(s.layer).title;
      text = `${name}, calcul n° ${run.id} : résolution ${run.resolution}, du ${run.period_start} ` +
        `au ${run.period_end} (fin exclue), ${run.categories ? run.categories.join(", ") : "toutes catégories"}, ` +
        `pas : ${binLabel(run.bin)}, ${run.value === "counts" ? "nombres" : run.value} ; ` +
        `calculé le ${dateFr(run.created_at)}.`;
    }
  }
  if (s.events && mayReadRaw()) text += ` Événements bruts ${period}, ${categoriesText()}.`;
  $("description").textContent = text;
}

// --- how fresh the shown layer is (GET /freshness) ----------------------------------------------
// "7 décembre 2026 à 03 h 40", in the platform's time zone
function instantFr(iso) {
  const d = new Date(iso);
  const timeZone = app.config.timezone;
  const day = d.toLocaleDateString("fr-FR", { day: "numeric", month: "long", year: "numeric", timeZone });
  const parts = Object.fromEntries(new Intl.DateTimeFormat("fr-FR", {
    hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone,
  }).formatToParts(d).map((p) => [p.type, p.value]));
  return `${day} à ${parts.hour} h ${parts.minute}`;
}

// "2026-08-10" -> "10 août 2026"
function dayFr(isoDay) {
  const [y, m, d] = isoDay.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d)).toLocaleDateString("fr-FR", {
    day: "numeric", month: "long", year: "numeric", timeZone: "UTC",
  });
}

function previousDay(isoDay) {
  const [y, m, d] = isoDay.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d - 1)).toISOString().slice(0, 10);
}

// The run shown, when it is not the layer's default one: its time and data window.
function chosenRun(layer, fresh) {
  if (!isStatistic(app.state.layer) && app.state.layer !== "forecast") return null;
  const run = runRecord();
  if (!run || (fresh.run && run.id === fresh.run.id)) return null;
  if (run.period_start && run.period_end) {
    return { computed_at: run.created_at, data_window: { start: run.period_start, end: previousDay(run.period_end) } };
  }
  return { computed_at: run.created_at, data_window: run.data_window || {} };
}

function freshnessText(fresh) {
  if (!fresh || !fresh.data_as_of) return "";
  let text = `Données à jour au ${instantFr(fresh.data_as_of)}`;
  const run = chosenRun(app.state.layer, fresh) || fresh.run;
  if (run && run.computed_at) {
    text += ` — analyse du ${instantFr(run.computed_at)}`;
    const w = run.data_window || {};
    if (w.start && w.end) text += ` (données du ${dayFr(w.start)} au ${dayFr(w.end)})`;
    if (run === fresh.run && run.up_to_date === false) text += " ; données modifiées depuis, actualisation à venir";
  }
  return `${text}.`;
}

async function showFreshness() {
  try {
    const body = await getJson("/freshness");
    $("fraicheur").textContent = freshnessText(body.layers[app.state.layer]);
  } catch (err) {
    $("fraicheur").textContent = "";
    console.error("fraîcheur:", err);
  }
}

// --- class limits from the data (counts and rates) ---------------------------------------------
function valueProperty(layer) {
  return layer === "rates" ? "rate_per_1000" : "count";
}

function classKey() {
  const s = app.state;
  return JSON.stringify([s.layer, s.res, datetimeParam(), s.cats, app.role]);
}

function classBreaks() {
  return app.classes && app.classes.key === classKey() ? app.classes.breaks : [];
}

function currentClasses() {
  if (!app.classes || app.classes.key !== classKey()) return [];
  return sequential(app.classes.breaks, app.classes.values);
}

// The values of the current layer, from the public items API (the same numbers as the tiles).
async function loadClasses() {
  const s = app.state;
  const key = classKey();
  if (app.classes && app.classes.key === key) return true;
  const property = valueProperty(s.layer);
  const params = {
    properties: property, filter: `${property} > 0`, limit: VALUES_PAGE,
    datetime: datetimeParam(), categories: s.cats ? s.cats.join(",") : null,
  };
  const values = [];
  for (let offset = 0; ; offset += VALUES_PAGE) {
    const page = await getJson(`/collections/counts-r${s.res}/items`, { ...params, offset });
    for (const f of page.features) values.push(f.properties[property]);
    if (page.features.length < VALUES_PAGE) break;
  }
  if (key !== classKey()) return false; // the state changed meanwhile: a newer load follows
  app.classes = { key, values, breaks: quantileBreaks(values) };
  return true;
}

async function refresh() {
  document.body.dataset.carte = "chargement";
  writeState();
  if (app.state.cats && app.state.cats.length === 0) {
    removeData();
    $("description").textContent = "Aucune catégorie choisie : rien à afficher.";
    message("Choisissez au moins une catégorie.", true);
    app.map.triggerRepaint();
    return;
  }
  message("");
  if (["counts", "rates"].includes(app.state.layer)) {
    app.loads += 1;
    try {
      if (!(await loadClasses())) return;
    } catch (err) {
      failed(err);
      document.body.dataset.carte = "inactive";
      return;
    } finally { app.loads -= 1; }
  }
  renderLayers();
  showFreshness();
  if (app.cell) showCell(app.cell.hex, app.cell.props);
}

// --- base map ----------------------------------------------------------------------------------
// Our outlines and overlays over the base map (fond.js: offline streets, or a style or raster).
function baseStyle() {
  const sources = {
    dessin: { type: "geojson", data: { type: "FeatureCollection", features: [] } },
    selection: { type: "geojson", data: { type: "FeatureCollection", features: [] } },
  };
  const layers = [
    { id: "fond", type: "background", paint: { "background-color": "#eef0f2" } },
    { id: "quartiers-limites", type: "line", source: "fond", "source-layer": "quartiers", minzoom: 11,
      paint: { "line-color": "#6b7785", "line-width": 0.6, "line-dasharray": [3, 2] } },
    { id: "arrondissements-limites", type: "line", source: "fond", "source-layer": "arrondissements",
      paint: { "line-color": "#3d4756", "line-width": 1.2 } },
    { id: "commune-limite", type: "line", source: "fond", "source-layer": "commune",
      paint: { "line-color": "#16324f", "line-width": 2.2 } },
    { id: "selection-cellules", type: "fill", source: "selection", filter: ["==", ["get", "kind"], "hot"],
      paint: { "fill-color": "#b2182b", "fill-opacity": 0.5, "fill-outline-color": "#67000d" } },
    { id: "selection-contour", type: "line", source: "selection", filter: ["==", ["get", "kind"], "zone"],
      paint: { "line-color": "#111", "line-width": 2.5 } },
    { id: "dessin-ligne", type: "line", source: "dessin", filter: ["==", ["geometry-type"], "LineString"],
      paint: { "line-color": "#000", "line-width": 2, "line-dasharray": [2, 1] } },
    { id: "dessin-sommets", type: "circle", source: "dessin", filter: ["==", ["geometry-type"], "Point"],
      paint: { "circle-radius": 5, "circle-color": "#fff", "circle-stroke-color": "#000", "circle-stroke-width": 2 } },
  ];
  return baseMapStyle(app.config, { sources, layers }, { rasterOpacity: 0.7 });
}

// Names of arrondissements and quartiers as HTML labels (no font files needed offline).
function updateLabels() {
  const map = app.map;
  const zoom = map.getZoom();
  const layer = zoom >= 13 ? "quartiers_labels" : zoom >= 10 ? "arrondissements_labels" : null;
  const wanted = new Map();
  if (layer) {
    for (const f of map.querySourceFeatures("fond", { sourceLayer: layer })) {
      const key = `${layer}:${f.properties.code}`;
      if (!wanted.has(key)) wanted.set(key, { f, layer });
    }
  }
  for (const [key, marker] of app.labels) {
    if (!wanted.has(key)) { marker.remove(); app.labels.delete(key); }
  }
  for (const [key, { f, layer: l }] of wanted) {
    if (app.labels.has(key)) continue;
    const el = document.createElement("div");
    el.className = `etiquette ${l.startsWith("arr") ? "arrondissement" : "quartier"}`;
    el.textContent = f.properties.name;
    el.setAttribute("aria-hidden", "true");
    const marker = new maplibregl.Marker({ element: el }).setLngLat(f.geometry.coordinates).addTo(map);
    app.labels.set(key, marker);
  }
}

// --- clicks: a cell, a zone, a vertex --------------------------------------------------------
async function showCell(hex, props) {
  app.cell = { hex, props };
  const panel = $("panneau");
  if (!isStaff()) {
    panel.innerHTML = publicCellPanel(props, app.categories, PUBLIC_MIN_COUNT);
    panel.dataset.contenu = "hexagone";
    return;
  }
  const s = app.state;
  const kind = layerOf(s.layer).kind;
  const params = {
    datetime: datetimeParam(), categories: s.cats ? s.cats.join(",") : null, bin: s.bin,
  };
  if (s.run && kind === "gi_star") params.hotspot_run = s.run;
  if (kind === "emerging" && runRecord()) params.emerging_run = String(runRecord().id);
  if (s.run && kind === "forecast") params.forecast_run = s.run;
  panel.dataset.contenu = "chargement";
  try {
    const doc = await getJson(`/cells/${hex}`, params);
    panel.innerHTML = cellPanel(doc, app.role, binLabel(doc.bin));
    app.report = null;
    panel.dataset.contenu = "hexagone";
  } catch (err) { failed(err); }
}

// The keyboard's click: Enter on the map acts at its centre (Space adds a vertex when drawing).
function onMapKey(e) {
  if (e.key !== "Enter" && e.key !== " ") return;
  const map = app.map;
  const lngLat = map.getCenter();
  const at = { lngLat, point: map.project(lngLat) };
  if (app.drawing.active) {
    if (e.key === " ") { e.preventDefault(); app.drawing.add(lngLat); }
    return; // Enter finishes the drawing (dessin.js)
  }
  if (e.key === "Enter") { e.preventDefault(); onClick(at); }
}

async function onClick(e) {
  if (app.drawing.active) { app.drawing.add(e.lngLat); return; }
  if (isStaff() && $("mode-urbaniste").checked) {
    try {
      const kind = $("type-zone").value;
      const found = await getJson("/reverse", { lon: e.lngLat.lng, lat: e.lngLat.lat });
      const area = found.areas[kind];
      if (!area) { message(`Aucun ${kind} à cet endroit.`, true); return; }
      requestReport({ area: { kind, code: area.code } }, null);
    } catch (err) { failed(err); }
    return;
  }
  const features = app.map.queryRenderedFeatures(e.point, { layers: ["donnees-remplissage"] });
  if (!features.length) return;
  const props = features[0].properties;
  message("");
  showCell(props.hex_id, props);
}

function startDrawing() {
  message("");
  app.drawing.start();
  $("panneau").focus();
}

function drawingChanged() {
  const active = app.drawing.active;
  $("dessiner").hidden = active;
  $("terminer").hidden = !active;
  $("annuler").hidden = !active;
  $("aide-dessin").hidden = !active;
}

// --- planners' reports -----------------------------------------------------------------------
async function requestReport(target, geometry) {
  const s = app.state;
  const body = { ...target };
  if (s.start) body.start = s.start;
  if (s.end) body.end = s.end;
  if (s.cats) body.categories = s.cats;
  body.bin = s.bin;
  const panel = $("panneau");
  panel.dataset.contenu = "chargement";
  try {
    const doc = await (await send("POST", "/reports", body)).json();
    app.report = doc;
    app.reportBody = body;
    app.reportTarget = { target, geometry };
    app.cell = null;
    panel.innerHTML = reportPanel(doc, true, binLabel(doc.bin));
    panel.dataset.contenu = "rapport";
    let outline = geometry;
    if (!outline && target.zone_id) outline = (await getJson(`/zones/${target.zone_id}`)).geometry;
    const features = doc.hot_cells.features.map((f) => ({ ...f, properties: { ...f.properties, kind: "hot" } }));
    if (outline) features.push({ type: "Feature", properties: { kind: "zone" }, geometry: outline });
    app.map.getSource("selection").setData({ type: "FeatureCollection", features });
    bindReportButtons(target, geometry);
    panel.focus();
  } catch (err) { failed(err); panel.dataset.contenu = "erreur"; }
}

function download(blob, name) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

// The outline to save: the drawn polygon, the clicked area's or the picked zone's.
async function outlineOf(target, geometry) {
  if (geometry) return geometry;
  if (target.zone_id) return (await getJson(`/zones/${target.zone_id}`)).geometry;
  const collection = `${target.area.kind}s`;
  return (await getJson(`/collections/${collection}/items/${encodeURIComponent(target.area.code)}`)).geometry;
}

function bindReportButtons(target, geometry) {
  $("export-csv").addEventListener("click", async () => {
    try {
      const response = await send("POST", "/reports", app.reportBody, { f: "csv" });
      download(await response.blob(), "rapport.csv");
    } catch (err) { failed(err); }
  });
  $("export-geojson").addEventListener("click", () => {
    const tag = (kind) => (f) => ({ ...f, properties: { ...f.properties, kind } });
    const fc = {
      type: "FeatureCollection",
      features: [...app.report.hot_cells.features.map(tag("hot")),
        ...app.report.emerging_cells.features.map(tag("emerging"))],
    };
    download(new Blob([JSON.stringify(fc)], { type: "application/geo+json" }), "hexagones.geojson");
  });
  const save = $("enregistrer-zone");
  if (!save) return;
  save.addEventListener("click", () => {
    $("form-zone").hidden = false;
    if (!$("nom-zone").value && !geometry) $("nom-zone").value = app.report.zone.name;
    $("nom-zone").focus();
  });
  $("form-zone").addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const outline = await outlineOf(target, geometry);
      const zone = await (await send("POST", "/zones", { name: $("nom-zone").value, geometry: outline })).json();
      app.zones = (await getJson("/zones")).zones;
      buildControls();
      $("zone-enregistree").value = String(zone.id);
      $("form-zone").hidden = true;
      message(`Zone « ${zone.name} » enregistrée.`);
    } catch (err) { failed(err); }
  });
}

// --- sign-in and start -----------------------------------------------------------------------
async function loadForRole() {
  app.role = await detectRole();
  // the period offered depends on the role (the public sees nothing newer than a week)
  app.config = await getJson("/carte/config.json");
  buildLayers();
  app.categories = (await getJson("/categories")).categories;
  app.runs = isStaff() ? await getJson("/runs") : null;
  app.zones = isStaff() ? (await getJson("/zones")).zones : [];
  const names = { public: "Public", partner: "Partenaire", planner: "Urbaniste", agent: "Agent", analyst: "Analyste", admin: "Administrateur" };
  const sso = ssoSession();
  const person = !apiKey() && sso && sso.signed_in ? ` — ${sso.name}` : "";
  $("role").textContent = (names[app.role] || app.role) + person;
  document.body.dataset.role = app.role;
  $("se-deconnecter").hidden = !signedIn();
  $("se-connecter").hidden = signedIn();
  $("cle").hidden = signedIn();
  $("cle").previousElementSibling.hidden = signedIn();
  $("compte-ville").hidden = signedIn() || !(sso && sso.configured);
  await setupVeille({
    role: app.role, categories: app.categories, zones: () => app.zones, message, failed,
  });
}

// Back here after signing in or out with the City's account, with the same view.
function cityAccount(path) {
  window.location.assign(`${path}?retour=${encodeURIComponent(`/carte${window.location.hash}`)}`);
}

async function signIn(key) {
  const previous = apiKey();
  setApiKey(key || null);
  try {
    await loadForRole();
  } catch (err) {
    setApiKey(previous);
    await loadForRole();
    message(err instanceof ApiError && err.status === 401 ? "Clé API refusée." : err.message, true);
    return;
  }
  $("cle").value = "";
  message("");
  app.cell = null;
  $("panneau").innerHTML = '<p class="aide">Cliquez sur un hexagone pour voir son détail.</p>';
  normaliseState();
  buildControls();
  refresh();
}

async function start() {
  await loadSession();
  app.config = await getJson("/carte/config.json");
  buildLayers();
  try {
    await loadForRole();
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) throw err;
    setApiKey(null);
    await loadForRole();
    message("Clé API expirée ou révoquée : vous voyez la carte publique.", true);
  }
  app.state = readState();
  normaliseState();
  buildControls();
  bindControls();
  const b = app.config.bounds;
  const options = {
    container: "carte",
    style: await baseStyle(),
    attributionControl: { compact: false, customAttribution: "geotranquil — limites : IGN Admin Express" },
    transformRequest: (url) => (url.startsWith(window.location.origin) ? { url, headers: authHeaders() } : { url }),
    maxZoom: 17,
    locale: MAPLIBRE_FR,
  };
  if (app.state.center && app.state.zoom !== null) {
    options.center = app.state.center;
    options.zoom = app.state.zoom;
  } else if (b) {
    options.bounds = [[b[0], b[1]], [b[2], b[3]]];
    options.fitBoundsOptions = { padding: 20 };
  }
  const map = new maplibregl.Map(options);
  app.map = map;
  map.addControl(new maplibregl.NavigationControl(), "top-right");
  map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-right");
  map.on("error", (e) => {
    const text = e.error && e.error.message ? e.error.message : String(e.error || e);
    message(`Erreur de chargement de la carte : ${text}`, true);
    console.error("carte:", text);
  });
  app.drawing = new PolygonDrawing(map, (geometry) => requestReport({ geometry }, geometry), drawingChanged);
  map.on("load", () => {
    refresh();
    map.on("click", onClick);
    map.getCanvas().addEventListener("keydown", onMapKey);
    map.on("moveend", writeState);
    map.on("mouseenter", "donnees-remplissage", () => { if (!app.drawing.active) map.getCanvas().style.cursor = "pointer"; });
    map.on("mouseleave", "donnees-remplissage", () => { if (!app.drawing.active) map.getCanvas().style.cursor = ""; });
  });
  map.on("idle", () => {
    updateLabels();
    if (app.loads === 0) document.body.dataset.carte = "inactive";
  });
}

start().catch((err) => { failed(err); console.error("carte:", err); });
