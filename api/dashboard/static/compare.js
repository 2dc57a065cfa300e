// Compare: the Pareto fronts of two or more succeeded jobs, one plot per search space (costs of different spaces
// are not on one scale). The chosen jobs are in the address (?ids=a,b), so a comparison can be bookmarked or sent;
// with none chosen the page says what to do instead of showing an empty plot.
import { api, markReady, showPageError, startPage } from "./api.js";
import { budget, count, dateTime, el, millions, score } from "./format.js";

Chart.defaults.animation = false;
const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"];
const table = document.getElementById("compare-jobs");
const axis = document.getElementById("cost-axis");
const fronts = new Map(); // job id -> {job, front}
let chosen = (new URLSearchParams(window.location.search).get("ids") || "").split(",").filter(Boolean);
const charts = new Map(); // space -> Chart

function label(job) {
  return `${job.name || job.id.slice(0, 8)} ${job.config.teacher} (${job.config.proxies[0]})`;
}

function chartFor(space) {
  if (charts.has(space)) return charts.get(space);
  const canvas = el("canvas");
  const figure = el("figure", { class: "compare-space", dataset: { space } }, el("figcaption", {}, `Space ${space}`),
    el("div", { class: "chart wide" }, canvas));
  document.getElementById("compare-charts").append(figure);
  const chart = new Chart(canvas, {
    type: "scatter",
    data: { datasets: [] },
    options: {
      parsing: false,
      maintainAspectRatio: false,
      scales: {
        x: { type: "linear", grace: "3%", title: { display: true, text: "params" }, ticks: { callback: count } },
        y: { grace: "3%", title: { display: true, text: "score" } },
      },
      plugins: {
        tooltip: {
          callbacks: {
            label: (context) => {
              const student = context.raw.student;
              return [student.arch, `params ${millions(student.params)}, FLOPs ${millions(student.flops, 1)}`,
                `score ${score(student.score)}`];
            },
          },
        },
      },
    },
  });
  charts.set(space, chart);
  return chart;
}

function draw() {
  const cost = axis.value;
  const shown = chosen.filter((id) => fronts.has(id));
  const bySpace = new Map();
  shown.forEach((id, index) => {
    const { job } = fronts.get(id);
    if (!bySpace.has(job.config.space)) bySpace.set(job.config.space, []);
    bySpace.get(job.config.space).push([id, COLOURS[index % COLOURS.length]]);
  });
  for (const [space, chart] of charts) {
    if (!bySpace.has(space)) {
      chart.destroy();
      document.querySelector(`figure.compare-space[data-space="${CSS.escape(space)}"]`).remove();
      charts.delete(space);
    }
  }
  for (const [space, members] of bySpace) {
    const chart = chartFor(space);
    chart.data.datasets = members.map(([id, colour]) => {
      const { job, front } = fronts.get(id);
      return {
        label: label(job),
        data: front.map((student) => ({ x: student[cost], y: student.score, student })),
        showLine: true,
        borderColor: colour,
        backgroundColor: colour,
        pointRadius: 4,
      };
    });
    chart.options.scales.x.title.text = cost === "flops" ? "FLOPs" : "params";
    chart.update("none");
  }
  const hint = document.getElementById("nothing-chosen");
  hint.hidden = shown.length > 0;
  hint.textContent = "Select two or more succeeded jobs below to plot their Pareto fronts.";
}

async function load(id) {
  if (!fronts.has(id)) {
    const [job, result] = await Promise.all([
      api(`/v1/searches/${encodeURIComponent(id)}`),
      api(`/v1/searches/${encodeURIComponent(id)}/result`),
    ]);
    fronts.set(id, { job, front: result.pareto_front });
  }
}

async function choose(ids) {
  chosen = ids;
  const query = chosen.length ? `?ids=${chosen.map(encodeURIComponent).join(",")}` : "";
  history.replaceState(null, "", `${window.location.pathname}${query}`);
  await Promise.all(chosen.map(load));
  draw();
}

function listJobs(page) {
  table.tBodies[0].replaceChildren(
    ...page.items.map((job) => {
      const box = el("input", { type: "checkbox", value: job.id, checked: chosen.includes(job.id) });
      box.addEventListener("change", () => {
        const ids = box.checked ? [...chosen, job.id] : chosen.filter((id) => id !== job.id);
        choose(ids).catch(showPageError);
      });
      return el(
        "tr",
        { dataset: { jobId: job.id } },
        el("td", {}, box),
        el("td", {}, el("a", { href: `/jobs/${encodeURIComponent(job.id)}` }, el("code", {}, job.id.slice(0, 8)))),
        el("td", {}, dateTime(job.created_at)),
        el("td", {}, job.config.teacher),
        el("td", {}, job.config.space),
        el("td", {}, job.config.proxies[0]),
        el("td", {}, budget(job.config)),
        el("td", { class: "number" }, score(job.progress.best_score)),
      );
    }),
  );
}

startPage(async () => {
  axis.addEventListener("change", draw);
  const limit = Number(table.dataset.pageSize);
  const [page] = await Promise.all([api(`/v1/searches?status=succeeded&limit=${limit}`), choose(chosen)]);
  listJobs(page);
  if (!page.total) document.getElementById("nothing-chosen").textContent = "No succeeded search yet: the fronts of " +
    "finished searches can be compared here.";
  markReady();
});
