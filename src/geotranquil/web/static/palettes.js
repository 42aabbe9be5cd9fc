// Colours and legends of the layers. The colours live in palettes.json, read by this module and
// by the colour-blindness test (tests/web/test_palettes.py): neighbouring classes of every legend
// stay distinct under deuteranopia, protanopia and tritanopia. The sixteen emerging patterns
// cannot all be told apart by colour alone: warm (hot) and cool (cold) families and neighbours in
// the legend are distinct, and each pattern carries a symbol (▲/▼ and a letter) shown in the
// legend and in the panel.
import PALETTES from "./palettes.json" with { type: "json" };

export const GI_BINS = PALETTES.gi_bins;
export const PATTERNS = PALETTES.patterns;
export const SEQUENTIAL = PALETTES.sequential;
export const FORECAST_CLASSES = PALETTES.forecast;
export const FILL_OPACITY = PALETTES.fill_opacity;
export const CLASS_COUNT = SEQUENTIAL.length;

// Class limits from the data --------------------------------------------------------------------
// Quantile classes: the positive values sorted, the limits are the values at ranks
// floor(k × N / 7) for k = 0…6, repeated limits dropped (ties make fewer classes). Class k holds
// the values from its limit up to (not including) the next one; the last one is open.
export function quantileBreaks(values, classes = CLASS_COUNT) {
  const sorted = values.filter((v) => typeof v === "number" && v > 0).sort((a, b) => a - b);
  if (sorted.length === 0) return [];
  const breaks = [];
  for (let k = 0; k < classes; k += 1) {
    const b = sorted[Math.floor((k * sorted.length) / classes)];
    if (breaks.length === 0 || b > breaks[breaks.length - 1]) breaks.push(b);
  }
  return breaks;
}

// Colours for n classes, spread over the sequential ramp (light to dark).
function rampColours(n) {
  if (n === 1) return [SEQUENTIAL[Math.floor(SEQUENTIAL.length / 2)]];
  return Array.from({ length: n }, (_, i) => SEQUENTIAL[Math.round((i * (SEQUENTIAL.length - 1)) / (n - 1))]);
}

export function sequential(breaks, values = []) {
  const colours = rampColours(breaks.length);
  return breaks.map((b, i) => {
    const to = breaks[i + 1];
    const n = values.filter((v) => typeof v === "number" && v >= b && (to === undefined || v < to)).length;
    return { from: b, to, color: colours[i], n };
  });
}

// MapLibre paint expressions ------------------------------------------------------------------
function opacityOf(entry) {
  return entry.opacity ?? FILL_OPACITY;
}

export function giFill() {
  return ["match", ["get", "gi_bin"], ...GI_BINS.flatMap((b) => [b.bin, b.color]), "#f7f7f7"];
}

export function giOpacity() {
  return ["match", ["get", "gi_bin"], ...GI_BINS.flatMap((b) => [b.bin, opacityOf(b)]), FILL_OPACITY];
}

export function patternFill() {
  return ["match", ["get", "pattern"], ...PATTERNS.flatMap((p) => [p.code, p.color]), "#e0e0e0"];
}

export function patternOpacity() {
  return ["match", ["get", "pattern"], ...PATTERNS.flatMap((p) => [p.code, opacityOf(p)]), 0.2];
}

// A statistic's layer, by its style (stats/registry.py): Gi* confidence bins, emerging
// patterns, or any z-score classed like the Gi* bins (|z| at 1.645, 1.960 and 2.576: the 90,
// 95 and 99 % two-sided normal thresholds).
const Z_LIMITS = [-2.576, -1.96, -1.645, 1.645, 1.96, 2.576];
const Z_LABELS = {
  3: "z ≥ 2,576 (99 %)", 2: "z ≥ 1,96 (95 %)", 1: "z ≥ 1,645 (90 %)", 0: "Non significatif",
  "-1": "z ≤ −1,645 (90 %)", "-2": "z ≤ −1,96 (95 %)", "-3": "z ≤ −2,576 (99 %)",
};

function zFill() {
  const byBin = new Map(GI_BINS.map((b) => [b.bin, b]));
  const expr = ["step", ["coalesce", ["get", "z"], 0], byBin.get(-3).color];
  Z_LIMITS.forEach((limit, i) => expr.push(limit, byBin.get(i - 2).color));
  return expr;
}

function zOpacity() {
  const expr = ["step", ["coalesce", ["get", "z"], 0], FILL_OPACITY];
  Z_LIMITS.forEach((limit, i) => expr.push(limit, i === 2 ? opacityOf(GI_BINS.find((b) => b.bin === 0)) : FILL_OPACITY));
  return expr;
}

export function statisticPaint(style) {
  switch (style) {
    case "gi_bins": return { "fill-color": giFill(), "fill-opacity": giOpacity() };
    case "patterns": return { "fill-color": patternFill(), "fill-opacity": patternOpacity() };
    default: return { "fill-color": zFill(), "fill-opacity": zOpacity() };
  }
}

export function stepFill(property, breaks) {
  if (breaks.length === 0) return "rgba(0,0,0,0)";
  const expr = ["step", ["coalesce", ["get", property], 0], "rgba(0,0,0,0)"];
  for (const c of sequential(breaks)) expr.push(c.from, c.color);
  return expr;
}

export function forecastFill() {
  return ["match", ["get", "top_class"], ...FORECAST_CLASSES.flatMap((c) => [c.top, c.color]),
    "rgba(0,0,0,0)"];
}

// Legends ------------------------------------------------------------------------------------
const fmtCount = new Intl.NumberFormat("fr-FR", { maximumFractionDigits: 0 });
const fmtRate = new Intl.NumberFormat("fr-FR", { maximumFractionDigits: 3 });

export function patternOf(code) {
  return PATTERNS.find((p) => p.code === code);
}

// items: { label, color, opacity, symbol?, from?, to?, n? }
export function legendItems(layer, classes = null) {
  switch (layer) {
    case "gi_bins":
      return GI_BINS.map((b) => ({ label: b.label, color: b.color, opacity: opacityOf(b) }));
    case "z":
      return GI_BINS.map((b) => ({ label: Z_LABELS[b.bin], color: b.color, opacity: opacityOf(b) }));
    case "patterns":
      return PATTERNS.map((p) => ({ label: p.label, color: p.color, opacity: opacityOf(p), symbol: p.symbol }));
    case "counts":
    case "rates": {
      const fmt = layer === "counts" ? fmtCount : fmtRate;
      return (classes || []).map((c) => ({
        label: c.to === undefined ? `${fmt.format(c.from)} et plus`
          : layer === "counts" && c.to === c.from + 1 ? `${fmt.format(c.from)}`
          : `${fmt.format(c.from)} à moins de ${fmt.format(c.to)}`,
        color: c.color, opacity: FILL_OPACITY, from: c.from, to: c.to, n: c.n,
      }));
    }
    case "forecast":
      return FORECAST_CLASSES.map((c) => ({ label: c.label, color: c.color, opacity: FILL_OPACITY }));
    default:
      return [];
  }
}
