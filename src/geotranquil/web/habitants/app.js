// Ma rue, ma ville: the residents' app. Report (category, pin, description, photo, contact),
// with an outbox that keeps reports while offline and sends each exactly once (idempotency
// key); follow my reports; see my neighbourhood. Everything it reads is public.

import { $, MARSEILLE, describe, el, getJson, newMap, number } from "./commun.js";
import * as outbox from "./file_attente.js";
import { icon } from "./icones.js";
import * as quartier from "./quartier.js";
import * as suivi from "./suivi.js";

const VIEWS = ["signaler", "suivi", "quartier"];
const RETRY_MS = 10000;
const PHOTO_SHRINK_BYTES = 2_000_000;
const PHOTO_MAX_SIDE = 2048;

const app = {
  config: null,
  map: null,
  marker: null,
  placed: false,
  photo: null,
  flushing: false,
  retry: null,
  duplicateChecked: "",
};

// --- views --------------------------------------------------------------------------------------
function showView(name, { focus = true } = {}) {
  if (!VIEWS.includes(name)) name = "signaler";
  for (const v of VIEWS) $(`vue-${v}`).hidden = v !== name;
  for (const button of document.querySelectorAll(".onglets button")) {
    if (button.dataset.vue === name) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
  }
  if (history.replaceState) history.replaceState(null, "", `#${name}`);
  if (focus) $(`titre-${name}`).setAttribute("tabindex", "-1");
  if (focus) $(`titre-${name}`).focus();
  if (name === "signaler" && app.map) app.map.resize();
  if (name === "suivi") openFollow();
  if (name === "quartier") quartier.show(app.config, app.placed ? pinLonLat() : null).catch(showError);
}

async function openFollow() {
  $("annonces").replaceChildren(); // read: the list below shows what changed
  await drawFollow();
  suivi.markSeen();
  updateBadge();
}

async function drawFollow() {
  suivi.render(await outbox.all());
}

function updateBadge() {
  const n = suivi.unseen();
  $("badge").hidden = n === 0;
  $("badge").textContent = n ? String(n) : "";
  $("badge").setAttribute("aria-label", n ? `${n} nouveauté${n > 1 ? "s" : ""}` : "");
}

function showError(err) {
  result("erreur", err.message || String(err));
}

// --- the form: category and its attributes ------------------------------------------------------
function drawCategories() {
  const box = $("categories");
  box.setAttribute("role", "radiogroup");
  box.setAttribute("aria-label", "Catégorie du problème");
  box.replaceChildren(
    ...app.config.services.map((s) => {
      const label = el("label", { class: "categorie", title: s.description });
      label.innerHTML = icon(s.service_code);
      label.prepend(el("input", { type: "radio", name: "service_code", value: s.service_code }));
      label.append(el("span", { text: s.service_name }));
      return label;
    }),
  );
  box.addEventListener("change", () => {
    for (const label of box.querySelectorAll(".categorie")) {
      label.setAttribute("aria-checked", String(label.querySelector("input").checked));
    }
    $("erreur-categorie").hidden = true;
    drawAttributes();
    checkDuplicates();
  });
}

function chosenService() {
  const input = document.querySelector("input[name=service_code]:checked");
  return input ? app.config.services.find((s) => s.service_code === input.value) : null;
}

function drawAttributes() {
  const service = chosenService();
  const box = $("attributs");
  if (!service || service.attributes.length === 0) {
    box.replaceChildren();
    return;
  }
  box.replaceChildren(
    el(
      "fieldset",
      {},
      el("legend", { text: `Précisions : ${service.service_name}` }),
      ...service.attributes.map((a) => attributeField(a)),
    ),
  );
}

function attributeField(a) {
  const name = `attribute[${a.code}]`;
  const title = `${a.description}${a.required ? " (obligatoire)" : ""}`;
  if (a.datatype === "singlevaluelist" || a.datatype === "multivaluelist") {
    const type = a.datatype === "singlevaluelist" ? "radio" : "checkbox";
    return el(
      "fieldset",
      { class: "groupe-attribut", "data-attribut": a.code, "data-obligatoire": a.required ? "1" : null },
      el("legend", { text: title }),
      ...a.values.map((v) =>
        el("label", { class: "choix" }, el("input", { type, name, value: v.key }), el("span", { text: v.name })),
      ),
    );
  }
  const id = `attribut-${a.code}`;
  return el(
    "div",
    { "data-attribut": a.code, "data-obligatoire": a.required ? "1" : null },
    el("label", { for: id, text: title }),
    el("input", { id, name, type: a.datatype === "number" ? "number" : "text", maxlength: "500", inputmode: a.datatype === "number" ? "decimal" : null }),
  );
}

// --- the form: place ----------------------------------------------------------------------------
function pinLonLat() {
  const p = app.marker.getLngLat();
  return [p.lng, p.lat];
}

function place(lngLat, how) {
  app.marker.setLngLat(lngLat).addTo(app.map);
  app.placed = true;
  const [lon, lat] = pinLonLat();
  $("position-texte").textContent = `Lieu choisi (${how}) : ${lat.toFixed(5)}, ${lon.toFixed(5)}.`;
  $("erreur-lieu").hidden = true;
  checkDuplicates();
}

async function makePinMap() {
  app.map = await newMap("carte-signaler", app.config);
  const pin = el("div", { class: "epingle", role: "img", "aria-label": "Épingle du signalement" });
  pin.innerHTML =
    '<svg viewBox="0 0 34 46" width="34" height="46" aria-hidden="true"><path d="M17 1C8 1 1 8 1 17c0 12 16 28 16 28s16-16 16-28C33 8 26 1 17 1z" fill="#b3261e" stroke="#fff" stroke-width="2"/><circle cx="17" cy="17" r="6" fill="#fff"/></svg>';
  app.marker = new maplibregl.Marker({ element: pin, draggable: true, anchor: "bottom" }).setLngLat(MARSEILLE);
  app.marker.on("dragend", () => place(app.marker.getLngLat(), "épingle déplacée"));
  app.map.on("click", (e) => place(e.lngLat, "carte"));
}

function myPosition() {
  if (!navigator.geolocation) {
    $("position-texte").textContent = "La localisation n'est pas disponible sur cet appareil : touchez la carte.";
    return;
  }
  $("position-texte").textContent = "Recherche de votre position…";
  navigator.geolocation.getCurrentPosition(
    (p) => {
      const lngLat = [p.coords.longitude, p.coords.latitude];
      app.map.jumpTo({ center: lngLat, zoom: 17 });
      place(lngLat, "ma position");
    },
    () => {
      $("position-texte").textContent = "Position refusée ou introuvable : touchez la carte ou saisissez une adresse.";
    },
    { enableHighAccuracy: true, timeout: 10000, maximumAge: 30000 },
  );
}

// --- the form: is it already reported? ----------------------------------------------------------
async function checkDuplicates() {
  const service = chosenService();
  if (!service || !app.placed || !navigator.onLine) return;
  const [lon, lat] = pinLonLat();
  const signature = `${service.service_code}|${lon.toFixed(5)}|${lat.toFixed(5)}`;
  if (signature === app.duplicateChecked) return;
  app.duplicateChecked = signature;
  const since = new Date(Date.now() - app.config.duplicate_hours * 3600 * 1000).toISOString();
  let found = [];
  try {
    found = await getJson("/open311/v2/requests.json", {
      service_code: service.service_code, lat, long: lon, radius: app.config.duplicate_radius_m, start_date: since,
    });
  } catch (_) {
    return; // the check is a courtesy: the server links duplicates anyway
  }
  const box = $("doublon");
  if (found.length === 0) {
    box.hidden = true;
    return;
  }
  $("doublon-liste").replaceChildren(
    el("p", { text: `${found.length === 1 ? "Un signalement" : `${found.length} signalements`} « ${service.service_name} » ${found.length === 1 ? "est" : "sont"} déjà ouvert${found.length === 1 ? "" : "s"} à moins de ${number(app.config.duplicate_radius_m)} m. Vous pouvez le suivre au lieu d'en créer un autre.` }),
    el("ul", { class: "cartes-liste" }, ...found.map((r) => quartier.nearbyItem(r, lon, lat))),
  );
  box.hidden = false;
}

// --- the form: photo ----------------------------------------------------------------------------
async function shrink(file) {
  if (file.size <= PHOTO_SHRINK_BYTES || !window.createImageBitmap) return file;
  try {
    const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
    const scale = Math.min(1, PHOTO_MAX_SIDE / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
    return blob || file;
  } catch (_) {
    return file;
  }
}

async function choosePhoto(input) {
  const file = input.files && input.files[0];
  input.value = "";
  if (!file) return;
  if (!["image/jpeg", "image/png", "image/webp"].includes(file.type)) {
    $("apercu").replaceChildren(el("p", { class: "erreur-champ", text: "Format non accepté : photo JPEG, PNG ou WebP." }));
    return;
  }
  const photo = await shrink(file);
  if (photo.size > app.config.photo_max_bytes) {
    $("apercu").replaceChildren(el("p", { class: "erreur-champ", text: `Photo trop lourde : ${number(app.config.photo_max_bytes / 1e6)} Mo au plus.` }));
    return;
  }
  app.photo = photo;
  const url = URL.createObjectURL(photo);
  $("apercu").replaceChildren(
    el("img", { src: url, alt: "Aperçu de la photo jointe" }),
    el("p", { text: `Photo jointe (${number(Math.round(photo.size / 1000))} ko).` }),
    el("button", { type: "button", class: "secondaire", text: "Retirer la photo", onclick: () => { app.photo = null; $("apercu").replaceChildren(); } }),
  );
}

// --- the form: submit ---------------------------------------------------------------------------
function result(kind, text) {
  const box = $("resultat");
  box.className = `resultat ${kind}`;
  box.textContent = text;
  box.dataset.etat = kind;
}

function invalid(id, message, focusEl) {
  const box = $(id);
  box.textContent = message;
  box.hidden = false;
  if (focusEl) {
    focusEl.setAttribute("aria-invalid", "true");
    focusEl.setAttribute("aria-describedby", id);
  }
  return focusEl || box;
}

function collect() {
  const problems = [];
  const service = chosenService();
  if (!service) problems.push(invalid("erreur-categorie", "Choisissez la catégorie du problème.", document.querySelector("input[name=service_code]")));
  const address = $("adresse").value.trim();
  if (!app.placed && !address) problems.push(invalid("erreur-lieu", "Indiquez le lieu : touchez la carte, utilisez votre position ou saisissez une adresse.", $("adresse")));
  const champs = {};
  if (service) {
    champs.service_code = service.service_code;
    for (const a of service.attributes) {
      const values = [...document.querySelectorAll(`[name="attribute[${a.code}]"]`)]
        .filter((i) => (i.type === "radio" || i.type === "checkbox" ? i.checked : i.value.trim()))
        .map((i) => i.value.trim());
      if (values.length) champs[`attribute[${a.code}]`] = values;
      else if (a.required) {
        const box = document.querySelector(`[data-attribut="${a.code}"]`);
        const note = el("p", { class: "erreur-champ", text: `Précisez : ${a.description}` });
        box.append(note);
        problems.push(box.querySelector("input"));
      }
    }
  }
  if (app.placed) {
    const [lon, lat] = pinLonLat();
    champs.lat = lat.toFixed(6);
    champs.long = lon.toFixed(6);
  }
  if (address) champs.address_string = address;
  for (const [id, name] of [["description", "description"], ["prenom", "first_name"], ["nom", "last_name"], ["courriel", "email"], ["telephone", "phone"]]) {
    const value = $(id).value.trim();
    if (value) champs[name] = value;
  }
  return { problems, champs, service };
}

async function submit(event) {
  event.preventDefault();
  for (const note of document.querySelectorAll("#attributs .erreur-champ")) note.remove();
  for (const field of document.querySelectorAll("[aria-invalid=true]")) field.removeAttribute("aria-invalid");
  const { problems, champs, service } = collect();
  if (problems.length) {
    result("erreur", "Le signalement n'est pas complet : voyez les messages ci-dessus.");
    problems[0].focus();
    return;
  }
  const item = {
    cle: outbox.newKey(),
    champs,
    photo: app.photo,
    libelle: service.service_name,
    cree: new Date().toISOString(),
  };
  await outbox.put(item); // kept on the phone first: nothing is lost if the network drops now
  await countOutbox();
  resetForm();
  if (!navigator.onLine) {
    result("attente", "Pas de réseau : votre signalement est gardé sur ce téléphone et partira tout seul dès le retour du réseau.");
    await drawFollow();
    return;
  }
  result("attente", "Envoi en cours…");
  await flush();
}

function resetForm() {
  $("formulaire").reset();
  for (const label of document.querySelectorAll(".categorie")) label.setAttribute("aria-checked", "false");
  $("attributs").replaceChildren();
  $("apercu").replaceChildren();
  $("doublon").hidden = true;
  $("compteur").textContent = `0 / ${number(app.config.description_max)} caractères`;
  app.photo = null;
  app.placed = false;
  app.duplicateChecked = "";
  app.marker.remove();
  $("position-texte").textContent = "Aucun lieu choisi.";
}

// --- the outbox ---------------------------------------------------------------------------------
function formOf(item) {
  const form = new FormData();
  for (const [name, value] of Object.entries(item.champs)) {
    for (const v of Array.isArray(value) ? value : [value]) form.append(name, v);
  }
  if (item.photo) form.append("media", item.photo, "photo.jpg");
  return form;
}

/** Send what waits, oldest first; each with its key, so a retried report is stored once. */
async function flush() {
  if (app.flushing) return;
  app.flushing = true;
  let sent = 0;
  try {
    for (const item of await outbox.all()) {
      let response;
      try {
        response = await fetch("/habitants/signalements", {
          method: "POST",
          headers: { "Idempotency-Key": item.cle },
          body: formOf(item),
        });
      } catch (_) {
        result("attente", "Pas de réseau : votre signalement est gardé sur ce téléphone et partira tout seul dès le retour du réseau.");
        scheduleRetry(RETRY_MS);
        break;
      }
      if (response.status === 201) {
        const body = await response.json();
        await outbox.remove(item.cle);
        suivi.follow({
          id: body.service_request_id,
          token: body.token,
          service_name: item.libelle,
          etat: "received",
          notes: null,
          envoye: item.cree,
          doublon_de: body.duplicate_of,
        });
        sent += 1;
        result("ok", `Signalement envoyé, merci ! Son numéro : ${body.service_request_id}. ${body.service_notice || ""}`);
      } else if (response.status === 429 || response.status >= 500) {
        const wait = Number(response.headers.get("Retry-After") || 0) * 1000;
        result("attente", `Le serveur est occupé : nouvel essai dans ${Math.max(1, Math.round((wait || RETRY_MS) / 1000))} s.`);
        scheduleRetry(Math.max(wait, 2000) || RETRY_MS);
        break;
      } else {
        const reason = await describe(response);
        await outbox.remove(item.cle);
        suivi.refused(item.libelle, reason);
        result("erreur", `Signalement refusé : ${reason}`);
      }
    }
  } finally {
    app.flushing = false;
    await drawFollow();
    await countOutbox();
  }
  return sent;
}

async function countOutbox() {
  document.body.dataset.envois = String((await outbox.all()).length);
}

function scheduleRetry(ms) {
  clearTimeout(app.retry);
  app.retry = setTimeout(() => flush().catch(showError), ms);
}

// --- network and changes ------------------------------------------------------------------------
function network() {
  $("reseau").hidden = navigator.onLine;
  $("reseau").textContent = "Hors ligne : vos signalements partiront au retour du réseau";
}

async function checkChanges() {
  if (!navigator.onLine || suivi.followed().length === 0) return;
  try {
    const changes = await suivi.refresh();
    if (changes.length) suivi.announce(changes, () => showView("suivi"));
  } catch (_) {
    return; // shown at the next opening
  }
  updateBadge();
  if (!$("vue-suivi").hidden) await drawFollow();
}

// --- start --------------------------------------------------------------------------------------
async function start() {
  try {
    app.config = await getJson("/habitants/config.json");
  } catch (err) {
    document.body.dataset.app = "erreur";
    $("resultat").textContent = `Application indisponible : ${err.message}. Réessayez plus tard.`;
    return;
  }
  const c = app.config;
  $("mention-donnees").textContent =
    `Facultatif. Si vous laissez vos coordonnées, seuls les agents de la Ville chargés des signalements ` +
    `les voient, pour vous recontacter au sujet de celui-ci ; elles ne sont jamais publiées et sont ` +
    `effacées au bout de ${number(c.retention_days)} jours, avec la photo. Sans coordonnées, vous suivez ` +
    `votre signalement dans « Mes signalements ».`;
  $("compteur").textContent = `0 / ${number(c.description_max)} caractères`;
  $("description").addEventListener("input", (e) => {
    $("compteur").textContent = `${number(e.target.value.length)} / ${number(c.description_max)} caractères`;
  });
  drawCategories();
  await makePinMap();
  $("ma-position").addEventListener("click", myPosition);
  $("adresse").addEventListener("input", () => { $("erreur-lieu").hidden = true; });
  $("photo-camera").addEventListener("change", (e) => choosePhoto(e.target));
  $("photo-galerie").addEventListener("change", (e) => choosePhoto(e.target));
  $("envoyer-quand-meme").addEventListener("click", () => { $("doublon").hidden = true; $("description").focus(); });
  $("formulaire").addEventListener("submit", (e) => submit(e).catch(showError));
  for (const button of document.querySelectorAll(".onglets button")) {
    button.addEventListener("click", () => showView(button.dataset.vue));
  }
  document.addEventListener("suivi-change", () => drawFollow());
  window.addEventListener("hashchange", () => showView(location.hash.slice(1), { focus: false }));
  window.addEventListener("online", () => { network(); flush().then(checkChanges).catch(showError); });
  window.addEventListener("offline", network);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") flush().then(checkChanges).catch(showError);
  });
  network();
  updateBadge();
  showView(location.hash.slice(1) || "signaler", { focus: false });
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/habitants/sw.js", { scope: "/habitants/" }).catch(() => {});
  }
  if (navigator.onLine) await flush();
  await checkChanges();
  await drawFollow();
  document.body.dataset.app = "pret";
}

window.habitants = { app, quartier: quartier.state }; // for the browser tests
start();
