// The base map under both maps (the analysts' /carte and the residents' /habitants/).
//
// Offline, by default: the platform's own outlines and, from zoom 15, the streets' names of the
// Base Adresse Nationale written along their addresses (vector tiles and glyphs of our own
// server, nothing from the internet). Online, when the server says it answers right now: a
// MapLibre style (GEOTRANQUIL_WEB_BASEMAP_STYLE_URL, Plan IGN in production) or a raster
// template (GEOTRANQUIL_WEB_BASEMAP_URL). Anything that fails leaves the offline view.

export const STREETS_MIN_ZOOM = 15;
export const STREETS_LAYER = "rues";
const GLYPHS = `${window.location.origin}/carte/glyphs/{fontstack}/{range}.pbf`;
const FONT = ["DejaVu Sans Book"]; // any name: the server draws its one font
const PREFIX = "plan-"; // the remote style's sources and layers, renamed away from ours

/** Our own vector base map (outlines, label points, streets). */
export function ownSource() {
  return { type: "vector", tiles: [`${window.location.origin}/tiles/basemap/{z}/{x}/{y}.mvt`], maxzoom: 16 };
}

/** The streets' names along their addresses, from zoom 15. */
export function streetLayer() {
  return {
    id: STREETS_LAYER, type: "symbol", source: "fond", "source-layer": "streets", minzoom: STREETS_MIN_ZOOM,
    layout: {
      "symbol-placement": "line", "text-field": ["get", "name"], "text-font": FONT, "text-size": 12,
      "text-max-angle": 35, "symbol-spacing": 320, "text-padding": 4,
    },
    paint: { "text-color": "#2b2f36", "text-halo-color": "#ffffff", "text-halo-width": 1.6 },
  };
}

async function remoteStyle(url) {
  if (!url || navigator.onLine === false) return null;
  try {
    const response = await fetch(url);
    if (!response.ok) return null;
    const style = await response.json();
    return style && style.version === 8 && Array.isArray(style.layers) ? style : null;
  } catch (_) {
    return null; // the server found it a moment ago; now it is gone: the offline view
  }
}

function renamed(style) {
  const sources = {};
  for (const [id, source] of Object.entries(style.sources || {})) sources[PREFIX + id] = source;
  const layers = style.layers.map((layer) => (
    layer.source ? { ...layer, id: PREFIX + layer.id, source: PREFIX + layer.source } : { ...layer, id: PREFIX + layer.id }
  ));
  return { sources, layers };
}

/**
 * The page's style: ``own`` ({ sources, layers }: its background first, its outlines, then its
 * own overlays) over the base map the server offers now. ``rasterOpacity``: the raster's.
 * The result's ``metadata["geotranquil:fond"]`` says which base map is drawn: "style",
 * "raster" or "hors-ligne" (offline: our streets).
 */
export async function baseMapStyle(config, own, { rasterOpacity = 1 } = {}) {
  const [background, ...rest] = own.layers;
  const outlines = rest.filter((l) => l.source === "fond");
  const overlays = rest.filter((l) => l.source !== "fond");
  const remote = await remoteStyle(config.basemap_style_url);
  if (remote) {
    const { sources, layers } = renamed(remote);
    return {
      ...remote,
      metadata: { ...(remote.metadata || {}), "geotranquil:fond": "style" },
      sources: { ...sources, ...own.sources, fond: ownSource() },
      layers: [...layers, ...outlines, ...overlays],
    };
  }
  const sources = { ...own.sources, fond: ownSource() };
  const layers = [background];
  let kind = "hors-ligne";
  if (config.basemap_url) {
    kind = "raster";
    sources.raster = {
      type: "raster", tiles: [config.basemap_url], tileSize: 256, attribution: config.basemap_attribution || "",
    };
    layers.push({ id: "raster", type: "raster", source: "raster", paint: { "raster-opacity": rasterOpacity } });
  }
  layers.push(...outlines);
  if (kind === "hors-ligne") layers.push(streetLayer()); // a base map has its own names
  layers.push(...overlays);
  return { version: 8, glyphs: GLYPHS, metadata: { "geotranquil:fond": kind }, sources, layers };
}
