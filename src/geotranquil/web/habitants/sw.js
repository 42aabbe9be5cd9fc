// The service worker of the residents' app: the app shell is kept so the app opens offline,
// and the public data it last read (tiles, reports, settings) are shown when the network is
// gone. It never touches what the app sends (POST): the outbox in the page does that, with an
// idempotency key per report.

const VERSION = "habitants-v1";
const TILES = `${VERSION}-tuiles`;
const MAX_TILES = 600; // the map tiles kept for offline use (the oldest go first)
const SHELL = [
  "/habitants/",
  "/habitants/config.json",
  "/habitants/manifest.webmanifest",
  "/habitants/static/app.css",
  "/habitants/static/app.js",
  "/habitants/static/commun.js",
  "/habitants/static/file_attente.js",
  "/habitants/static/icones.js",
  "/habitants/static/quartier.js",
  "/habitants/static/suivi.js",
  "/habitants/static/icone.svg",
  "/habitants/static/icone-192.png",
  "/carte/static/fond.js",
  "/carte/vendor/maplibre-gl.js",
  "/carte/vendor/maplibre-gl.css",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(VERSION).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== VERSION && k !== TILES).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

async function trim(cache, max) {
  const keys = await cache.keys();
  await Promise.all(keys.slice(0, Math.max(0, keys.length - max)).map((k) => cache.delete(k)));
}

// Network first (fresh data when online), the last copy when offline.
async function networkFirst(request, cacheName) {
  const cache = await caches.open(cacheName);
  try {
    const response = await fetch(request);
    if (response.ok) {
      await cache.put(request, response.clone());
      if (cacheName === TILES) trim(cache, MAX_TILES);
    }
    return response;
  } catch (err) {
    const copy = await cache.match(request, { ignoreSearch: request.mode === "navigate" });
    if (copy) return copy;
    if (request.mode === "navigate") {
      const shell = await cache.match("/habitants/");
      if (shell) return shell;
    }
    throw err;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  const ours = ["/habitants/", "/carte/vendor/", "/carte/static/fond.js", "/carte/glyphs/", "/tiles/", "/open311/v2/"].some((p) => url.pathname.startsWith(p));
  if (!ours) return;
  event.respondWith(networkFirst(request, url.pathname.startsWith("/tiles/") ? TILES : VERSION));
});
