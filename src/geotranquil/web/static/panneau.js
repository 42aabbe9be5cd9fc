// The side panel: one hexagon in detail, or a zone's report. Numbers go into cells marked with
// data-* attributes so that what is shown can be checked against the API.
import { patternOf } from "./palettes.js";

const num = new Intl.NumberFormat("fr-FR", { maximumFractionDigits: 3 });

export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => (
    { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

export function show(value, missing = "—") {
  if (value === null || value === undefined) return missing;
  return typeof value === "number" ? num.format(value) : esc(value);
}

const BIN_WORDS = { jour: ["jour", "jours", "du"], semaine: ["semaine", "semaines", "semaine du"],
  mois: ["mois", "mois", "mois de"] };

// A bar chart of counts per time bin in plain SVG, with an accessible text summary.
export function binChart(series, bin, title) {
  if (!series || series.length === 0) return '<p class="aide">Pas de série sur la période.</p>';
  const [one, many, prefix] = BIN_WORDS[bin] || [bin, bin, ""];
  const w = 320, h = 120, pad = 22;
  const max = Math.max(1, ...series.map((x) => x.n));
  const bw = (w - pad - 4) / series.length;
  const bars = series.map((x, i) => {
    const bh = ((h - pad - 6) * x.n) / max;
    return `<rect class="barre" x="${(pad + i * bw).toFixed(1)}" y="${(h - pad - bh).toFixed(1)}"
      width="${Math.max(1, bw - 1).toFixed(1)}" height="${bh.toFixed(1)}" data-debut="${esc(x.start)}"
      data-n="${x.n}"><title>${prefix} ${esc(x.start)} : ${x.n}</title></rect>`;
  }).join("");
  const total = series.reduce((s, x) => s + x.n, 0);
  return `<figure>
    <svg class="graphique" viewBox="0 0 ${w} ${h}" role="img" data-pas="${esc(bin)}"
      aria-label="${esc(title)} : ${total} événements sur ${series.length} ${series.length > 1 ? many : one}, au plus ${max} par ${one}">
      <line x1="${pad}" y1="${h - pad}" x2="${w}" y2="${h - pad}" stroke="#888"/>
      <text x="2" y="12">${max}</text><text x="2" y="${h - pad}">0</text>
      <text x="${pad}" y="${h - 6}">${esc(series[0].start)}</text>
      <text x="${w - 2}" y="${h - 6}" text-anchor="end">${esc(series[series.length - 1].start)}</text>
      ${bars}
    </svg>
    <figcaption class="aide">${esc(title)}</figcaption>
  </figure>`;
}

export function cellPanel(doc, role, bin) {
  const rows = doc.by_category.filter((c) => c.n > 0 || doc.by_category.length <= 12)
    .map((c) => `<tr data-categorie="${esc(c.category)}"><td>${esc(c.label)}</td>
      <td data-n="${c.n}">${show(c.n)}</td></tr>`).join("");
  const hot = doc.hot_spot;
  const emerging = doc.emerging;
  const forecast = doc.forecast;
  let events = "";
  if (role === "analyst" || role === "admin") {
    const list = (doc.latest_events || []).map((e) => `<tr><td>${esc(e.occurred_at.slice(0, 16).replace("T", " "))}</td>
      <td>${esc(e.category_label)}</td><td>${esc(e.address || "")}</td></tr>`).join("");
    events = `<h3>Derniers événements</h3>${list
      ? `<table class="evenements"><thead><tr><th>Date</th><th>Catégorie</th><th>Adresse</th></tr></thead><tbody>${list}</tbody></table>`
      : '<p class="aide">Aucun événement sur la période.</p>'}`;
  }
  return `<h2>Hexagone <code data-hex="${esc(doc.hex_id)}">${esc(doc.hex_id)}</code></h2>
    <dl class="chiffres">
      <dt>Résolution</dt><dd>${doc.resolution}</dd>
      <dt>Arrondissement / quartier</dt><dd>${show(doc.arrondissement_code)} / ${show(doc.quartier_code)}</dd>
      <dt>Événements</dt><dd data-champ="count">${show(doc.count)}</dd>
      <dt>Pour 1 000 habitants</dt><dd data-champ="rate_per_1000">${show(doc.rate_per_1000)}</dd>
      <dt>Habitants estimés</dt><dd>${show(doc.population)}</dd>
      <dt>Score z Gi*</dt><dd data-champ="z">${hot ? show(hot.z) : "—"}</dd>
      <dt>Classe Gi*</dt><dd data-champ="gi_label">${hot ? show(hot.gi_label) : "pas de calcul à cette résolution"}</dd>
      <dt>Tendance émergente</dt><dd>${emerging && patternOf(emerging.pattern)
        ? `<span class="symbole" aria-hidden="true">${esc(patternOf(emerging.pattern).symbol)}</span>` : ""}<span
        data-champ="pattern_label">${emerging ? show(emerging.pattern_label) : "—"}</span></dd>
      <dt>Rang de prévision</dt><dd data-champ="rank">${forecast ? `${show(forecast.rank)} (${forecast.top_class ? `${forecast.top_class} % les plus exposés` : "hors 20 %"})` : "—"}</dd>
    </dl>
    <h3>Par catégorie</h3>
    <table class="par-categorie"><thead><tr><th>Catégorie</th><th>Nombre</th></tr></thead>
      <tbody>${rows}</tbody></table>
    <h3>Par ${bin}</h3>
    ${binChart(doc.series, bin, `Événements par ${bin} dans l'hexagone`)}
    ${events}`;
}

// The public sees only what the counts layer carries (suppressed counts shown as « < seuil »).
export function publicCellPanel(props, categories, threshold) {
  const rows = categories.map((c) => {
    const v = props[`n_${c.code}`];
    return `<tr data-categorie="${esc(c.code)}"><td>${esc(c.label)}</td>
      <td>${v === undefined || v === null ? `&lt; ${threshold}` : show(v)}</td></tr>`;
  }).join("");
  return `<h2>Hexagone <code data-hex="${esc(props.hex_id)}">${esc(props.hex_id)}</code></h2>
    <dl class="chiffres">
      <dt>Événements</dt><dd data-champ="count">${props.count === undefined || props.count === null ? `&lt; ${threshold}` : show(props.count)}</dd>
      <dt>Pour 1 000 habitants</dt><dd>${show(props.rate_per_1000)}</dd>
    </dl>
    <h3>Par catégorie (catégories publiques)</h3>
    <table class="par-categorie"><tbody>${rows}</tbody></table>
    <p class="aide">Pour le public, les nombres sont arrondis au hasard à un multiple de 5 par
      semaine et catégorie, et ceux inférieurs à ${threshold} sont masqués.
      Connectez-vous avec une clé API pour le détail.</p>`;
}

export function reportPanel(doc, canSave, bin) {
  const t = doc.totals;
  const rows = doc.by_category.map((c) => `<tr data-categorie="${esc(c.category)}">
      <td>${esc(c.label)}</td><td data-n="${c.n}">${show(c.n)}</td>
      <td data-n-previous="${c.n_previous}">${show(c.n_previous)}</td>
      <td>${c.change_pct === null ? "—" : `${c.change > 0 ? "+" : ""}${show(c.change_pct)} %`}</td>
      <td>${show(c.rate_per_1000)}</td><td>${show(c.ratio_to_city)}</td></tr>`).join("");
  const hot = doc.hot_cells.features.length;
  const emerging = doc.emerging_cells.features.length;
  return `<h2>Rapport : ${esc(doc.zone.name)}</h2>
    <p class="aide">Du ${esc(doc.period.start)} au ${esc(doc.period.end)}, comparé au
      ${esc(doc.period.previous_start)} – ${esc(doc.period.previous_end)}.
      Surface ${show(doc.zone.area_km2)} km², ${show(doc.zone.residents)} habitants estimés.</p>
    <dl class="chiffres">
      <dt>Événements</dt><dd data-champ="total">${show(t.n)}</dd>
      <dt>Période précédente</dt><dd data-champ="total_previous">${show(t.n_previous)}</dd>
      <dt>Évolution</dt><dd data-champ="change">${t.change > 0 ? "+" : ""}${show(t.change)}${t.change_pct === null ? "" : ` (${t.change > 0 ? "+" : ""}${show(t.change_pct)} %)`}</dd>
      <dt>Pour 1 000 habitants</dt><dd data-champ="rate_per_1000">${show(t.rate_per_1000)}</dd>
      <dt>Rapport à la ville</dt><dd data-champ="ratio_to_city">${show(t.ratio_to_city)}</dd>
      <dt>Hexagones chauds (Gi*)</dt><dd data-champ="hot_cells">${hot}</dd>
      <dt>Hexagones émergents</dt><dd data-champ="emerging_cells">${emerging}</dd>
    </dl>
    <div class="boutons-ligne">
      ${canSave ? '<button type="button" id="enregistrer-zone">Enregistrer la zone</button>' : ""}
      <button type="button" id="export-csv">Exporter les chiffres (CSV)</button>
      <button type="button" id="export-geojson">Exporter les hexagones (GeoJSON)</button>
    </div>
    <form id="form-zone" hidden>
      <label for="nom-zone">Nom de la zone</label>
      <input id="nom-zone" type="text" required maxlength="200">
      <button type="submit">Enregistrer</button>
    </form>
    <h3>Par catégorie</h3>
    <div class="defilement" tabindex="0" aria-label="Tableau par catégorie">
    <table class="par-categorie"><thead><tr><th>Catégorie</th><th>Nombre</th><th>Avant</th>
      <th>Évol.</th><th>‰ hab.</th><th>/ ville</th></tr></thead><tbody>${rows}</tbody></table>
    </div>
    <h3>Par ${bin}</h3>
    ${binChart(doc.series, bin, `Événements par ${bin} dans la zone`)}
    ${doc.notes.length ? `<p class="aide">${doc.notes.map(esc).join(" ; ")}</p>` : ""}`;
}
