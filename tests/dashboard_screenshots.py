"""Screenshots of the dashboard for the README: the jobs page and a finished job's page, taken in headless
Chromium from a real server running real (small) searches.

    python tests/dashboard_screenshots.py --out docs     # writes docs/dashboard-jobs.png, docs/dashboard-job.png
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, as the tests are
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the tests' own helpers (local_server, dashboard_browser)

from dashboard_browser import start_chromium  # noqa: E402

from local_server import LocalServer  # noqa: E402
from diswot.client import Client  # noqa: E402

SMALL = dict(space="resnet_cifar_wide", num_classes=100, batch_size=16, population=12, sample_size=4)
# A few searches of the kind a person runs, kept small so the script takes a minute or two on two cores.
SEARCHES = [
    dict(SMALL, teacher="resnet56", evaluations=80, max_params="0.5M", top_k=8, proxies=["diswot", "params"]),
    dict(SMALL, teacher="resnet20", evaluations=20, strategy="random", top_k=5),
    dict(SMALL, teacher="wrn_16_2", evaluations=30, strategy="ga", max_flops="60M", top_k=5),
]


def wait_ready(browser, url: str) -> None:
    browser.get(url)
    deadline = time.monotonic() + 60
    while not browser.execute_script("return document.documentElement.dataset.ready"):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not finish rendering")
        time.sleep(0.1)
    time.sleep(0.5)  # the charts' last frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs"))
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch, LocalServer(
        Path(scratch) / "jobs.db", Path(scratch) / "server.log", env={"OMP_NUM_THREADS": "1"}
    ) as server, Client(server.url) as client:
        ids = [client.submit(search)["id"] for search in SEARCHES]
        for job_id in ids:
            client.wait(job_id, timeout=900)
        cancelled = client.submit(dict(SMALL, teacher="vgg8", evaluations=2000))
        while client.get(cancelled["id"])["progress"]["evaluations"] < 5:
            time.sleep(0.2)
        client.cancel(cancelled["id"])
        client.wait(cancelled["id"], timeout=120)
        running = client.submit(dict(SMALL, teacher="resnet32", evaluations=2000, strategy="nsga2"))
        while client.get(running["id"])["progress"]["evaluations"] < 40:
            time.sleep(0.2)

        browser = start_chromium(Path(scratch), window=(1440, 640))
        try:
            wait_ready(browser, f"{server.url}/")
            browser.save_screenshot(str(out / "dashboard-jobs.png"))
            browser.set_window_size(1440, 1180)
            wait_ready(browser, f"{server.url}/jobs/{ids[0]}")
            browser.save_screenshot(str(out / "dashboard-job.png"))
        finally:
            browser.quit()
            client.cancel(running["id"])
    print(f"wrote {out / 'dashboard-jobs.png'} and {out / 'dashboard-job.png'}")


if __name__ == "__main__":
    main()
