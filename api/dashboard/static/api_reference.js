// The API reference: every endpoint of this server, read from /openapi.json with the key this tab holds (FastAPI's
// /docs page fetches the document without it, so with a key set it cannot load), and the document itself.
import { api, markReady, saveBlob, startPage } from "./api.js";
import { el } from "./format.js";

const METHODS = ["get", "post", "patch", "delete"];

function parameters(operation) {
  return (operation.parameters || []).map((parameter) =>
    el("li", {}, el("code", {}, parameter.name), ` (${parameter.in}${parameter.required ? ", required" : ""})`,
      parameter.description ? `: ${parameter.description}` : ""));
}

function endpoint(path, method, operation) {
  const body = operation.requestBody ? Object.keys(operation.requestBody.content || {}).join(", ") : "";
  return el(
    "details",
    { class: "endpoint", dataset: { path, method } },
    el("summary", {}, el("span", { class: `method ${method}` }, method.toUpperCase()), " ", el("code", {}, path),
      " ", el("span", { class: "hint" }, operation.summary || "")),
    el("p", {}, operation.description || ""),
    body ? el("p", {}, `Body: ${body}`) : null,
    operation.parameters && operation.parameters.length ? el("ul", {}, ...parameters(operation)) : null,
    el("p", { class: "hint" }, `Answers: ${Object.keys(operation.responses || {}).join(", ")}`),
  );
}

startPage(async () => {
  const document_ = await api("/openapi.json");
  document.getElementById("api-description").textContent = `${document_.info.title} ${document_.info.version}`;
  const sections = [];
  for (const [path, operations] of Object.entries(document_.paths)) {
    for (const method of METHODS) {
      if (operations[method]) sections.push(endpoint(path, method, operations[method]));
    }
  }
  document.getElementById("endpoints").replaceChildren(...sections);
  document.getElementById("download-document").addEventListener("click", () =>
    saveBlob(new Blob([JSON.stringify(document_, null, 2)], { type: "application/json" }), "diswot-openapi.json"));
  markReady();
});
