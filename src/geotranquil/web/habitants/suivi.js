// "Mes signalements": the reports sent from this phone, kept in its local storage only, with
// their status and the city's notes read from Open311 (GET requests?service_request_id=...).

import { $, ETATS, dateTime, el, getJson } from "./commun.js";

const KEY = "geotranquil.mes-signalements";

export function followed() {
  try {
    return JSON.parse(localStorage.getItem(KEY) || "[]");
  } catch (_) {
    return [];
  }
}

function save(items) {
  localStorage.setItem(KEY, JSON.stringify(items));
}

export function isFollowed(id) {
  return followed().some((r) => r.id === id);
}

/** Follow a report (one filed here, or an existing one nearby); newest first. */
export function follow(report) {
  const items = followed().filter((r) => r.id !== report.id);
  items.unshift(report);
  save(items);
}

/** A report the city refused (a 4xx answer): kept in the list with the reason. */
export function refused(libelle, reason) {
  const items = followed();
  items.unshift({ id: null, refuse: reason, service_name: libelle, envoye: new Date().toISOString() });
  save(items);
}

/** Read the current state of the followed reports; returns those that changed since last seen. */
export async function refresh() {
  const items = followed();
  const ids = items.filter((r) => r.id).map((r) => r.id);
  const changes = [];
  for (let i = 0; i < ids.length; i += 50) {
    const found = await getJson("/open311/v2/requests.json", { service_request_id: ids.slice(i, i + 50).join(",") });
    for (const request of found) {
      const mine = items.find((r) => r.id === request.service_request_id);
      if (!mine) continue;
      const changed = mine.etat !== request.workflow_state || (mine.notes || null) !== (request.status_notes || null);
      if (changed && mine.etat) {
        mine.nouveau = true;
        changes.push({ ...mine, etat: request.workflow_state, notes: request.status_notes });
      }
      Object.assign(mine, {
        etat: request.workflow_state,
        notes: request.status_notes,
        maj: request.updated_datetime,
        prevu: request.expected_datetime,
        doublon_de: request.duplicate_of,
        service_name: request.service_name,
      });
    }
  }
  save(items);
  return changes;
}

export function unseen() {
  return followed().filter((r) => r.nouveau).length;
}

export function markSeen() {
  save(followed().map(({ nouveau, ...rest }) => rest));
}

function stateBadge(state) {
  return el("span", { class: `etat etat-${state}`, text: ETATS[state] || state });
}

/** Draw the list: the outbox first (waiting), then the followed reports. */
export function render(outboxItems) {
  const waiting = $("file-attente");
  waiting.replaceChildren(
    ...outboxItems.map((item) =>
      el(
        "li",
        { "data-cle": item.cle },
        el("h3", { text: item.libelle }),
        el("p", {}, el("span", { class: "etat etat-attente", text: "En attente d'envoi" })),
        el("p", { class: "aide", text: `Créé le ${dateTime(item.cree)} : il partira dès que le réseau reviendra.` }),
      ),
    ),
  );
  const items = followed();
  $("mes-signalements").replaceChildren(
    ...items.map((r) => {
      if (!r.id) {
        return el(
          "li",
          {},
          el("h3", { text: r.service_name }),
          el("p", {}, el("span", { class: "etat etat-refuse", text: "Non enregistré" })),
          el("p", { text: r.refuse }),
        );
      }
      return el(
        "li",
        { "data-id": r.id },
        el("h3", {}, `${r.service_name} — n°\u00a0${r.id}`, r.nouveau ? el("span", { class: "nouveau", text: "Nouveau" }) : null),
        el("p", {}, stateBadge(r.etat)),
        r.notes ? el("p", { class: "note-ville" }, el("strong", { text: "Réponse de la Ville : " }), r.notes) : null,
        r.prevu ? el("p", { text: `Intervention prévue : ${dateTime(r.prevu)}` }) : null,
        r.doublon_de ? el("p", { text: `Rattaché au signalement n°\u00a0${r.doublon_de}, déjà ouvert.` }) : null,
        el("p", { class: "aide", text: `${r.suivi ? "Suivi depuis" : "Envoyé le"} ${dateTime(r.envoye)}` + (r.maj ? ` · mis à jour le ${dateTime(r.maj)}` : "") }),
      );
    }),
  );
  $("aucun-signalement").hidden = items.length + outboxItems.length > 0;
}

/** The banner of what changed since the app was last opened. */
export function announce(changes, onShow) {
  const box = $("annonces");
  box.replaceChildren(
    ...changes.map((c) =>
      el(
        "div",
        { class: "annonce" },
        el("p", { text: `Du nouveau sur votre signalement n°\u00a0${c.id} (${c.service_name}) : ${ETATS[c.etat] || c.etat}.` }),
        c.notes ? el("p", { text: `« ${c.notes} »` }) : null,
        el("button", { type: "button", class: "secondaire", text: "Voir mes signalements", onclick: onShow }),
      ),
    ),
  );
}
