// "Mon quartier": what the public may see. Hexagons of the public counts (resolution 8, counts
// under the threshold hidden, public categories only, at least a week old: the server applies
// these rules to anyone without a key), and the open reports near me (Open311, no personal data)
// to follow one instead of filing the same problem again.

import { $, ETATS, MARSEILLE, dateTime, day, distance, el, getJson, isoDay, newMap, number } from "./commun.js";
import { follow, isFollowed } from "./suivi.js";

const WEEKS = 12;
const NEAR_RADIUS_M = 500;
const COLORS = ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"];

export const state = { map: null, config: null, here: null };

/** The period shown: 12 weeks ending ``public_delay_days`` before today. */
export function period(config, today = new Date()) {
  const end = new Date(today);
  end.setDate(end.getDate() - config.public_delay_days);
  const start = new Date(end);
  start.setDate(start.getDate() - 7 * WEEKS);
  return { start, end };
}

/** Class breaks from the city's hexagons (quintiles of the counts shown, from the threshold). */
export function breaks(values, minimum) {
  const sorted = values.filter((v) => v !== null && v !== undefined).sort((a, b) => a - b);
  const out = [minimum];
  for (const p of [0.2, 0.4, 0.6, 0.8]) {
    const v = sorted.length ? sorted[Math.floor(p * (sorted.length - 1))] : minimum;
    if (v > out[out.length - 1]) out.push(v);
  }
  return out;
}

function fillColor(limits) {
  const expression = ["step", ["coalesce", ["get", "count"], 0], "rgba(0,0,0,0)"];
  limits.forEach((low, i) => expression.push(low, COLORS[i]));
  return expression;
}

function legend(config, { start, end }, limits) {
  const categories = config.public_categories.map((c) => c.label).join(", ");
  $("quartier-explication").textContent =
    `Nombre d'événements par hexagone (environ 0,7 km²) du ${day(start)} au ${day(end)}. ` +
    `Pour protéger la vie privée, les chiffres ont au moins ${config.public_delay_days} jours` +
    `, ils sont comptés par semaines entières et arrondis au hasard à un multiple de ` +
    `${config.public_rounding_base} (par hexagone, catégorie et semaine : sans biais, à moins de ` +
    `${config.public_rounding_base} près chacun), et ceux inférieurs à ${config.public_min_count} ne sont pas affichés. ` +
    `Catégories publiques : ${categories}.`;
  const label = (i) => (i + 1 < limits.length ? `${number(limits[i])} à ${number(limits[i + 1] - 1)}` : `${number(limits[i])} et plus`);
  $("legende").replaceChildren(
    el("strong", { text: "Événements par hexagone" }),
    el(
      "ul",
      {},
      ...limits.map((_, i) =>
        el("li", {}, el("span", { class: "pastille", style: `background:${COLORS[i]}`, "aria-hidden": "true" }), label(i)),
      ),
      el("li", {}, el("span", { class: "pastille masque", "aria-hidden": "true" }), `moins de ${config.public_min_count} ou aucun`),
      el("li", {}, el("span", { class: "pastille", style: "background:#0b4f8a;border-radius:50%", "aria-hidden": "true" }), "signalement ouvert"),
    ),
  );
}

async function addLayers(map, config) {
  const { start, end } = period(config);
  const res = config.public_resolution;
  const layer = `counts-r${res}`;
  const dt = `${isoDay(start)}T00:00:00/${isoDay(end)}T00:00:00`;
  let limits = [config.public_min_count];
  try {
    const rows = await getJson(`/collections/${layer}/h3`, { f: "json", datetime: dt });
    limits = breaks(rows.map((r) => r.count), config.public_min_count);
  } catch (_) { /* one class: still a picture */ }
  map.addSource("comptes", {
    type: "vector",
    tiles: [`${window.location.origin}/tiles/${layer}/{z}/{x}/{y}.mvt?datetime=${encodeURIComponent(dt)}`],
    maxzoom: 16,
  });
  map.addLayer({
    id: "comptes", type: "fill", source: "comptes", "source-layer": layer,
    paint: { "fill-color": fillColor(limits), "fill-opacity": 0.65 },
  }, "quartiers-limites");
  map.addLayer({
    id: "comptes-contour", type: "line", source: "comptes", "source-layer": layer, minzoom: 12,
    paint: { "line-color": "#5b6572", "line-width": 0.3 },
  }, "quartiers-limites");
  map.addSource("proches", { type: "geojson", data: { type: "FeatureCollection", features: [] } });
  map.addLayer({
    id: "proches", type: "circle", source: "proches",
    paint: { "circle-radius": 7, "circle-color": "#0b4f8a", "circle-stroke-color": "#fff", "circle-stroke-width": 2 },
  });
  map.on("click", "comptes", (e) => {
    const count = e.features[0].properties.count;
    const text = count === undefined || count === null
      ? `Moins de ${config.public_min_count} événements (ou aucun) dans cet hexagone.`
      : `${number(count)} événements dans cet hexagone.`;
    new maplibregl.Popup({ closeButton: true }).setLngLat(e.lngLat).setText(text).addTo(map);
  });
  legend(config, { start, end }, limits);
}

function where() {
  return new Promise((resolve) => {
    if (!navigator.geolocation) return resolve(null);
    navigator.geolocation.getCurrentPosition(
      (p) => resolve([p.coords.longitude, p.coords.latitude]),
      () => resolve(null),
      { enableHighAccuracy: true, timeout: 8000, maximumAge: 60000 },
    );
  });
}

/** Show the view (the map is made the first time); ``around`` is a [lon, lat] to centre on. */
export async function show(config, around = null) {
  state.config = config;
  if (!state.map) {
    state.map = await newMap("carte-quartier", config);
    await new Promise((resolve) => state.map.once("load", resolve));
    await addLayers(state.map, config);
  } else {
    state.map.resize();
  }
  document.body.dataset.quartier = "chargement";
  state.here = around || (await where()) || state.here || MARSEILLE;
  const drawn = new Promise((resolve) => state.map.once("idle", resolve));
  state.map.jumpTo({ center: state.here, zoom: 13 });
  state.map.triggerRepaint();
  await nearby();
  await drawn;
  document.body.dataset.quartier = "pret";
}

async function nearby() {
  const [lon, lat] = state.here;
  const list = $("proches");
  if (!navigator.onLine) {
    list.replaceChildren(el("li", { text: "Hors ligne : la liste reviendra avec le réseau." }));
    return;
  }
  let found = [];
  try {
    found = await getJson("/open311/v2/requests.json", { lat, long: lon, radius: NEAR_RADIUS_M });
  } catch (err) {
    list.replaceChildren(el("li", { text: `Liste indisponible : ${err.message}` }));
    return;
  }
  state.map.getSource("proches").setData({
    type: "FeatureCollection",
    features: found.map((r) => ({
      type: "Feature", geometry: { type: "Point", coordinates: [r.long, r.lat] }, properties: { id: r.service_request_id },
    })),
  });
  if (found.length === 0) {
    list.replaceChildren(el("li", { text: `Aucun signalement ouvert à moins de ${NEAR_RADIUS_M} m.` }));
    return;
  }
  found.sort((a, b) => distance(lon, lat, a.long, a.lat) - distance(lon, lat, b.long, b.lat));
  list.replaceChildren(...found.map((r) => nearbyItem(r, lon, lat)));
}

export function nearbyItem(r, lon, lat) {
  const metres = Math.round(distance(lon, lat, r.long, r.lat));
  const already = isFollowed(r.service_request_id);
  const button = el("button", {
    type: "button",
    class: "secondaire",
    text: already ? "Déjà suivi" : "Suivre ce signalement",
    disabled: already,
    "aria-label": `${already ? "Déjà suivi" : "Suivre ce signalement"} (n° ${r.service_request_id})`,
    onclick: (e) => {
      follow({
        id: r.service_request_id,
        service_name: r.service_name,
        etat: r.workflow_state,
        notes: r.status_notes,
        maj: r.updated_datetime,
        envoye: new Date().toISOString(),
        suivi: true,
      });
      e.currentTarget.textContent = "Déjà suivi";
      e.currentTarget.disabled = true;
      document.dispatchEvent(new CustomEvent("suivi-change"));
    },
  });
  return el(
    "li",
    { "data-id": r.service_request_id },
    el("h3", { text: `${r.service_name} — à ${metres} m` }),
    el("p", {}, el("span", { class: `etat etat-${r.workflow_state}`, text: ETATS[r.workflow_state] || r.status })),
    r.description ? el("p", { text: r.description }) : null,
    el("p", { class: "aide", text: `N° ${r.service_request_id}, signalé le ${dateTime(r.requested_datetime)}` }),
    button,
  );
}
