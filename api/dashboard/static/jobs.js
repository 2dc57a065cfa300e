// The jobs page: one page of search jobs (newest first), filtered by status and tag, updated in place while jobs
// run. A running job shows its stage's own count; a succeeded one what it scored and why it stopped.
import { api, markReady, poll, showPageError, startPage } from "./api.js";
import { ACTIVE, budget, dateTime, duration, el, jobTitle, score, searchProgress, tagList } from "./format.js";

const table = document.getElementById("jobs");
const body = table.querySelector("tbody");
const statusFilter = document.getElementById("status-filter");
const pageSize = Number(table.dataset.pageSize);
const compareButton = document.getElementById("compare-selected");
const selected = new Set();
const RUNNING_REFRESH_MS = 1500;
const IDLE_REFRESH_MS = 10000;

const query = new URLSearchParams(window.location.search);
const tagFilter = document.getElementById("tag-filter");
const state = {
  status: query.get("status") || "",
  tag: query.get("tag") || "",
  offset: Math.max(0, Number(query.get("offset")) || 0),
};
let refreshNow = null;

function cells(job) {
  const config = job.config;
  // A stage without a known total (an exhaustive search) has an indeterminate bar while it runs.
  const shown = searchProgress(job);
  const bar = el("progress", { max: shown.max, value: shown.value ?? (ACTIVE.has(job.status) ? null : 0) });
  return [
    el("input", {
      type: "checkbox",
      title: "select to compare",
      disabled: job.status !== "succeeded",
      checked: selected.has(job.id),
      onchange: (event) => {
        if (event.target.checked) selected.add(job.id);
        else selected.delete(job.id);
        compareButton.disabled = selected.size < 2;
      },
    }),
    el("span", { class: "job-cell" },
      el("a", { href: `/jobs/${encodeURIComponent(job.id)}` }, job.name ? jobTitle(job) : el("code", {}, jobTitle(job))),
      " ", tagList(job.tags)),
    dateTime(job.created_at),
    config.teacher,
    config.space,
    budget(config),
    config.strategy,
    el("span", { class: `status ${job.status}` }, job.status),
    el("span", { class: "progress" }, bar, " ", shown.text),
    score(job.progress.best_score),
    duration(job.progress.elapsed),
    ACTIVE.has(job.status) ? duration(job.progress.eta) : "",
  ];
}

const NUMBER_COLUMNS = new Set([9, 10, 11]);
const PROGRESS_COLUMN = 8;

// Rows are kept by job id and their cells replaced, so a refresh never blanks the table.
function render(page) {
  const rows = new Map([...body.rows].map((row) => [row.dataset.jobId, row]));
  const wanted = page.items.map((job) => {
    const row = rows.get(job.id) || el("tr", { dataset: { jobId: job.id } });
    row.dataset.status = job.status;
    row.replaceChildren(
      ...cells(job).map((content, column) =>
        el("td", { class: NUMBER_COLUMNS.has(column) ? "number" : column === PROGRESS_COLUMN ? "progress-cell" : null },
          content),
      ),
    );
    return row;
  });
  body.replaceChildren(...wanted);
  document.getElementById("empty").hidden = page.total > 0;
  const first = page.total ? page.offset + 1 : 0;
  document.getElementById("page-summary").textContent =
    `${first}–${page.offset + page.items.length} of ${page.total}`;
  document.getElementById("previous-page").disabled = page.offset === 0;
  document.getElementById("next-page").disabled = page.offset + page.items.length >= page.total;
}

let generation = 0; // a filter change can overtake a slower poll: only the newest answer is drawn

async function refresh() {
  const mine = ++generation;
  const params = new URLSearchParams({ limit: pageSize, offset: state.offset });
  if (state.status) params.set("status", state.status);
  if (state.tag) params.set("tag", state.tag);
  const page = await api(`/v1/searches?${params}`);
  if (mine === generation) {
    render(page);
    markReady();
  }
  return page.items.some((job) => ACTIVE.has(job.status)) ? RUNNING_REFRESH_MS : IDLE_REFRESH_MS;
}

function navigate(changes) {
  Object.assign(state, changes);
  const params = new URLSearchParams();
  if (state.status) params.set("status", state.status);
  if (state.tag) params.set("tag", state.tag);
  if (state.offset) params.set("offset", state.offset);
  history.replaceState(null, "", params.size ? `?${params}` : window.location.pathname);
  refreshNow();
}

startPage(async () => {
  statusFilter.value = state.status;
  statusFilter.addEventListener("change", () => navigate({ status: statusFilter.value, offset: 0 }));
  tagFilter.value = state.tag;
  tagFilter.addEventListener("change", () => navigate({ tag: tagFilter.value.trim(), offset: 0 }));
  document.getElementById("previous-page").addEventListener("click", () =>
    navigate({ offset: Math.max(0, state.offset - pageSize) }),
  );
  document.getElementById("next-page").addEventListener("click", () => navigate({ offset: state.offset + pageSize }));
  compareButton.addEventListener("click", () => {
    window.location.href = `/compare?ids=${[...selected].map(encodeURIComponent).join(",")}`;
  });
  // A filter or page change refreshes at once; the loop's own timer keeps running.
  refreshNow = () => refresh().catch(showPageError);
  await poll(refresh);
});
