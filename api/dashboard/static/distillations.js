// The distillations page: one page of distillation jobs (newest first), filtered by status and tag, each linked
// to the search its student came from; updated in place while jobs run.
import { api, markReady, poll, showPageError, startPage } from "./api.js";
import { ACTIVE, dateTime, duration, el, jobTitle, tagList } from "./format.js";

const table = document.getElementById("distillations");
const pageSize = Number(table.dataset.pageSize);
const statusFilter = document.getElementById("status-filter");
const tagFilter = document.getElementById("tag-filter");
const query = new URLSearchParams(window.location.search);
const state = { status: query.get("status") || "", tag: query.get("tag") || "", offset: 0 };
let refreshNow = null;

function student(config) {
  return typeof config.student === "string" ? config.student : `${config.student.space}:${config.student.arch}`;
}

function row(job) {
  const progress = job.progress;
  const source = job.config.source;
  return el(
    "tr",
    { dataset: { jobId: job.id, status: job.status } },
    el("td", {}, el("a", { href: `/distillations/${encodeURIComponent(job.id)}` },
      job.name ? jobTitle(job) : el("code", {}, jobTitle(job))), " ", tagList(job.tags)),
    el("td", {}, dateTime(job.created_at)),
    el("td", { class: "arch" }, el("code", {}, student(job.config))),
    el("td", {}, source ? el("a", { href: `/jobs/${encodeURIComponent(source.search)}` },
      `${source.search.slice(0, 8)} rank ${source.rank}`) : ""),
    el("td", {}, job.config.teacher || "none"),
    el("td", {}, job.config.recipe.mode),
    el("td", {}, el("span", { class: `status ${job.status}` }, job.status)),
    el("td", {}, el("progress", { max: progress.epochs, value: progress.epochs_done }),
      ` ${progress.epochs_done} / ${progress.epochs}`),
    el("td", { class: "number" }, progress.best_top1 === null ? "" : `${progress.best_top1.toFixed(2)}%`),
    el("td", { class: "number" }, duration(progress.elapsed)),
    el("td", { class: "number" }, ACTIVE.has(job.status) ? duration(progress.eta) : ""),
  );
}

async function refresh() {
  const params = new URLSearchParams({ limit: pageSize, offset: state.offset });
  if (state.status) params.set("status", state.status);
  if (state.tag) params.set("tag", state.tag);
  const page = await api(`/v1/distillations?${params}`);
  table.tBodies[0].replaceChildren(...page.items.map(row));
  document.getElementById("empty").hidden = page.total > 0;
  const first = page.total ? page.offset + 1 : 0;
  document.getElementById("page-summary").textContent = `${first}–${page.offset + page.items.length} of ${page.total}`;
  document.getElementById("previous-page").disabled = page.offset === 0;
  document.getElementById("next-page").disabled = page.offset + page.items.length >= page.total;
  markReady();
  return page.items.some((job) => ACTIVE.has(job.status)) ? 2000 : 10000;
}

function navigate(changes) {
  Object.assign(state, changes);
  refreshNow();
}

startPage(async () => {
  statusFilter.value = state.status;
  tagFilter.value = state.tag;
  statusFilter.addEventListener("change", () => navigate({ status: statusFilter.value, offset: 0 }));
  tagFilter.addEventListener("change", () => navigate({ tag: tagFilter.value.trim(), offset: 0 }));
  document.getElementById("previous-page").addEventListener("click", () =>
    navigate({ offset: Math.max(0, state.offset - pageSize) }));
  document.getElementById("next-page").addEventListener("click", () => navigate({ offset: state.offset + pageSize }));
  refreshNow = () => refresh().catch(showPageError);
  await poll(refresh);
});
