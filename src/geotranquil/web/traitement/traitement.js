// Traitement des signalements: the staff's page (agent, analyst, admin). The list by state and
// category, one report with its author's data, photo and history, and the workflow move with
// the note the resident reads. Every call carries the key typed in (kept for this tab only), or
// else the session of the person signed in with the City's account (a cookie the page never sees).

import { ETATS, dateTime, describe, el, newMap } from "/habitants/static/commun.js";

const KEY = "geotranquil.cle";
const PAGE = 50;
const ROLES = { agent: "agent", analyst: "analyste", admin: "administrateur" };
const $ = (id) => document.getElementById(id);
const state = { offset: 0, total: 0, current: null, map: null, marker: null, photoUrl: null, services: [], sso: null };

function key() {
  return sessionStorage.getItem(KEY);
}

// signed in with the City's account (single sign-on): the server keeps the session
function ssoSignedIn() {
  return Boolean(state.sso && state.sso.signed_in);
}

async function call(method, path, { params = {}, body } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(params)) if (v !== "" && v !== null && v !== undefined) url.searchParams.set(k, v);
  const headers = key() ? { "X-API-Key": key() } : {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!response.ok) {
    const error = new Error(await describe(response));
    error.status = response.status;
    throw error;
  }
  return response;
}

function message(kind, text) {
  $("message").className = `message ${kind}`;
  $("message").textContent = text;
}

function badge(s) {
  return el("span", { class: `etat etat-${s}`, text: ETATS[s] || s });
}

// --- sign in ------------------------------------------------------------------------------------
async function signIn(event) {
  event.preventDefault();
  const typed = $("cle").value.trim();
  if (!typed) {
    message("erreur", "Saisissez votre clé API (rôle agent, analyste ou administrateur).");
    $("cle").focus();
    return;
  }
  sessionStorage.setItem(KEY, typed);
  $("cle").value = "";
  message("", "");
  state.offset = 0;
  await refresh();
}

function signOut() {
  if (!key() && ssoSignedIn()) { // ends the City's session too, then comes back here
    window.location.assign("/auth/deconnexion?retour=/traitement");
    return;
  }
  sessionStorage.removeItem(KEY);
  showSignedIn(null);
  $("tableau").querySelector("tbody").replaceChildren();
  $("compte").textContent = "";
  clearDetail();
  message("ok", "Déconnecté.");
}

function showSignedIn(role) {
  const who = role && !key() && ssoSignedIn() ? ` (${state.sso.name})` : "";
  $("role").textContent = role ? `Connecté : ${ROLES[role] || role}${who}` : "Non connecté";
  $("compte-ville").hidden = Boolean(role) || !(state.sso && state.sso.configured);
  $("se-deconnecter").hidden = !role;
  $("se-connecter").hidden = Boolean(role);
  $("cle").hidden = Boolean(role);
  document.querySelector("label[for=cle]").hidden = Boolean(role);
  document.body.dataset.role = role || "aucun";
}

// --- list ---------------------------------------------------------------------------------------
function chosenStates() {
  return [...document.querySelectorAll("#etats input:checked")].map((i) => i.value).join(",");
}

async function refresh() {
  if (!key() && !ssoSignedIn()) {
    showSignedIn(null);
    message("", "");
    document.body.dataset.page = "pret";
    return;
  }
  document.body.dataset.page = "chargement";
  let page;
  try {
    page = await (await call("GET", "/signalements", {
      params: { state: chosenStates(), service_code: $("service").value, limit: PAGE, offset: state.offset },
    })).json();
  } catch (err) {
    if ((err.status === 401 || err.status === 403) && !key()) {
      showSignedIn(null);
      $("se-deconnecter").hidden = false; // the City's session stays open: offer to end it
      message("erreur", `Votre compte Ville ne donne pas accès aux signalements (rôles agent, analyste ou administrateur) : ${err.message}`);
    } else if (err.status === 401 || err.status === 403) {
      sessionStorage.removeItem(KEY);
      showSignedIn(null);
      message("erreur", err.status === 401
        ? `Clé refusée : ${err.message}`
        : `Cette clé ne donne pas accès aux signalements (rôles agent, analyste ou administrateur) : ${err.message}`);
    } else {
      message("erreur", `Liste indisponible : ${err.message}`);
    }
    document.body.dataset.page = "pret";
    return;
  }
  showSignedIn(page.role);
  state.total = page.total;
  const tbody = $("tableau").querySelector("tbody");
  tbody.replaceChildren(
    ...page.items.map((r) =>
      el(
        "tr",
        { "data-id": r.service_request_id, "aria-current": state.current === r.service_request_id ? "true" : null },
        el("td", {}, el("button", {
          type: "button", text: r.service_request_id, "aria-label": `Ouvrir le signalement n° ${r.service_request_id}`,
          onclick: () => open(r.service_request_id),
        })),
        el("td", { text: dateTime(r.requested_datetime) }),
        el("td", { text: r.service_name }),
        el("td", {}, badge(r.workflow_state)),
        el("td", { text: r.address || `${r.lat.toFixed(5)}, ${r.long.toFixed(5)}` }),
        el("td", { text: [r.has_photo ? "photo" : null, r.has_contact ? "coordonnées" : null, r.duplicate_of ? `doublon de ${r.duplicate_of}` : null].filter(Boolean).join(", ") || "—" }),
      ),
    ),
  );
  const last = Math.min(state.offset + page.items.length, page.total);
  $("compte").textContent = page.total
    ? `${state.offset + 1} à ${last} sur ${page.total} signalement${page.total > 1 ? "s" : ""}`
    : "Aucun signalement pour ces critères.";
  $("precedents").disabled = state.offset === 0;
  $("suivants").disabled = last >= page.total;
  document.body.dataset.page = "pret";
}

// --- one report ---------------------------------------------------------------------------------
function clearDetail() {
  state.current = null;
  const box = $("detail");
  box.dataset.contenu = "vide";
  box.replaceChildren(el("h2", { id: "detail-titre", tabindex: "-1", text: "Détail" }), el("p", { class: "aide", text: "Choisissez un signalement dans la liste." }));
  state.map = null;
}

async function open(id) {
  let doc;
  try {
    doc = await (await call("GET", `/signalements/${encodeURIComponent(id)}`)).json();
  } catch (err) {
    message("erreur", `Signalement ${id} illisible : ${err.message}`);
    return;
  }
  state.current = id;
  for (const row of document.querySelectorAll("#tableau tbody tr")) {
    row.setAttribute("aria-current", String(row.dataset.id === id));
  }
  await drawDetail(doc);
  $("detail-titre").focus();
}

async function drawDetail(doc) {
  const box = $("detail");
  const contact = doc.contact || {};
  const hasContact = ["first_name", "last_name", "email", "phone"].some((k) => contact[k]);
  const attributes = Object.entries(doc.attributes || {});
  const form = el("form", { id: "changement" });
  form.append(
    el("h3", { text: "Faire avancer le signalement" }),
    el("label", { for: "nouvel-etat", text: "Nouvel état" }),
    el("select", { id: "nouvel-etat", required: true },
      el("option", { value: doc.workflow_state, text: `${ETATS[doc.workflow_state]} (inchangé : note seule)` }),
      ...doc.next_states.map((s) => el("option", { value: s.state, text: ETATS[s.state] || s.label }))),
    el("label", { for: "note", text: "Note pour l'habitant (publique, sans donnée personnelle)" }),
    el("textarea", { id: "note", maxlength: "2000" }),
    el("label", { for: "prevue", text: "Intervention prévue le (facultatif)" }),
    el("input", { id: "prevue", type: "datetime-local" }),
    el("label", { class: "case" },
      el("input", { id: "publier", type: "checkbox", checked: Boolean(doc.description_published_datetime) }),
      "Publier la description (le public la lira, telle que ci-dessous)"),
    el("label", { for: "description-publique", text: "Description publique (retirez toute donnée personnelle)" }),
    el("textarea", { id: "description-publique", maxlength: "4000" }),
    el("button", { type: "submit", class: "principal", text: "Enregistrer" }),
  );
  form.querySelector("#description-publique").value = doc.public_description || doc.description || "";
  form.addEventListener("submit", (e) => save(e, doc).catch((err) => message("erreur", err.message)));
  box.dataset.contenu = "signalement";
  box.replaceChildren(
    el("h2", { id: "detail-titre", tabindex: "-1", text: `Signalement n° ${doc.service_request_id}` }),
    el("p", {}, badge(doc.workflow_state), " ", doc.service_name),
    el("dl", {},
      el("dt", { text: "Reçu le" }), el("dd", { text: dateTime(doc.requested_datetime) }),
      el("dt", { text: "Mis à jour" }), el("dd", { text: dateTime(doc.updated_datetime) }),
      doc.expected_datetime ? [el("dt", { text: "Prévu le" }), el("dd", { text: dateTime(doc.expected_datetime) })] : [],
      el("dt", { text: "Lieu" }), el("dd", { text: `${doc.address ? `${doc.address} — ` : ""}${doc.lat.toFixed(5)}, ${doc.long.toFixed(5)} (${doc.location_precision})` }),
      doc.duplicate_of ? [el("dt", { text: "Doublon de" }), el("dd", { text: `n° ${doc.duplicate_of}` })] : [],
      el("dt", { text: "Description" }), el("dd", { text: doc.description || "—" }),
      el("dt", { text: "Description publique" }), el("dd", { text: doc.description_published_datetime ? `publiée le ${dateTime(doc.description_published_datetime)} : « ${doc.public_description || ""} »` : "non publiée (le public ne lit pas la description)" }),
      ...attributes.map(([k, v]) => attributeRow(doc.service_code, k, v)),
      doc.status_notes ? [el("dt", { text: "Note publique" }), el("dd", { text: doc.status_notes })] : [],
    ),
    el("div", { id: "mini-carte", class: "mini-carte", role: "region", "aria-label": `Carte de la position du signalement : ${doc.lat.toFixed(5)}, ${doc.long.toFixed(5)}` }),
    el("h3", { text: "Auteur (données personnelles)" }),
    hasContact
      ? el("div", { class: "personnel" },
        el("dl", {},
          contact.first_name || contact.last_name ? [el("dt", { text: "Nom" }), el("dd", { text: [contact.first_name, contact.last_name].filter(Boolean).join(" ") })] : [],
          contact.email ? [el("dt", { text: "Courriel" }), el("dd", { text: contact.email })] : [],
          contact.phone ? [el("dt", { text: "Téléphone" }), el("dd", { text: contact.phone })] : []),
        el("p", { class: "aide", text: `Effacées automatiquement le ${dateTime(contact.delete_after)}. Ne les recopiez pas dans la note publique.` }))
      : el("p", { class: "aide", text: "Aucune coordonnée laissée (ou déjà effacée)." }),
    el("h3", { text: "Photo" }),
    doc.photo ? el("div", { id: "photo" }, el("p", { class: "aide", text: "Chargement de la photo…" })) : el("p", { class: "aide", text: "Pas de photo." }),
    el("h3", { text: "Historique" }),
    el("ol", { class: "historique" }, ...doc.history.map((h) =>
      el("li", { text: `${dateTime(h.changed_at)} : ${h.from_state ? `${ETATS[h.from_state]} → ` : ""}${ETATS[h.to_state]}${h.changed_by ? ` (${h.changed_by})` : ""}${h.notes ? ` — « ${h.notes} »` : ""}` }))),
    form,
  );
  const map = await newMap("mini-carte", {}); // the offline base map: outlines, streets
  map.jumpTo({ center: [doc.long, doc.lat], zoom: 16 });
  new maplibregl.Marker({ color: "#b3261e" }).setLngLat([doc.long, doc.lat]).addTo(map);
  state.map = map;
  if (doc.photo) await showPhoto(doc);
}

/** An answer to a service's question, in words (the service definitions of the app's config). */
function attributeRow(serviceCode, code, value) {
  const service = state.services.find((s) => s.service_code === serviceCode);
  const question = service && service.attributes.find((a) => a.code === code);
  const words = (v) => (question && question.values.find((x) => x.key === v)?.name) || String(v);
  const text = Array.isArray(value) ? value.map(words).join(", ") : words(value);
  return [el("dt", { text: question ? question.description : code }), el("dd", { text })];
}

async function showPhoto(doc) {
  if (state.photoUrl) URL.revokeObjectURL(state.photoUrl);
  try {
    const blob = await (await call("GET", doc.photo.href)).blob();
    state.photoUrl = URL.createObjectURL(blob);
    $("photo").replaceChildren(
      el("img", { src: state.photoUrl, alt: `Photo jointe au signalement n° ${doc.service_request_id}` }),
      el("p", { class: "aide", text: `${doc.photo.width} × ${doc.photo.height} pixels, métadonnées effacées à la réception.` }),
    );
  } catch (err) {
    $("photo").replaceChildren(el("p", { text: `Photo indisponible : ${err.message}` }));
  }
}

async function save(event, doc) {
  event.preventDefault();
  const next = $("nouvel-etat").value;
  const notes = $("note").value.trim();
  const expected = $("prevue").value;
  const publish = $("publier").checked;
  const publicText = $("description-publique").value.trim();
  const publishChanged = publish !== Boolean(doc.description_published_datetime)
    || (publish && publicText !== (doc.public_description || ""));
  if (next === doc.workflow_state && !notes && !expected && !publishChanged) {
    message("erreur", "Rien à enregistrer : choisissez un nouvel état, écrivez une note ou une date prévue.");
    $("nouvel-etat").focus();
    return;
  }
  const body = { state: next, notes: notes || doc.status_notes || null };
  if (expected) body.expected_datetime = new Date(expected).toISOString();
  if (publishChanged) {
    body.publish_description = publish;
    if (publish && publicText) body.public_description = publicText;
  }
  const updated = await (await call("PATCH", `/signalements/${encodeURIComponent(doc.service_request_id)}`, { body })).json();
  message("ok", `Signalement n° ${doc.service_request_id} : ${ETATS[updated.workflow_state]}. L'habitant verra la note à sa prochaine visite.`);
  await drawDetail(updated);
  await refresh();
}

// --- start --------------------------------------------------------------------------------------
async function start() {
  let services = [];
  try {
    services = (await (await fetch("/habitants/config.json")).json()).services;
  } catch (_) { /* the filter keeps "Toutes" only */ }
  state.services = services;
  try {
    state.sso = await (await fetch("/auth/session")).json();
  } catch (_) { state.sso = null; /* API keys only */ }
  $("service").append(...services.map((s) => el("option", { value: s.service_code, text: s.service_name })));
  $("etats").replaceChildren(...Object.entries(ETATS).map(([code, label]) =>
    el("label", {}, el("input", { type: "checkbox", value: code, checked: code === "received" || code === "in_progress" }), label)));
  $("connexion").addEventListener("submit", (e) => signIn(e).catch((err) => message("erreur", err.message)));
  $("se-deconnecter").addEventListener("click", signOut);
  $("filtres").addEventListener("submit", (e) => { e.preventDefault(); state.offset = 0; refresh(); });
  $("precedents").addEventListener("click", () => { state.offset = Math.max(0, state.offset - PAGE); refresh(); });
  $("suivants").addEventListener("click", () => { state.offset += PAGE; refresh(); });
  await refresh();
}

window.traitement = state; // for the browser tests
start();
