// The "Veille" panel of the map (analysts, administrators): one's alert rules, listed,
// created and deleted through /alerts/rules (issue 16 §4).
import { getJson, send } from "./api.js";
import { esc } from "./panneau.js";

const $ = (id) => document.getElementById(id);
const ROLES = new Set(["analyst", "admin"]);
export const CONDITIONS = {
  new_hotspot: "Nouveau point chaud",
  intensifying_hotspot: "Point chaud en intensification",
  consecutive_hotspot: "Point chaud consécutif",
  forecast_top1: "Prévision dans le 1 % le plus exposé",
  count_exceeds: "Nombre de faits inhabituel (test de Poisson)",
};
const ZONE_KINDS = { commune: "Toute la ville", arrondissement: "Arrondissement", quartier: "Quartier", zone: "Zone enregistrée" };
const AREA_COLLECTIONS = { arrondissement: "arrondissements", quartier: "quartiers" };
const areas = {};
let ctx = null;

async function zoneOptions(kind) {
  if (kind === "commune") return [];
  if (kind === "zone") return ctx.zones().map((z) => ({ code: String(z.id), name: z.name }));
  if (!areas[kind]) {
    const doc = await getJson(`/collections/${AREA_COLLECTIONS[kind]}/items`, { limit: 500, properties: "code,name" });
    areas[kind] = doc.features.map((f) => ({ code: String(f.properties.code), name: f.properties.name }))
      .sort((a, b) => a.name.localeCompare(b.name, "fr"));
  }
  return areas[kind];
}

async function fillZones() {
  const kind = $("regle-type-zone").value;
  const options = await zoneOptions(kind);
  const select = $("regle-zone");
  select.disabled = kind === "commune";
  select.innerHTML = kind === "commune" ? '<option value="">—</option>'
    : options.map((o) => `<option value="${esc(o.code)}">${esc(o.name)}</option>`).join("");
}

function zoneLabel(rule) {
  if (rule.zone_kind === "commune") return ZONE_KINDS.commune;
  const known = (areas[rule.zone_kind] || []).find((o) => o.code === rule.zone_code);
  return `${ZONE_KINDS[rule.zone_kind]} ${known ? known.name : rule.zone_code}`;
}

async function listRules() {
  const rules = (await getJson("/alerts/rules")).items;
  $("regles").innerHTML = rules.length ? rules.map((r) => `<li data-regle="${r.id}">
      <span class="regle-nom">${esc(r.name)}</span>${r.active ? "" : " <em>(désactivée)</em>"}<br>
      <small>${esc(CONDITIONS[r.condition] || r.condition)} — ${esc(zoneLabel(r))}${
        r.categories.length ? ` — ${esc(r.categories.join(", "))}` : ""}</small>
      <button type="button" class="supprimer-regle" data-id="${r.id}"
        aria-label="Supprimer la règle ${esc(r.name)}">Supprimer</button></li>`).join("")
    : '<li class="aide">Aucune règle : vous ne recevez aucune alerte.</li>';
}

async function create(event) {
  event.preventDefault();
  const kind = $("regle-type-zone").value;
  const body = {
    name: $("regle-nom").value,
    zone_kind: kind,
    zone_code: kind === "commune" ? null : $("regle-zone").value,
    condition: $("regle-condition").value,
    categories: [...$("regle-categories").selectedOptions].map((o) => o.value),
    email: $("regle-email").value.trim() || null,
    webhook_url: $("regle-webhook").value.trim() || null,
  };
  try {
    const rule = await (await send("POST", "/alerts/rules", body)).json();
    $("form-regle").reset();
    await fillZones();
    await listRules();
    ctx.message(rule.webhook_secret
      ? `Règle « ${rule.name} » créée. Secret du webhook, à conserver (il ne sera plus affiché) : ${rule.webhook_secret}`
      : `Règle « ${rule.name} » créée.`);
  } catch (err) { ctx.failed(err); }
}

async function remove(event) {
  const button = event.target.closest(".supprimer-regle");
  if (!button) return;
  try {
    await send("DELETE", `/alerts/rules/${button.dataset.id}`);
    await listRules();
    ctx.message("Règle supprimée.");
  } catch (err) { ctx.failed(err); }
}

// Show the panel to analysts and administrators; ``context``: the map's role, categories,
// saved zones and its message functions.
export async function setupVeille(context) {
  ctx = context;
  const allowed = ROLES.has(context.role);
  $("veille").hidden = !allowed;
  if (!allowed) return;
  $("regle-condition").innerHTML = Object.entries(CONDITIONS)
    .map(([code, label]) => `<option value="${code}">${esc(label)}</option>`).join("");
  $("regle-type-zone").innerHTML = Object.entries(ZONE_KINDS)
    .map(([code, label]) => `<option value="${code}">${esc(label)}</option>`).join("");
  $("regle-categories").innerHTML = context.categories
    .map((c) => `<option value="${esc(c.code)}">${esc(c.label)}</option>`).join("");
  if (!$("veille").dataset.pret) {
    $("veille").dataset.pret = "1";
    $("regle-type-zone").addEventListener("change", () => fillZones().catch(ctx.failed));
    $("form-regle").addEventListener("submit", create);
    $("regles").addEventListener("click", remove);
  }
  await fillZones();
  await listRules();
}
