// A job's name, tags and note on its page (templates/labels.html): shown, and changed with PATCH on `path`.
import { ApiError, api } from "./api.js";
import { tagList } from "./format.js";

export function showLabels(job) {
  document.getElementById("job-name").textContent = job.name || "";
  document.getElementById("job-tags").replaceChildren(tagList(job.tags));
  document.getElementById("job-note").textContent = job.note || "";
}

function fillForm(job) {
  document.getElementById("label-name").value = job.name || "";
  document.getElementById("label-tags").value = job.tags.join(", ");
  document.getElementById("label-note").value = job.note || "";
}

// `onSaved(job)` gets the job as the server answers the change.
export function wireLabels(path, job, onSaved) {
  fillForm(job);
  const error = document.getElementById("labels-error");
  document.getElementById("labels-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const text = (id) => document.getElementById(id).value.trim();
    const body = {
      name: text("label-name") || null,
      tags: text("label-tags").split(",").map((tag) => tag.trim()).filter(Boolean),
      note: text("label-note") || null,
    };
    try {
      const saved = await api(path, { method: "PATCH", body });
      showLabels(saved);
      fillForm(saved);
      document.getElementById("edit-labels").open = false;
      onSaved(saved);
    } catch (failure) {
      if (!(failure instanceof ApiError && failure.status === 401)) error.textContent = failure.message;
    }
  });
}
