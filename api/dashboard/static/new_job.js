// A new-job form (a search, or a distillation of a search's student): fetched from the server (it states the
// server's limits and names, so it needs the key like the API), filled from a job when asked (`/new?from=<id>`:
// re-run a search with changes; `/distillations/new?search=<id>&rank=<n>`: that student, with the search's
// teacher), sent as JSON (empty fields take the server's defaults), each problem of the server's 422 shown beside
// the field it names (an advanced section with a problem opens), the others beside the submit button.
import { ApiError, api, markReady, startPage } from "./api.js";

const slot = document.getElementById("form-slot");
const kind = slot.dataset.kind;
const query = new URLSearchParams(window.location.search);
let form;
let source = null; // a distillation's {search, rank}

async function loadForm() {
  const response = await api(slot.dataset.formPath, { raw: true });
  slot.replaceWith(document.createRange().createContextualFragment(await response.text()));
  form = document.getElementById("job-form");
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
  if (source) fields.source = source;
  return fields;
}

// Put a request's values into the fields it has (a null leaves the field empty: the server's default).
function fill(values) {
  for (const input of form.querySelectorAll("[data-kind]")) {
    if (!(input.name in values)) continue;
    const given = values[input.name];
    if (input.dataset.kind === "checkbox") input.checked = Boolean(given);
    else input.value = given === null ? "" : Array.isArray(given) ? given.join(", ") : String(given);
  }
}

function say(text) {
  const note = document.getElementById("form-source");
  note.textContent = text;
  note.hidden = false;
}

async function prefill() {
  if (kind === "search" && query.get("from")) {
    const job = await api(`/v1/searches/${encodeURIComponent(query.get("from"))}`);
    fill(job.config);
    say(`Filled with the request of job ${job.name || job.id.slice(0, 8)}: change what you want and start it.`);
  }
  if (kind === "distillation") {
    const search = query.get("search");
    if (!search) {
      say("Choose the student on a succeeded search's page (Distil on its row).");
      document.getElementById("submit-job").disabled = true;
      return;
    }
    source = { search, rank: Math.max(1, Number(query.get("rank")) || 1) };
    const [job, result] = await Promise.all([
      api(`/v1/searches/${encodeURIComponent(search)}`),
      api(`/v1/searches/${encodeURIComponent(search)}/result`),
    ]);
    const student = result.students[source.rank - 1];
    fill({ teacher: job.config.teacher, checkpoint: job.config.checkpoint, name: `${job.name || search.slice(0, 8)} rank ${source.rank}` });
    say(`Student: rank ${source.rank} of search ${job.name || search.slice(0, 8)}, ${student ? student.arch : "?"} ` +
      `(${student ? student.num_classes : "?"} classes). Its teacher is filled in; give its trained checkpoint.`);
  }
}

function clearErrors() {
  document.getElementById("form-error").hidden = true;
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

function showGeneral(text) {
  // at the top and beside the button, where the person who pressed it is looking
  const top = document.getElementById("form-error");
  top.textContent = text;
  top.hidden = false;
  document.getElementById("submit-error").textContent = text;
}

function showErrors(error) {
  const general = [];
  for (const [field, message] of problems(error)) {
    const box = document.getElementById(`error-${field}`);
    if (box) {
      box.textContent = box.textContent ? `${box.textContent}; ${message}` : message;
      box.closest(".field").classList.add("invalid");
      const section = box.closest("details");
      if (section) section.open = true;
    } else {
      general.push(field ? `${field}: ${message}` : message);
    }
  }
  if (general.length) showGeneral(general.join("; "));
  const first = form.querySelector(".field.invalid [data-kind]");
  if (first) first.focus();
}

startPage(async () => {
  await loadForm();
  await prefill();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    const button = document.getElementById("submit-job");
    button.disabled = true;
    try {
      const job = await api(form.dataset.submitTo, { method: "POST", body: body() });
      const page = kind === "search" ? "/jobs" : "/distillations";
      window.location.href = `${page}/${encodeURIComponent(job.id)}`;
    } catch (error) {
      if (error instanceof ApiError && error.status === 422) showErrors(error);
      else if (!(error instanceof ApiError && error.status === 401)) {
        showGeneral(error instanceof ApiError ? `${error.status}: ${error.message}` : String(error));
      }
    } finally {
      button.disabled = false;
    }
  });
  markReady();
});
