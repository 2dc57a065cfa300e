// Calls to the /v1 API with the API key the person typed, and the key prompt.
// The key lives in sessionStorage: this tab only, gone when it closes.

const KEY_STORAGE = "diswot-api-key";
const keyRequired = document.body.dataset.keyRequired === "true";

export class ApiError extends Error {
  constructor(status, detail, body) {
    super(detail);
    this.status = status;
    this.body = body;
  }
}

function askForKey(message) {
  document.getElementById("content").hidden = true; // nothing is shown without the key
  const form = document.getElementById("key-form");
  form.hidden = false;
  document.getElementById("key-message").textContent = message || "";
  document.getElementById("api-key").focus();
}

document.getElementById("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(KEY_STORAGE, document.getElementById("api-key").value);
  window.location.reload(); // the page starts again, now with the key
});

// `path` under this server; `body` is sent as JSON. Resolves to the parsed JSON (null for 204), or to the
// Response itself with `raw`. Rejects with an ApiError carrying the server's `detail`.
export async function api(path, { method = "GET", body, raw = false } = {}) {
  // X-Requested-With: the server refuses a POST or DELETE without it (or a JSON body), as a cross-site form would be.
  const headers = { Accept: "application/json", "X-Requested-With": "diswot-dashboard" };
  const key = sessionStorage.getItem(KEY_STORAGE);
  if (key) headers["X-API-Key"] = key;
  const init = { method, headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (response.status === 401) {
    sessionStorage.removeItem(KEY_STORAGE);
    askForKey(key ? "The server did not accept that key." : "");
    throw new ApiError(401, "a valid API key is required", null);
  }
  if (!response.ok) {
    let payload = null;
    try {
      payload = await response.json();
    } catch {
      // not JSON (a proxy's error page): the status text says enough
    }
    const detail = payload && typeof payload.detail === "string" ? payload.detail : response.statusText;
    throw new ApiError(response.status, detail, payload);
  }
  if (raw) return response;
  return response.status === 204 ? null : response.json();
}

export function showPageError(error) {
  if (error instanceof ApiError && error.status === 401) return; // the key prompt says it
  const box = document.getElementById("page-error");
  box.textContent = error instanceof ApiError ? `${error.status}: ${error.message}` : String(error);
  box.hidden = false;
}

export function clearPageError() {
  document.getElementById("page-error").hidden = true;
}

// Run the page once a key is at hand (or none is needed); the page's content stays hidden until then.
export function startPage(run) {
  if (keyRequired && !sessionStorage.getItem(KEY_STORAGE)) {
    askForKey("");
    return;
  }
  document.getElementById("content").hidden = false;
  run().catch(showPageError);
}

// Marks the page's first complete render (the browser tests wait for it and time it).
export function markReady() {
  if (document.documentElement.dataset.ready) return;
  performance.mark("dashboard-ready");
  document.documentElement.dataset.ready = "true";
}

// A polling loop that never overlaps itself: `step` returns the delay before the next call (null: stop).
// A failed call is shown and retried; the message goes once a call succeeds again.
export function poll(step) {
  let failing = false;
  const tick = async () => {
    let delay = 5000;
    try {
      delay = await step();
      if (failing) clearPageError();
      failing = false;
    } catch (error) {
      failing = true;
      showPageError(error);
      if (error instanceof ApiError && error.status === 401) return;
    }
    if (delay !== null) setTimeout(tick, delay);
  };
  return tick();
}

// Save `blob` as a file the way a link with `download` does.
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}
