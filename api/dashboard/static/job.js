// A job's page: its request, live progress, the two plots, the ranked students with their downloads, cancel
// and delete. Evaluations are read incrementally (`?offset=`) while the job runs, so each poll is small.
import { ACTIVE, budget, dateTime, duration, el, millions, progressText, score } from "./format.js";
import { ApiError, api, markReady, poll, saveBlob, showPageError, startPage } from "./api.js";

const jobId = document.getElementById("job-id").dataset.jobId;
const path = `/v1/searches/${encodeURIComponent(jobId)}`;
const REFRESH_MS = 1000;

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
      normalized: true,
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
      normalized: true,
      maintainAspectRatio: false,
      scales: {
        x: { type: "linear", title: { display: true, text: costLabel }, ticks: { callback: (v) => millions(v, 2) } },
        y: { title: { display: true, text: "score" } },
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
}

function showConfig(config) {
  const list = document.getElementById("config");
  if (list.childElementCount) return;
  const entries = [["budget", budget(config)], ...Object.entries(config)];
  for (const [name, value] of entries) {
    list.append(el("dt", {}, name), el("dd", {}, Array.isArray(value) ? value.join(", ") : String(value)));
  }
}

function showJob() {
  const status = document.getElementById("status");
  status.textContent = job.cancel_requested && ACTIVE.has(job.status) ? `${job.status} (cancelling)` : job.status;
  status.className = `status ${job.status}`;
  status.dataset.status = job.status;
  document.getElementById("cancel").hidden = !ACTIVE.has(job.status) || job.cancel_requested;
  document.getElementById("delete").hidden = ACTIVE.has(job.status);
  const bar = document.getElementById("progress-bar");
  if (job.progress.total) {
    bar.max = job.progress.total;
    bar.value = job.progress.evaluations;
  } else if (job.status === "succeeded") {
    bar.value = bar.max;
  } else {
    bar.removeAttribute("value"); // exhaustive: the total is unknown until the end
  }
  document.getElementById("evaluations").textContent = progressText(job.progress);
  document.getElementById("best-score").textContent = score(job.progress.best_score);
  document.getElementById("elapsed").textContent = duration(job.progress.elapsed);
  document.getElementById("eta").textContent = ACTIVE.has(job.status) ? duration(job.progress.eta) : "";
  const error = document.getElementById("job-error");
  error.hidden = !job.error;
  error.textContent = job.error ? `The search failed: ${job.error}` : "";
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

function sortBy(table, column, numeric) {
  const header = table.tHead.rows[0].cells[column];
  const ascending = header.getAttribute("aria-sort") !== "ascending";
  for (const cell of table.tHead.rows[0].cells) cell.removeAttribute("aria-sort");
  header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  const value = (row) => row.cells[column].dataset.value;
  const compare = numeric ? (a, b) => Number(value(a)) - Number(value(b)) : (a, b) => value(a).localeCompare(value(b));
  const rows = [...table.tBodies[0].rows].sort((a, b) => (ascending ? compare(a, b) : compare(b, a)));
  table.tBodies[0].replaceChildren(...rows);
}

function showStudents(students) {
  const table = document.getElementById("students");
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
  const head = table.tHead.rows[0];
  head.replaceChildren(
    ...columns.map(([title, numeric], column) =>
      el(
        "th",
        { class: numeric ? "number sort" : "sort", title: "sort", onclick: () => sortBy(table, column, numeric) },
        title,
      ),
    ),
    el("th", {}, "Download"),
  );
  table.tBodies[0].replaceChildren(
    ...students.map((student) => {
      const spec = new Blob([JSON.stringify(student, null, 2) + "\n"], { type: "application/json" });
      const torchscript = el("button", { type: "button", class: "torchscript" }, "TorchScript");
      torchscript.addEventListener("click", () => downloadTorchScript(student, torchscript));
      return el(
        "tr",
        { dataset: { rank: student.rank } },
        ...columns.map(([, numeric, value, show]) =>
          el("td", { class: numeric ? "number" : null, dataset: { value: value(student) } }, show(student)),
        ),
        el(
          "td",
          { class: "downloads" },
          el(
            "button",
            { type: "button", class: "spec", onclick: () => saveBlob(spec, `${specFilename(student)}.json`) },
            "spec (JSON)",
          ),
          " ",
          torchscript,
        ),
      );
    }),
  );
  table.hidden = false;
  document.getElementById("students-note").textContent =
    "Best first. A spec builds the student (diswot.build_student, or `diswot export spec.json --out student.pt`); " +
    "TorchScript is the file `diswot export` writes.";
}

function showResult() {
  document.getElementById("stop-reason").textContent = result.stop_reason;
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
  showJob();
  if (!bestChart) makeCharts();
  const resultDue = job.status === "succeeded" && !result;
  const [page, finished] = await Promise.all([
    api(`${path}/evaluations?offset=${evaluationsRead}`),
    resultDue ? api(`${path}/result`) : null,
  ]);
  addEvaluations(page.items);
  if (finished) {
    result = finished;
    showResult();
  }
  bestChart.update("none");
  costChart.update("none");
  markReady();
  return ACTIVE.has(job.status) ? REFRESH_MS : null;
}

startPage(async () => {
  document.getElementById("cancel").addEventListener("click", async () => {
    try {
      job = await api(`${path}/cancel`, { method: "POST" });
      showJob();
    } catch (error) {
      showPageError(error);
    }
  });
  document.getElementById("delete").addEventListener("click", async () => {
    if (!window.confirm(`Delete job ${jobId} with its evaluations and result?`)) return;
    try {
      await api(path, { method: "DELETE" });
      window.location.href = "/";
    } catch (error) {
      showPageError(error);
    }
  });
  await poll(refresh);
});
