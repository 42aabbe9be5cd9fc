// The outbox: reports waiting to be sent, kept in IndexedDB (with their photo as a Blob) so that
// they survive a closed tab or a lost network. Each carries the idempotency key sent with every
// attempt: the server stores one report per key, however many times it is retried.

const DB_NAME = "geotranquil-habitants";
const STORE = "envois";

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => {
      request.result.createObjectStore(STORE, { keyPath: "cle" });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function run(mode, action) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const result = action(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(result && "result" in result ? result.result : undefined);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Put a report in the outbox: {cle, champs, photo (Blob|null), libelle, cree}. */
export function put(item) {
  return run("readwrite", (store) => store.put(item));
}

export async function all() {
  const items = (await run("readonly", (store) => store.getAll())) || [];
  return items.sort((a, b) => a.cree.localeCompare(b.cree));
}

export function remove(cle) {
  return run("readwrite", (store) => store.delete(cle));
}
