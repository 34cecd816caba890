"""Fixtures of the web playground's tests.

- ``web_runs``: a ``runs/`` folder with two real runs of ``scratchnn train`` (the MLP on the bundled
  MNIST subset, 1 and 2 epochs, with their plots), the first linked as ``runs/latest`` -- built
  once per session;
- ``server``: ``python -m scratchnn serve --port 0`` in a subprocess on 127.0.0.1 over those
  runs, its URL read from what it prints; stopped at the end;
- ``browser``: Debian's Chromium driven by Playwright, headless. Skips cleanly where the
  ``playwright`` package or the browser (``/usr/bin/chromium``, or ``$SCRATCHNN_CHROMIUM``) is
  missing; Playwright's own browser download is never used.

Screenshots go to ``$SCRATCHNN_SCREENSHOTS`` when set (the docs' pictures are made that way),
else to the test's temporary folder.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.web.web_helpers import start_server, stop_server

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage"]


@pytest.fixture(scope="session")
def web_runs(tmp_path_factory) -> Path:
    from scratchnn.cli import main

    root = tmp_path_factory.mktemp("web") / "runs"
    out = root / "20260101-120000"
    second = root / "20260102-120000"
    env = {"SCRATCHNN_OFFLINE": "1"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        status = main(["train", "--epochs", "1", "--out", str(out), "--progress", "none"])
        status += main(["train", "--epochs", "2", "--lr", "0.003", "--batch-size", "256", "--seed", "1",
                        "--out", str(second), "--progress", "none"])
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    assert status == 0
    (root / "latest").symlink_to(out.name, target_is_directory=True)
    return root


@pytest.fixture(scope="session")
def server(web_runs):
    proc, url = start_server(web_runs)
    yield url
    err = stop_server(proc)
    assert "Traceback" not in err, err


def _chromium() -> str | None:
    for candidate in (os.environ.get("SCRATCHNN_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


@pytest.fixture(scope="session")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    exe = _chromium()
    if exe is None:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    # Playwright's string predicates need eval, which the app's Content-Security-Policy forbids;
    # test_playground_on_a_phone loads the page under the real policy.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    pg.js_errors = errors
    yield pg
    context.close()


@pytest.fixture
def shots(tmp_path) -> Path:
    d = os.environ.get("SCRATCHNN_SCREENSHOTS")
    path = Path(d) if d else tmp_path
    path.mkdir(parents=True, exist_ok=True)
    return path
