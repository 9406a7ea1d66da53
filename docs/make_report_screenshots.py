"""Screenshots of the three HTML reports in headless Chromium, for the docs: ``docs/figures/reports/*.png``.

    python docs/make_report_screenshots.py

Runs, in a temporary directory, what a user would run: ``tunenet train`` on
digits (classification), ``tunenet train`` on scikit-learn's diabetes table
(regression, the raw target 25..346), and a short ``tunenet tune`` on
digits; then opens each ``report.html`` from disk in Debian's Chromium
(``--headless``, networking off) and saves the top of the page (1280 px
wide). ``tests/report/test_report_browser.py`` checks in the same browser
that every image of these pages loads and the sections exist.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "figures" / "reports"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND", "--virtual-time-budget=10000"]


def tunenet(*args, cwd: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "COLUMNS": "200"}
    subprocess.run([sys.executable, "-m", "tunenet.cli", *map(str, args)], cwd=cwd, env=env, check=True,
                   stdin=subprocess.DEVNULL)


def screenshot(page: Path, png: Path, height: int, tmp: Path) -> None:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    subprocess.run([chromium, *FLAGS, f"--user-data-dir={tmp / 'profile'}", f"--window-size=1280,{height}",
                    f"--screenshot={png}", page.as_uri()], check=True, capture_output=True,
                   env={**os.environ, "HOME": str(tmp)}, timeout=120)


def main() -> None:
    from sklearn.datasets import load_diabetes

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        d = load_diabetes(scaled=False)
        with open(tmp / "diabetes.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow([*d.feature_names, "target"])
            writer.writerows([*row, t] for row, t in zip(d.data.tolist(), d.target.tolist()))
        tunenet("train", "--data", "digits", "--quiet", "--threads", "1", "--run-dir", tmp / "digits", cwd=tmp)
        tunenet("train", "--data", tmp / "diabetes.csv", "--quiet", "--threads", "1", "--run-dir", tmp / "diabetes",
                cwd=tmp)
        tunenet("tune", "--trials", "12", "--rounds", "2", "--workers", "1", "--epochs", "10", "--quiet",
                "--root", tmp / "studies", "--study", "digits-demo", cwd=tmp)
        for page, png, height in ((tmp / "digits" / "report.html", "train-classification.png", 2600),
                                  (tmp / "diabetes" / "report.html", "train-regression.png", 2200),
                                  (tmp / "studies" / "digits-demo" / "report.html", "study.png", 3400)):
            screenshot(page, OUT / png, height, tmp)
            print(f"wrote {OUT / png}")


if __name__ == "__main__":
    main()
