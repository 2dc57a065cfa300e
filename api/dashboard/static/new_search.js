// The new-search form: fetched from /new/form (it states the server's limits and names, so it needs the key
// like the API), it sends the filled fields to POST /v1/searches (empty ones take the server's defaults) and
// shows each problem of the server's 422 beside the field it names.
import { ApiError, api, markReady, startPage } from "./api.js";

let form;
let formError;

async function loadForm() {
  const response = await api("/new/form", { raw: true });
  const slot = document.getElementById("search-form-slot");
  slot.replaceWith(document.createRange().createContextualFragment(await response.text()));
  form = document.getElementById("search-form");
  formError = document.getElementById("form-error");
}

function value(input) {
  const text = input.value.trim();
  switch (input.dataset.kind) {
    case "checkbox":
      return input.checked;
    case "integer":
    case "number":
      // A number input reads "" when empty or not a number: the field is then left to the server's default.
      return text === "" ? undefined : Number(text);
    case "list":
      return text === "" ? undefined : text.split(",").map((name) => name.trim()).filter(Boolean);
    default:
      return text === "" ? undefined : text;
  }
}

function body() {
  const fields = {};
  for (const input of form.querySelectorAll("[data-kind]")) {
    const entry = value(input);
    if (entry !== undefined) fields[input.name] = entry;
  }
  return fields;
}

function clearErrors() {
  formError.hidden = true;
  for (const box of form.querySelectorAll(".field-error")) box.textContent = "";
  for (const field of form.querySelectorAll(".field.invalid")) field.classList.remove("invalid");
}

// (field, message) pairs of a 422: pydantic's `errors` carry the location; the library's errors name the
// field at the start of `detail` ("field 'teacher': unknown teacher ...").
function problems(error) {
  const listed = (error.body && error.body.errors) || [];
  if (listed.length) {
    return listed.map((item) => {
      const location = item.loc[0] === "body" ? item.loc.slice(1) : item.loc;
      return [String(location[0] ?? ""), item.msg];
    });
  }
  return error.message.split("; ").map((part) => {
    const named = /^field '([^']+)': (.*)$/s.exec(part);
    return named ? [named[1], named[2]] : ["", part];
  });
}

function showErrors(error) {
  const general = [];
  for (const [field, message] of problems(error)) {
    const box = document.getElementById(`error-${field}`);
    if (box) {
      box.textContent = box.textContent ? `${box.textContent}; ${message}` : message;
      box.closest(".field").classList.add("invalid");
    } else {
      general.push(field ? `${field}: ${message}` : message);
    }
  }
  if (general.length) {
    formError.textContent = general.join("; ");
    formError.hidden = false;
  }
  const first = form.querySelector(".field.invalid [data-kind]");
  if (first) first.focus();
}

startPage(async () => {
  await loadForm();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    const button = document.getElementById("submit-search");
    button.disabled = true;
    try {
      const job = await api("/v1/searches", { method: "POST", body: body() });
      window.location.href = `/jobs/${encodeURIComponent(job.id)}`;
    } catch (error) {
      if (error instanceof ApiError && error.status === 422) showErrors(error);
      else if (!(error instanceof ApiError && error.status === 401)) {
        formError.textContent = error instanceof ApiError ? `${error.status}: ${error.message}` : String(error);
        formError.hidden = false;
      }
    } finally {
      button.disabled = false;
    }
  });
  markReady();
});
