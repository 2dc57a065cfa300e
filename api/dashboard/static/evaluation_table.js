// Every evaluation of a search as a table (GET .../evaluations/table): a page at a time, sorted by a clicked
// column, filtered by feasibility and stage, and the same selection downloaded as CSV (.../evaluations.csv).
import { api, saveBlob, showPageError } from "./api.js";
import { el, millions, score } from "./format.js";

export class EvaluationTable {
  constructor(path, jobId) {
    this.path = path;
    this.jobId = jobId;
    this.table = document.getElementById("evaluations-table");
    this.pageSize = Number(this.table.dataset.pageSize);
    this.state = { sort: "number", descending: false, feasible: "", stage: "", offset: 0 };
    this.total = 0;
    this.generation = 0; // a filter change can overtake a slower answer: only the newest is drawn
    for (const header of this.table.querySelectorAll("th[data-sort]")) {
      header.title = "sort";
      header.addEventListener("click", () => this.sortBy(header.dataset.sort));
    }
    const filter = (id, key) =>
      document.getElementById(id).addEventListener("change", (event) => {
        this.state[key] = event.target.value;
        this.state.offset = 0;
        this.refresh().catch(showPageError);
      });
    filter("filter-feasible", "feasible");
    filter("filter-stage", "stage");
    document.getElementById("evaluations-previous").addEventListener("click", () => this.turn(-1));
    document.getElementById("evaluations-next").addEventListener("click", () => this.turn(1));
    document.getElementById("download-csv").addEventListener("click", () => this.download());
  }

  query(withPage) {
    const params = new URLSearchParams({ sort: this.state.sort, descending: this.state.descending });
    if (this.state.feasible) params.set("feasible", this.state.feasible);
    if (this.state.stage) params.set("stage", this.state.stage);
    if (withPage) {
      params.set("limit", this.pageSize);
      params.set("offset", this.state.offset);
    }
    return params;
  }

  sortBy(column) {
    const same = this.state.sort === column;
    // a first click on a measure shows the largest first; the evaluation order starts at the first
    this.state.descending = same ? !this.state.descending : column !== "number" && column !== "arch";
    this.state.sort = column;
    this.state.offset = 0;
    for (const header of this.table.querySelectorAll("th[data-sort]")) {
      if (header.dataset.sort === column) {
        header.setAttribute("aria-sort", this.state.descending ? "descending" : "ascending");
      } else {
        header.removeAttribute("aria-sort");
      }
    }
    this.refresh().catch(showPageError);
  }

  turn(direction) {
    this.state.offset = Math.max(0, this.state.offset + direction * this.pageSize);
    this.refresh().catch(showPageError);
  }

  async refresh() {
    const mine = ++this.generation;
    const page = await api(`${this.path}/evaluations/table?${this.query(true)}`);
    if (mine !== this.generation) return;
    this.total = page.total;
    this.table.tBodies[0].replaceChildren(...page.items.map(({ number, evaluation: e }) =>
      el(
        "tr",
        { dataset: { number } },
        el("td", { class: "number" }, number),
        el("td", {}, e.stage),
        el("td", { class: "arch" }, el("code", {}, e.arch)),
        el("td", {}, e.feasible ? "yes" : "no"),
        el("td", { class: "number" }, e.feasible ? (e.failure ? `failed: ${e.failure}` : score(e.score)) : ""),
        el("td", { class: "number" }, millions(e.params)),
        el("td", { class: "number" }, millions(e.flops, 1)),
        el("td", { class: "number" }, e.feasible ? e.seconds.toFixed(2) : ""),
      ),
    ));
    const first = page.total ? page.offset + 1 : 0;
    document.getElementById("evaluations-summary").textContent =
      `${first}–${page.offset + page.items.length} of ${page.total}`;
    document.getElementById("evaluations-previous").disabled = page.offset === 0;
    document.getElementById("evaluations-next").disabled = page.offset + page.items.length >= page.total;
  }

  async download() {
    try {
      const response = await api(`${this.path}/evaluations.csv?${this.query(false)}`, { raw: true });
      saveBlob(await response.blob(), `diswot-${this.jobId.slice(0, 8)}-evaluations.csv`);
    } catch (error) {
      showPageError(error);
    }
  }
}
