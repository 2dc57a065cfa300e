// Small DOM and number helpers shared by the pages. Text goes in with textContent only: job fields are user input.

export function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "dataset") Object.assign(element.dataset, value);
    else if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

export function millions(count, digits = 3) {
  return count === null || count === undefined ? "" : `${(count / 1e6).toFixed(digits)}M`;
}

// An axis tick of a count: 406k, 1.25M (three significant digits, so close ticks stay apart).
export function count(value) {
  const size = Math.abs(value);
  if (size >= 1e6) return `${Number((value / 1e6).toPrecision(3))}M`;
  if (size >= 1e3) return `${Number((value / 1e3).toPrecision(3))}k`;
  return String(Number(Number(value).toPrecision(3)));
}

// Five significant digits, without an exponent for large values (the `params` proxy scores a count).
export function score(value) {
  return value === null || value === undefined ? "" : String(Number(Number(value).toPrecision(5)));
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "";
  const total = Math.round(seconds);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const rest = total % 60;
  if (hours) return `${hours}h ${String(minutes).padStart(2, "0")}m`;
  if (minutes) return `${minutes}m ${String(rest).padStart(2, "0")}s`;
  return `${rest}s`;
}

export function dateTime(text) {
  return text ? new Date(text).toLocaleString(undefined, { dateStyle: "short", timeStyle: "short" }) : "";
}

// The budget of a request as the library describes it: "params <= 0.500M, FLOPs <= 40.0M".
export function budget(config) {
  const set = (value) => value !== null && value !== undefined;
  const parts = [];
  if (set(config.min_params)) parts.push(`params >= ${millions(config.min_params)}`);
  if (set(config.max_params)) parts.push(`params <= ${millions(config.max_params)}`);
  if (set(config.max_flops)) parts.push(`FLOPs <= ${millions(config.max_flops, 1)}`);
  return parts.length ? parts.join(", ") : "none";
}

export function progressText(progress) {
  return progress.total === null ? `${progress.evaluations}` : `${progress.evaluations} / ${progress.total}`;
}

// A search's progress as a list shows it: the stage's own count while it runs ("calibration 12 / 30"); once it
// has succeeded, what it scored and why it stopped ("45 scored: space exhausted"), never a partial bar.
export function searchProgress(job) {
  const progress = job.progress;
  if (job.status === "succeeded") {
    return { text: `${progress.evaluations} scored: ${job.stop_reason || "done"}`, value: 1, max: 1 };
  }
  if (job.status === "running" && progress.stage) {
    const count = progress.stage_total === null ? `${progress.stage_done}` : `${progress.stage_done} / ${progress.stage_total}`;
    return { text: `${progress.stage} ${count}`, value: progress.stage_total ? progress.stage_done : null,
      max: progress.stage_total || 1 };
  }
  return { text: progressText(progress), value: progress.total ? progress.evaluations : null, max: progress.total || 1 };
}

// The job's name, or its short id when it has none.
export function jobTitle(job) {
  return job.name || job.id.slice(0, 8);
}

export function tagList(tags) {
  return el("span", { class: "tags" }, ...tags.map((tag) => el("span", { class: "tag" }, tag)));
}

export const ACTIVE = new Set(["queued", "running"]);
