// A search job's page: its labels, stages and live progress, the two plots, the ranked students with their
// downloads and a "distil" action, the distillations made of them, every evaluation as a table, its request,
// cancel, delete and re-run. Evaluations for the plots are read incrementally (`?offset=`) while the job runs.
import { ACTIVE, budget, count, duration, el, millions, score, searchProgress } from "./format.js";
import { ApiError, api, markReady, poll, saveBlob, showPageError, startPage } from "./api.js";
import { EvaluationTable } from "./evaluation_table.js";
import { showLabels, wireLabels } from "./job_labels.js";
import { showStatus, wireControls } from "./job_controls.js";

const jobId = document.getElementById("job-id").dataset.jobId;
const path = `/v1/searches/${encodeURIComponent(jobId)}`;
const REFRESH_MS = 1000;
const TABLE_REFRESH_MS = 5000;

Chart.defaults.animation = false; // redraws on every poll: no animation, no flicker

// Chart.js watches the arrays it is given and does work per push: new points are appended by handing it a new
// array once per poll (10,000 single pushes took most of a second).
let evaluationsRead = 0;
let bestPoints = []; // {x: feasible evaluations so far, y: best score}
let costPoints = []; // {x: cost, y: score, item: evaluation}
let job = null;
let result = null;
let bestChart = null;
let costChart = null;
let table = null;
let tableShownAt = 0;
let labelled = false;

function isScore(value) {
  return typeof value === "number" && Number.isFinite(value);
}

function costOf(item) {
  return job.config.objective === "flops" ? item.flops : item.params;
}

function describe(item) {
  const lines = [item.arch, `params ${millions(item.params)}, FLOPs ${millions(item.flops, 1)}`];
  for (const [name, value] of Object.entries(item.scores || {})) lines.push(`${name}: ${score(value)}`);
  return lines;
}

function makeCharts() {
  const costLabel = job.config.objective === "flops" ? "FLOPs" : "params";
  bestChart = new Chart(document.getElementById("best-chart"), {
    type: "line",
    data: { datasets: [{ label: "best score", data: [], pointRadius: 0, borderWidth: 2, stepped: true }] },
    options: {
      parsing: false,
      normalized: true, // x counts up: sorted, as `normalized` requires
      maintainAspectRatio: false,
      interaction: { mode: "nearest", axis: "x", intersect: false },
      scales: {
        x: { type: "linear", title: { display: true, text: "feasible candidates evaluated" } },
        y: { title: { display: true, text: "best score" } },
      },
      plugins: { legend: { display: false }, decimation: { enabled: true, algorithm: "min-max" } },
    },
  });
  const tooltip = { callbacks: { label: (context) => describe(context.raw.item) } };
  // No `normalized` here: the costs come in any order, and a scale of "sorted" data takes its range from the
  // first and last points only (points beyond it were cut off).
  costChart = new Chart(document.getElementById("cost-chart"), {
    type: "scatter",
    data: {
      datasets: [
        { label: "evaluated", data: [], pointRadius: 2, backgroundColor: "rgba(110, 120, 135, 0.45)", order: 3 },
        { label: "Pareto front", data: [], showLine: true, pointRadius: 4, borderColor: "#c0392b",
          backgroundColor: "#c0392b", order: 2 },
        { label: `top ${job.config.top_k}`, data: [], pointRadius: 6, pointStyle: "rectRot",
          backgroundColor: "#e67e22", order: 1 },
      ],
    },
    options: {
      parsing: false,
      maintainAspectRatio: false,
      scales: {
        x: { type: "linear", grace: "3%", title: { display: true, text: costLabel }, ticks: { callback: count } },
        y: { grace: "3%", title: { display: true, text: "score" } },
      },
      plugins: { tooltip },
    },
  });
}

function addEvaluations(items) {
  let best = bestPoints.length ? bestPoints[bestPoints.length - 1].y : -Infinity;
  const newBest = [];
  const newCost = [];
  for (const item of items) {
    if (item.stage === "confirm" || !item.feasible || !isScore(item.score)) continue; // a finalist's second record
    best = Math.max(best, item.score);
    newBest.push({ x: bestPoints.length + newBest.length + 1, y: best });
    newCost.push({ x: costOf(item), y: item.score, item });
  }
  evaluationsRead += items.length;
  bestPoints = bestPoints.concat(newBest);
  costPoints = costPoints.concat(newCost);
  bestChart.data.datasets[0].data = bestPoints;
  costChart.data.datasets[0].data = costPoints;
  const plotted = bestPoints.length > 0;
  document.getElementById("charts").hidden = !plotted;
  document.getElementById("charts-note").hidden = plotted;
}

function showConfig(config) {
  const list = document.getElementById("config");
  if (list.childElementCount) return;
  const entries = [["budget", budget(config)], ...Object.entries(config)];
  for (const [name, value] of entries) {
    list.append(el("dt", {}, name), el("dd", {}, Array.isArray(value) ? value.join(", ") : String(value)));
  }
}

const STAGE_NOTES = {
  calibration: "measuring the proxy's reference cells; the plots start with the first scored candidate",
  search: "scoring candidates",
  confirm: "scoring the best candidates again with more inits",
};

function showStages() {
  const current = job.progress.stage;
  const order = ["calibration", "search", "confirm"];
  for (const item of document.querySelectorAll("#stages li")) {
    const position = order.indexOf(item.dataset.stage);
    item.className = !current ? "" : item.dataset.stage === current && ACTIVE.has(job.status) ? "current"
      : position < order.indexOf(current) || job.status === "succeeded" ? "done" : "";
  }
  const stage = document.getElementById("stage");
  if (job.status === "succeeded") stage.textContent = "finished";
  else if (!current) stage.textContent = job.status === "queued" ? "waiting for a worker" : "";
  else {
    const done = job.progress.stage_total === null ? job.progress.stage_done
      : `${job.progress.stage_done} / ${job.progress.stage_total}`;
    stage.textContent = `${current} ${done}: ${STAGE_NOTES[current]}`;
  }
  stage.dataset.stage = current || "";
}

function showJob() {
  showStatus(job);
  if (!labelled) {
    showLabels(job);
    wireLabels(path, job, (saved) => (job = saved));
    labelled = true;
  }
  showStages();
  const shown = searchProgress(job);
  const bar = document.getElementById("progress-bar");
  bar.max = shown.max;
  if (shown.value === null) bar.removeAttribute("value");
  else bar.value = shown.value;
  // While it runs, the count is the plotted one: the counter and the plots come from the same read.
  const evaluations = ACTIVE.has(job.status) ? bestPoints.length : job.progress.evaluations;
  const total = job.progress.total;
  document.getElementById("evaluations").textContent = total === null ? `${evaluations}` : `${evaluations} / ${total}`;
  document.getElementById("best-score").textContent = score(job.progress.best_score);
  document.getElementById("elapsed").textContent = duration(job.progress.elapsed);
  document.getElementById("eta").textContent = ACTIVE.has(job.status) ? duration(job.progress.eta) : "";
  document.getElementById("stop-reason").textContent = job.stop_reason || "";
  showConfig(job.config);
}

function specFilename(student) {
  return `diswot-${jobId.slice(0, 8)}-rank${student.rank}`;
}

async function downloadTorchScript(student, button) {
  button.disabled = true;
  button.textContent = "building…";
  try {
    const response = await api(`${path}/students/${student.rank}/torchscript`, { raw: true });
    saveBlob(await response.blob(), `${specFilename(student)}.pt`);
  } catch (error) {
    showPageError(error);
  } finally {
    button.disabled = false;
    button.textContent = "TorchScript";
  }
}

function sortBy(studentsTable, column, numeric) {
  const header = studentsTable.tHead.rows[0].cells[column];
  const ascending = header.getAttribute("aria-sort") !== "ascending";
  for (const cell of studentsTable.tHead.rows[0].cells) cell.removeAttribute("aria-sort");
  header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  const value = (row) => row.cells[column].dataset.value;
  const compare = numeric ? (a, b) => Number(value(a)) - Number(value(b)) : (a, b) => value(a).localeCompare(value(b));
  const rows = [...studentsTable.tBodies[0].rows].sort((a, b) => (ascending ? compare(a, b) : compare(b, a)));
  studentsTable.tBodies[0].replaceChildren(...rows);
}

function showStudents(students) {
  const studentsTable = document.getElementById("students");
  const proxies = [...new Set(students.flatMap((student) => Object.keys(student.scores)))];
  // Confirmed students are ranked by the mean over confirm_inits inits: show it, with its spread over them.
  const confirmed = students.find((student) => isScore(student.confirmed_score));
  const confirmColumn = confirmed
    ? [[
        `Confirmed (${confirmed.confirm_inits} inits)`,
        true,
        (s) => (isScore(s.confirmed_score) ? s.confirmed_score : -Infinity),
        (s) => (isScore(s.confirmed_score) ? `${score(s.confirmed_score)} ± ${score(s.confirmed_spread)}` : "-"),
      ]]
    : [];
  const columns = [
    ["Rank", true, (s) => s.rank, (s) => s.rank],
    ["Architecture", false, (s) => s.arch, (s) => el("code", {}, s.arch)],
    ["Score", true, (s) => s.score, (s) => score(s.score)],
    ...confirmColumn,
    ["Params", true, (s) => s.params, (s) => millions(s.params)],
    ["FLOPs", true, (s) => s.flops, (s) => millions(s.flops, 1)],
    ...proxies.map((name) => [name, true, (s) => s.scores[name], (s) => score(s.scores[name])]),
  ];
  const head = studentsTable.tHead.rows[0];
  head.replaceChildren(
    ...columns.map(([title, numeric], column) =>
      el(
        "th",
        { class: numeric ? "number sort" : "sort", title: "sort", onclick: () => sortBy(studentsTable, column, numeric) },
        title,
      ),
    ),
    el("th", {}, "Download"),
    el("th", {}, "Train"),
  );
  studentsTable.tBodies[0].replaceChildren(
    ...students.map((student) => {
      const spec = new Blob([JSON.stringify(student, null, 2) + "\n"], { type: "application/json" });
      const torchscript = el("button", { type: "button", class: "torchscript" }, "TorchScript");
      torchscript.addEventListener("click", () => downloadTorchScript(student, torchscript));
      const distil = `/distillations/new?search=${encodeURIComponent(jobId)}&rank=${student.rank}`;
      return el(
        "tr",
        { dataset: { rank: student.rank } },
        ...columns.map(([title, numeric, value, show]) =>
          el("td", { class: numeric ? "number" : title === "Architecture" ? "arch" : null,
            dataset: { value: value(student) } }, show(student)),
        ),
        el(
          "td",
          { class: "downloads" },
          el(
            "button",
            { type: "button", class: "spec", onclick: () => saveBlob(spec, `${specFilename(student)}.json`) },
            "spec",
          ),
          " ",
          torchscript,
        ),
        el("td", {}, el("a", { class: "button distil", href: distil }, "Distil")),
      );
    }),
  );
  studentsTable.hidden = false;
  document.getElementById("students-note").textContent =
    "Best first. A spec builds the student (diswot.build_student, or `diswot export spec.json --out student.pt`); " +
    "TorchScript is the file `diswot export` writes; Distil trains it from the teacher on this server.";
}

async function showDistillations() {
  const page = await api(`/v1/distillations?search=${encodeURIComponent(jobId)}&limit=100`);
  document.getElementById("distillations-section").hidden = page.total === 0;
  document.getElementById("job-distillations").tBodies[0].replaceChildren(...page.items.map((run) =>
    el(
      "tr",
      { dataset: { jobId: run.id } },
      el("td", {}, el("a", { href: `/distillations/${encodeURIComponent(run.id)}` },
        run.name || el("code", {}, run.id.slice(0, 8)))),
      el("td", {}, run.config.source.rank),
      el("td", {}, el("span", { class: `status ${run.status}` }, run.status)),
      el("td", {}, `${run.progress.epochs_done} / ${run.progress.epochs}`),
      el("td", { class: "number" }, run.progress.best_top1 === null ? "" : `${run.progress.best_top1.toFixed(2)}%`),
    )));
}

function showResult() {
  const point = (item) => ({ x: costOf(item), y: item.score, item });
  costChart.data.datasets[1].data = result.pareto_front.filter((s) => isScore(s.score)).map(point);
  costChart.data.datasets[2].data = result.students.filter((s) => isScore(s.score)).map(point);
  showStudents(result.students);
}

async function refresh() {
  try {
    job = await api(path);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      showPageError(error);
      return null; // deleted, or never existed: nothing more to follow
    }
    throw error;
  }
  if (!bestChart) makeCharts();
  const resultDue = job.status === "succeeded" && !result;
  const [page, finished] = await Promise.all([
    api(`${path}/evaluations?offset=${evaluationsRead}`),
    resultDue ? api(`${path}/result`) : null,
  ]);
  addEvaluations(page.items);
  showJob();
  const active = ACTIVE.has(job.status);
  if (finished) {
    result = finished;
    showResult();
    await showDistillations();
  }
  // The table: at once, every few seconds while the job runs, and once more when it has finished.
  if (!tableShownAt || !active || Date.now() - tableShownAt >= TABLE_REFRESH_MS) {
    await table.refresh();
    tableShownAt = Date.now();
  }
  bestChart.update("none");
  costChart.update("none");
  markReady();
  return active ? REFRESH_MS : null;
}

startPage(async () => {
  table = new EvaluationTable(path, jobId);
  wireControls(path, jobId, (changed) => {
    job = changed;
    showJob();
  }, "/");
  await poll(refresh);
});
