"""report.html in a real browser: headless Chromium (Debian's package, which .ci/run
installs) driven by Playwright, at 1280 x 800 (a laptop) and 390 px (a phone), on a small
results folder built here."""

import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from report_fixtures import make_run

from suite.core.results import write_result
from suite.report.render import write_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium (apt-get install chromium)"),
]


OLD = Path(__file__).resolve().parents[1] / "data" / "results-v0.1"


def _results(folder: Path) -> None:
    folder.mkdir(parents=True)
    for kind in ("grads", "portability"):  # the detail sections and their figures
        for f in (OLD / kind).glob("*.json"):
            shutil.copy(f, folder / f.name)
    for model, ms in (("softmax", 0.3), ("mlp", 0.8), ("cnn", 20.0)):
        for backend, f in (("jax", 1.0), ("tensorflow", 1.6), ("torch", 2.5)):
            for seed in range(2):
                r = make_run(backend, model, seed, ms * f, 0.95 + 0.001 * seed)
                # misclassified test images, for the gallery
                write_result(folder / f"{r.cell}.json", replace(r, misclassified=[[7, 1], [9, 2]]))


def test_report_page_in_chromium(mnist, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    _results(tmp_path / "results")
    write_report([tmp_path / "results"], tmp_path / "report")
    page_url = (tmp_path / "report" / "report.html").resolve().as_uri()
    requests, errors = [], []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.on("request", lambda r: requests.append(r.url))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(page_url, wait_until="load")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        tables = page.evaluate(
            "[...document.querySelectorAll('table')].map(t => t.querySelectorAll('th').length)"
        )
        images = page.evaluate("[...document.images].map(i => [i.complete, i.naturalWidth, i.alt])")
        first_heading = page.evaluate("document.querySelector('h2').textContent")
        verdict_bottom = page.evaluate(
            "document.querySelector('table.verdict').getBoundingClientRect().bottom"
        )
        conditions = page.evaluate(
            "[...document.querySelectorAll('p.conditions')].map(p => p.textContent)"
        )
        details = page.evaluate("[...document.querySelectorAll('details')].map(d => d.open)")
        toc = page.evaluate(
            "[...document.querySelectorAll('nav a')].map(a => "
            "document.getElementById(a.hash.slice(1)) !== null)"
        )
        right = page.evaluate("getComputedStyle(document.querySelector('td.n')).textAlign")
        shot = Path(os.environ.get("SUITE_SCREENSHOT", tmp_path / "report.png"))
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert overflow <= 0, f"{overflow} px of horizontal scroll at 1280 px"
    assert verdict_bottom <= 800, "the verdict is not in the first screen at 1280 x 800"
    assert any(c.startswith("Measured on TestCPU") for c in conditions), conditions
    assert details and not any(details)  # the detail sections start collapsed
    assert toc and all(toc)  # every contents link has its target
    assert right == "right"
    assert tables and all(n > 0 for n in tables), tables  # every table has header cells
    assert len(images) >= 3 and all(c and w > 0 for c, w, _ in images), images
    assert all(not alt.startswith(("throughput_", "accuracy_time_")) for _, _, alt in images)
    assert first_heading == "Which backend should I use?"  # the answer comes first
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
    assert errors == []
    assert shot.stat().st_size > 10_000


def test_report_page_on_a_phone(mnist, tmp_path):
    """At 390 px (a phone, the page declares its viewport), with every detail section
    open: no page-level horizontal scroll (tables scroll inside themselves, long names
    wrap), and every figure but the gallery at least 300 px wide (panels stack)."""
    playwright = pytest.importorskip("playwright.sync_api")
    _results(tmp_path / "results")
    write_report([tmp_path / "results"], tmp_path / "report")
    page_url = (tmp_path / "report" / "report.html").resolve().as_uri()
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
        page.goto(page_url, wait_until="load")
        page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        widths = page.evaluate(
            "[...document.querySelectorAll('figure:not(.gallery) img')]"
            ".map(i => i.getBoundingClientRect().width)"
        )
        viewport = page.evaluate("document.querySelector('meta[name=viewport]') !== null")
        browser.close()
    assert viewport
    assert overflow <= 0, f"{overflow} px of horizontal scroll at 390 px"
    assert len(widths) >= 5 and min(widths) >= 300, widths  # panels, heatmap, trajectory


MODELS = ("softmax", "mlp", "cnn", "lstm", "vit", "resnet")


def _sample_sized(folder: Path) -> None:
    """As large as the committed sample: six workloads, float32 and mixed_bfloat16 on
    three backends and torch tuned (jit on), two seeds each, inference measured."""
    from report_fixtures import with_inference

    folder.mkdir(parents=True)
    for i, model in enumerate(MODELS):
        for seed in range(2):
            cells = [
                (b, f * (1 + i), policy, {})
                for b, f in (("jax", 1.0), ("tensorflow", 1.5), ("torch", 2.5))
                for policy in ("float32", "mixed_bfloat16")
            ] + [("torch", 2.0 * (1 + i), "float32", {"jit": "on", "tuned": "jit=on"})]
            for backend, ms, policy, tuned in cells:
                ms = ms * (0.8 if policy == "mixed_bfloat16" and backend == "torch" else 1.0)
                r = make_run(backend, model, seed, ms, 0.95 + 0.001 * seed, policy=policy, **tuned)
                write_result(folder / f"{r.cell}.json", with_inference(r, 10 * ms, 0.2 * ms))


def test_a_sample_sized_report_answers_on_the_first_screen(mnist, tmp_path):
    """Six workloads, each in two dtype policies and a tuned mode: at 1280 x 800 the six
    verdict rows and the conditions line are on the first screen, and the page with its
    details collapsed is at most 8 screens; at 390 x 844 the verdict ends within two
    screens, with no page-level horizontal scroll."""
    playwright = pytest.importorskip("playwright.sync_api")
    _sample_sized(tmp_path / "results")
    write_report([tmp_path / "results"], tmp_path / "report")
    page_url = (tmp_path / "report" / "report.html").resolve().as_uri()
    seen = {}
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        for width, height in ((1280, 800), (390, 844)):
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(page_url, wait_until="load")
            seen[width] = page.evaluate(
                """() => {
                const v = document.querySelector('table.verdict');
                const c = [...document.querySelectorAll('p.conditions')]
                    .find(p => p.textContent.startsWith('Measured on'));
                return {rows: v.querySelectorAll('tbody tr').length,
                        verdict: v.getBoundingClientRect().bottom,
                        conditions: c.getBoundingClientRect().bottom,
                        page: document.documentElement.scrollHeight,
                        overflow: document.documentElement.scrollWidth
                            - document.documentElement.clientWidth};
            }"""
            )
            if width == 1280:
                page.screenshot(path=str(tmp_path / "first-screen.png"))
        browser.close()
    wide, phone = seen[1280], seen[390]
    assert wide["rows"] == 6, wide  # one row per workload, not per variant
    assert wide["verdict"] <= 800 and wide["conditions"] <= 800, wide
    assert wide["page"] <= 8 * 800, wide
    assert wide["overflow"] <= 0 and phone["overflow"] <= 0, (wide, phone)
    assert phone["verdict"] <= 2 * 844, phone
