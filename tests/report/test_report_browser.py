"""report.html in a real headless Chromium: every image loads, the findings are visible, offline.

Chromium comes from Debian's package (``apt-get install chromium``, done by
``.ci/run``). The page is opened from disk with networking routed to a dead
proxy and every host name unresolvable, so anything not embedded would fail to
load. A small script, added to a copy of the report, writes what the browser
sees (each image's natural size, each finding's box and text) into the DOM,
which ``--dump-dom`` prints once the virtual time budget has run out.
"""

import json
import os
import re
import shutil
import subprocess

import pytest

from tunenet.report import write_report

CHECK_SCRIPT = """
<script>
window.addEventListener("load", () => {
  const images = Array.from(document.images).map(img => ({
    alt: img.alt, complete: img.complete, width: img.naturalWidth, height: img.naturalHeight}));
  const findings = Array.from(document.querySelectorAll(".finding")).map(el => {
    const box = el.getBoundingClientRect(), style = getComputedStyle(el);
    return {text: el.innerText, width: box.width, height: box.height,
            visible: style.display !== "none" && style.visibility === "visible" && style.opacity !== "0"};
  });
  const sections = Array.from(document.querySelectorAll("section")).map(el => ({
    id: el.id, heading: (el.querySelector("h2") || {}).innerText || "", height: el.getBoundingClientRect().height}));
  const best = Array.from(document.querySelectorAll("tr.best")).map(el => el.innerText);
  const out = document.createElement("pre");
  out.id = "tunenet-check";
  out.textContent = JSON.stringify({images, findings, sections, best, title: document.title});
  document.body.appendChild(out);
});
</script>
"""


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI"):
        pytest.fail("Chromium is not installed: .ci/run must apt-get install chromium")
    pytest.skip("Chromium is not installed (apt-get install chromium)")


def run_chromium(tmp_path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "chromium-profile"
    command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
               "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--proxy-server=127.0.0.1:9",
               "--host-resolver-rules=MAP * ~NOTFOUND", "--allow-file-access-from-files",
               "--virtual-time-budget=10000", "--window-size=1280,3000", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
                          env={**os.environ, "HOME": str(tmp_path)})


def probe_page(page: str, tmp_path) -> dict:
    """What Chromium sees of ``page``: images, findings, sections, best rows (see CHECK_SCRIPT)."""
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", CHECK_SCRIPT + "</body>"), encoding="utf-8")
    result = run_chromium(tmp_path, "--dump-dom", probe.as_uri())
    match = re.search(r'<pre id="tunenet-check">(.*?)</pre>', result.stdout, re.S)
    assert match, (result.returncode, result.stdout[-2000:], result.stderr[-2000:])
    return json.loads(match.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))


def assert_images_load(seen: dict, n_images: int) -> None:
    assert len(seen["images"]) == n_images
    for image in seen["images"]:
        assert image["complete"] and image["width"] > 200 and image["height"] > 150, image


def test_every_image_loads_and_the_findings_are_visible(dead_run, tmp_path):
    report = write_report(dead_run, path=tmp_path / "report.html")
    page = report.read_text(encoding="utf-8")
    n_images = page.count("<img ")
    seen = probe_page(page, tmp_path)
    assert seen["title"].startswith("tunenet report")
    assert len(seen["images"]) == n_images == 5
    for image in seen["images"]:
        assert image["complete"] and image["width"] > 200 and image["height"] > 150, image
    kinds = [f["text"] for f in seen["findings"]]
    assert any("dead units" in text and "Fix:" in text for text in kinds), kinds
    for finding in seen["findings"]:
        assert finding["visible"] and finding["width"] > 300 and finding["height"] > 20, finding


def test_screenshot(dead_run, tmp_path):
    """The report renders to a non-blank screenshot (one is kept beside the run for a person to look at)."""
    from PIL import Image, ImageStat

    report = write_report(dead_run, path=tmp_path / "report.html")
    shot = tmp_path / "report.png"
    result = run_chromium(tmp_path, "--hide-scrollbars", f"--screenshot={shot}", report.as_uri())
    assert shot.is_file(), (result.returncode, result.stderr[-2000:])
    with Image.open(shot) as im:
        assert im.size == (1280, 3000)
        stddev = ImageStat.Stat(im.convert("L")).stddev[0]
    assert stddev > 20  # text and plots, not a blank or error page


def test_the_probe_catches_a_broken_or_remote_image(tmp_path):
    """Control: the same probe reports an undecodable image and a remote one as not loaded (offline)."""
    page = ('<!DOCTYPE html><html><head><title>control</title></head><body>'
            '<img alt="broken" src="data:image/png;base64,bm90IGEgcG5n">'
            '<img alt="remote" src="http://example.com/plot.png">'
            '<div class="finding">a finding</div></body></html>')
    probe = tmp_path / "control.html"
    probe.write_text(page.replace("</body>", CHECK_SCRIPT + "</body>"))
    result = run_chromium(tmp_path, "--dump-dom", probe.as_uri())
    match = re.search(r'<pre id="tunenet-check">(.*?)</pre>', result.stdout, re.S)
    assert match, (result.returncode, result.stderr[-2000:])
    seen = json.loads(match.group(1))
    assert [image["width"] for image in seen["images"]] == [0, 0]
    assert seen["findings"][0]["visible"]


def test_the_regression_report_loads_with_its_sections(regression_run, tmp_path):
    page = write_report(regression_run, path=tmp_path / "report.html").read_text(encoding="utf-8")
    seen = probe_page(page, tmp_path)
    assert_images_load(seen, 4)  # curves (loss and R²), step loss, gradient and activation health
    assert [s["id"] for s in seen["sections"]] == ["findings", "metrics", "curves", "health", "config"]
    metrics = next(s for s in seen["sections"] if s["id"] == "metrics")
    assert metrics["heading"] == "Final metrics" and metrics["height"] > 100


def test_the_study_report_loads_with_its_sections_and_the_best_trial_marked(small_study, tmp_path):
    page = (small_study / "report.html").read_text(encoding="utf-8")
    seen = probe_page(page, tmp_path)
    assert_images_load(seen, 3)  # parameters, history, the best model's curves
    assert [s["id"] for s in seen["sections"]] == ["summary", "test", "config", "importance", "rounds", "plots",
                                                  "trials"]
    summary = json.loads((small_study / "summary.json").read_text())
    assert len(seen["best"]) == 1 and seen["best"][0].startswith(f"{summary['best']['trial']}")
    assert "Trials: {" not in page and "trials: " in page and "dev accuracy" in page
