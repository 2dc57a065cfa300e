"""Screenshots of the dashboard for the README: the jobs page, a finished job's page and a distillation's page,
taken in headless Chromium from a real server running real (small) searches and a real (tiny) distillation.

    python tests/dashboard_screenshots.py --out docs     # writes docs/dashboard-{jobs,job,distillation}.png

The distillation trains the best student of the first search for a few epochs on 10 learnable classes of
coloured noise, from a resnet8 teacher whose weights are its random init (the page's layout is the point:
its teacher top-1 sits near chance).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, as the tests are
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the tests' own helpers (local_server, dashboard_browser)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from dashboard_browser import start_chromium  # noqa: E402

from local_server import LocalServer  # noqa: E402
from diswot.client import Client  # noqa: E402
from diswot.teachers import build_network  # noqa: E402

SMALL = dict(space="resnet_cifar_wide", num_classes=100, batch_size=16, population=12, sample_size=4)
# A few searches of the kind a person runs, kept small so the script takes a minute or two on two cores.
SEARCHES = [
    dict(SMALL, teacher="resnet56", evaluations=80, max_params="0.5M", top_k=8, proxies=["diswot", "params"],
         name="r56 under 0.5M", tags=["r56", "keep"], note="the one to distil"),
    dict(SMALL, teacher="resnet20", evaluations=20, strategy="random", top_k=5, name="r20 random"),
    dict(SMALL, teacher="wrn_16_2", evaluations=30, strategy="ga", max_flops="60M", top_k=5, tags=["wrn"]),
]
CLASSES = 10


def write_training_files(folder: Path) -> dict[str, str]:
    """A 10-class .npz whose class sets an image's colour (learnable in a few epochs) and resnet8 weights."""
    (folder / "data").mkdir()
    (folder / "teachers").mkdir()
    rng = np.random.default_rng(0)
    labels = np.arange(600) % CLASSES
    colours = rng.integers(0, 256, (CLASSES, 3))
    images = np.clip(colours[labels][:, None, None, :] + rng.normal(0, 50, (600, 32, 32, 3)), 0, 255)
    images = images.astype(np.uint8)
    np.savez(folder / "data" / "colours.npz", x_train=images[:500], y_train=labels[:500], x_test=images[500:],
             y_test=labels[500:])
    torch.manual_seed(0)
    torch.save(build_network("resnet8", CLASSES).state_dict(), folder / "teachers" / "resnet8.pt")
    return {"DISWOT_DATA_DIR": str(folder / "data"), "DISWOT_TEACHER_DIR": str(folder / "teachers"),
            "DISWOT_DISTILL_DIR": str(folder / "runs")}


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
        Path(scratch) / "jobs.db", Path(scratch) / "server.log",
        env={"OMP_NUM_THREADS": "1", **write_training_files(Path(scratch))},
    ) as server, Client(server.url) as client:
        ids = [client.submit(search)["id"] for search in SEARCHES]
        for job_id in ids:
            client.wait(job_id, timeout=900)
        distillation = client.distill(source={"search": ids[0], "rank": 1}, num_classes=CLASSES, teacher="resnet8",
                                      checkpoint="resnet8.pt", data="colours.npz", epochs=6, batch_size=32,
                                      name="r56 rank 1, 6 epochs", tags=["r56"])
        client.wait(distillation["id"], timeout=1800)
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
            browser.set_window_size(1440, 900)
            wait_ready(browser, f"{server.url}/distillations/{distillation['id']}")
            browser.save_screenshot(str(out / "dashboard-distillation.png"))
        finally:
            browser.quit()
            client.cancel(running["id"])
    print(f"wrote {out / 'dashboard-jobs.png'}, {out / 'dashboard-job.png'} and {out / 'dashboard-distillation.png'}")


if __name__ == "__main__":
    main()
