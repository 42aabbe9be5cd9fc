// Colours and legends of the layers. Palettes chosen to stay readable for colour-blind users:
// ColorBrewer RdBu (diverging) for Gi*, YlGnBu (sequential) for counts and rates, Purples for the
// forecast; emerging patterns pair warm hues (hot) with cool hues (cold), light to dark by kind.

export const GI_BINS = [
  { bin: 3, label: "Point chaud — 99 %", color: "#b2182b" },
  { bin: 2, label: "Point chaud — 95 %", color: "#ef8a62" },
  { bin: 1, label: "Point chaud — 90 %", color: "#fddbc7" },
  { bin: 0, label: "Non significatif", color: "#f7f7f7" },
  { bin: -1, label: "Point froid — 90 %", color: "#d1e5f0" },
  { bin: -2, label: "Point froid — 95 %", color: "#67a9cf" },
  { bin: -3, label: "Point froid — 99 %", color: "#2166ac" },
];

export const PATTERNS = [
  { code: "new_hot", label: "Nouveau point chaud", color: "#fdd0a2" },
  { code: "consecutive_hot", label: "Point chaud consécutif", color: "#fdae6b" },
  { code: "intensifying_hot", label: "Point chaud en intensification", color: "#e6550d" },
  { code: "persistent_hot", label: "Point chaud persistant", color: "#a63603" },
  { code: "diminishing_hot", label: "Point chaud en diminution", color: "#fcbba1" },
  { code: "sporadic_hot", label: "Point chaud sporadique", color: "#fb6a4a" },
  { code: "oscillating_hot", label: "Point chaud oscillant", color: "#cb181d" },
  { code: "historical_hot", label: "Point chaud historique", color: "#67000d" },
  { code: "new_cold", label: "Nouveau point froid", color: "#c6dbef" },
  { code: "consecutive_cold", label: "Point froid consécutif", color: "#9ecae1" },
  { code: "intensifying_cold", label: "Point froid en intensification", color: "#4292c6" },
  { code: "persistent_cold", label: "Point froid persistant", color: "#08519c" },
  { code: "diminishing_cold", label: "Point froid en diminution", color: "#ccece6" },
  { code: "sporadic_cold", label: "Point froid sporadique", color: "#66c2a4" },
  { code: "oscillating_cold", label: "Point froid oscillant", color: "#238b45" },
  { code: "historical_cold", label: "Point froid historique", color: "#00441b" },
  { code: "no_pattern", label: "Aucune tendance", color: "#e0e0e0" },
];

const SEQUENTIAL = ["#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#0c2c84"];
export const COUNT_BREAKS = [1, 3, 5, 10, 20, 50, 100];
export const RATE_BREAKS = [0.5, 1, 2, 5, 10, 20, 50];

export const FORECAST_CLASSES = [
  { top: 1, label: "1 % de la zone le plus exposé", color: "#3f007d" },
  { top: 5, label: "5 % (au-delà du 1 %)", color: "#6a51a3" },
  { top: 10, label: "10 % (au-delà des 5 %)", color: "#9e9ac8" },
];

export const FILL_OPACITY = 0.8;

export function sequential(breaks) {
  return breaks.map((b, i) => ({ from: b, to: breaks[i + 1], color: SEQUENTIAL[i] }));
}

// MapLibre paint expressions ------------------------------------------------------------------
export function giFill() {
  return ["match", ["get", "gi_bin"], ...GI_BINS.flatMap((b) => [b.bin, b.color]), "#f7f7f7"];
}

export function giOpacity() {
  return ["case", ["==", ["get", "gi_bin"], 0], 0.25, FILL_OPACITY];
}

export function patternFill() {
  return ["match", ["get", "pattern"], ...PATTERNS.flatMap((p) => [p.code, p.color]), "#e0e0e0"];
}

export function patternOpacity() {
  return ["case", ["==", ["get", "pattern"], "no_pattern"], 0.2, FILL_OPACITY];
}

export function stepFill(property, breaks) {
  const classes = sequential(breaks);
  const expr = ["step", ["coalesce", ["get", property], 0], "rgba(0,0,0,0)"];
  for (const c of classes) expr.push(c.from, c.color);
  return expr;
}

export function forecastFill() {
  return ["match", ["get", "top_class"], ...FORECAST_CLASSES.flatMap((c) => [c.top, c.color]),
    "rgba(0,0,0,0)"];
}

// Legends ------------------------------------------------------------------------------------
const fmt = new Intl.NumberFormat("fr-FR", { maximumFractionDigits: 1 });

export function legendItems(layer) {
  switch (layer) {
    case "hotspots":
      return GI_BINS.map((b) => ({ label: b.label, color: b.color }));
    case "emerging":
      return PATTERNS.map((p) => ({ label: p.label, color: p.color }));
    case "counts":
    case "rates": {
      const breaks = layer === "counts" ? COUNT_BREAKS : RATE_BREAKS;
      return sequential(breaks).map((c) => ({
        label: c.to === undefined ? `${fmt.format(c.from)} et plus`
          : `${fmt.format(c.from)} à moins de ${fmt.format(c.to)}`,
        color: c.color,
      }));
    }
    case "forecast":
      return FORECAST_CLASSES.map((c) => ({ label: c.label, color: c.color }));
    default:
      return [];
  }
}
