// A distillation job's page: its labels, progress in epochs, the loss and top-1 curves per epoch (with the
// teacher's top-1), its settings, the trained student as TorchScript, and the search its student came from.
import { ACTIVE, duration, el } from "./format.js";
import { ApiError, api, markReady, poll, saveBlob, showPageError, startPage } from "./api.js";
import { showLabels, wireLabels } from "./job_labels.js";
import { showStatus, wireControls } from "./job_controls.js";

const jobId = document.getElementById("job-id").dataset.jobId;
const path = `/v1/distillations/${encodeURIComponent(jobId)}`;
const REFRESH_MS = 2000;

Chart.defaults.animation = false;

let job = null;
let summary = null;
let lossChart = null;
let accuracyChart = null;
let labelled = false;

function percent(value) {
  return value === null || value === undefined ? "" : `${value.toFixed(2)}%`;
}

function line(label, colour, dashed = false) {
  return { label, data: [], borderColor: colour, backgroundColor: colour, pointRadius: 2, borderWidth: 2,
    borderDash: dashed ? [6, 4] : [] };
}

function makeCharts() {
  const options = (title) => ({
    parsing: false,
    maintainAspectRatio: false,
    scales: {
      x: { type: "linear", title: { display: true, text: "epoch" }, ticks: { precision: 0 } },
      y: { grace: "5%", title: { display: true, text: title } },
    },
  });
  lossChart = new Chart(document.getElementById("loss-chart"), {
    type: "line",
    data: { datasets: [line("train (total)", "#1f77b4"), line("evaluation (CE)", "#d62728")] },
    options: options("loss"),
  });
  accuracyChart = new Chart(document.getElementById("accuracy-chart"), {
    type: "line",
    data: { datasets: [line("train top-1", "#1f77b4"), line("evaluation top-1", "#d62728"),
      line("evaluation top-5", "#2ca02c"), line("teacher top-1", "#7f7f7f", true)] },
    options: options("accuracy (%)"),
  });
}

function drawEpochs(epochs) {
  const series = (key) => epochs.map((record) => ({ x: record.epoch, y: record[key] }));
  lossChart.data.datasets[0].data = series("train_loss");
  lossChart.data.datasets[1].data = series("eval_loss");
  accuracyChart.data.datasets[0].data = series("train_top1");
  accuracyChart.data.datasets[1].data = series("eval_top1");
  accuracyChart.data.datasets[2].data = series("eval_top5");
  const teacher = summary && summary.teacher_accuracy;
  accuracyChart.data.datasets[3].data = teacher && epochs.length
    ? [{ x: epochs[0].epoch, y: teacher.top1 }, { x: epochs[epochs.length - 1].epoch, y: teacher.top1 }]
    : [];
  document.getElementById("curves").hidden = epochs.length === 0;
  document.getElementById("curves-note").hidden = epochs.length > 0;
  lossChart.update("none");
  accuracyChart.update("none");
}

function showSettings() {
  const list = document.getElementById("config");
  if (list.childElementCount) return;
  const config = job.config;
  const student = typeof config.student === "string" ? config.student
    : `${config.student.space}:${config.student.arch} (its spec: ${config.student.num_classes} classes)`;
  const recipe = { ...config.recipe };
  const weights = recipe.weights;
  delete recipe.weights;
  const entries = [["student", student], ["teacher", config.teacher || "none (vanilla)"],
    ["checkpoint", config.checkpoint || ""], ["data", config.data], ["num_classes", config.num_classes],
    ["device", config.device], ...Object.entries(recipe)];
  if (config.recipe.mode === "kd") entries.push(...Object.entries(weights).map(([name, value]) => [`weight ${name}`, value]));
  for (const [name, value] of entries) {
    list.append(el("dt", {}, name), el("dd", {}, Array.isArray(value) ? value.join(", ") : String(value)));
  }
  const source = config.source;
  const note = document.getElementById("source");
  if (source) {
    note.replaceChildren("Student: rank ", String(source.rank), " of search ",
      el("a", { href: `/jobs/${encodeURIComponent(source.search)}` }, source.search.slice(0, 8)), ".");
    note.hidden = false;
  }
}

function showJob() {
  showStatus(job);
  if (!labelled) {
    showLabels(job);
    wireLabels(path, job, (saved) => (job = saved));
    labelled = true;
  }
  const progress = job.progress;
  const bar = document.getElementById("progress-bar");
  bar.max = progress.epochs;
  bar.value = progress.epochs_done;
  document.getElementById("stage").textContent = job.status === "succeeded" ? "finished" : progress.stage || job.status;
  document.getElementById("epochs").textContent = `${progress.epochs_done} / ${progress.epochs}`;
  document.getElementById("best-top1").textContent = percent(progress.best_top1);
  document.getElementById("teacher-top1").textContent =
    summary && summary.teacher_accuracy ? percent(summary.teacher_accuracy.top1) : job.config.teacher ? "at the end" : "no teacher";
  document.getElementById("elapsed").textContent = duration(progress.elapsed);
  document.getElementById("eta").textContent = ACTIVE.has(job.status) ? duration(progress.eta) : "";
  document.getElementById("download-student").hidden = job.status !== "succeeded";
  showSettings();
}

async function downloadStudent() {
  try {
    const response = await api(`${path}/student`, { raw: true });
    saveBlob(await response.blob(), `diswot-${jobId.slice(0, 8)}-student.ts`);
  } catch (error) {
    showPageError(error);
  }
}

async function refresh() {
  try {
    job = await api(path);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      showPageError(error);
      return null;
    }
    throw error;
  }
  if (job.status === "succeeded" && !summary) summary = await api(`${path}/result`);
  if (!lossChart) makeCharts();
  showJob();
  drawEpochs((await api(`${path}/epochs`)).items);
  markReady();
  return ACTIVE.has(job.status) ? REFRESH_MS : null;
}

startPage(async () => {
  wireControls(`/v1/searches/${encodeURIComponent(jobId)}`, jobId, (changed) => {
    job = { ...job, status: changed.status, cancel_requested: changed.cancel_requested };
    showJob();
  }, "/distillations");
  document.getElementById("download-student").addEventListener("click", downloadStudent);
  await poll(refresh);
});
