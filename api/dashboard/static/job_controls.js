// Cancel and delete on a job's page (a search's or a distillation's): `path` is the job under /v1/searches, which
// answers for every kind; `onChange(job)` redraws the page after a cancel.
import { api, showPageError } from "./api.js";
import { ACTIVE } from "./format.js";

export function wireControls(path, jobId, onChange, afterDelete) {
  document.getElementById("cancel").addEventListener("click", async () => {
    try {
      onChange(await api(`${path}/cancel`, { method: "POST" }));
    } catch (error) {
      showPageError(error);
    }
  });
  document.getElementById("delete").addEventListener("click", async () => {
    if (!window.confirm(`Delete job ${jobId} with everything it stored?`)) return;
    try {
      await api(path, { method: "DELETE" });
      window.location.href = afterDelete;
    } catch (error) {
      showPageError(error);
    }
  });
}

export function showStatus(job) {
  const status = document.getElementById("status");
  status.textContent = job.cancel_requested && ACTIVE.has(job.status) ? `${job.status} (cancelling)` : job.status;
  status.className = `status ${job.status}`;
  status.dataset.status = job.status;
  document.getElementById("cancel").hidden = !ACTIVE.has(job.status) || job.cancel_requested;
  document.getElementById("delete").hidden = ACTIVE.has(job.status);
  const error = document.getElementById("job-error");
  error.hidden = !job.error;
  error.textContent = job.error ? `The job failed: ${job.error}` : "";
}
