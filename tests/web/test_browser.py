"""The three pages in a real browser (headless Chromium driven by Playwright) against a real server.

Each test saves a screenshot of its page (see ``shots`` in conftest.py). They skip where the
``playwright`` package or Chromium is missing.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the [web] extra is not installed")


def _stroke(page, points):
    """Draw one stroke on the digit pad through mouse events, in pad coordinates (0..280)."""
    box = page.locator("#dp-pad").bounding_box()
    sx, sy = box["width"] / 280, box["height"] / 280
    (x0, y0), rest = points[0], points[1:]
    page.mouse.move(box["x"] + x0 * sx, box["y"] + y0 * sy)
    page.mouse.down()
    for x, y in rest:
        page.mouse.move(box["x"] + x * sx, box["y"] + y * sy, steps=4)
    page.mouse.up()


def test_digit_pad_predicts_a_drawn_one(page, server, web_runs, shots):
    page.goto(server + "#digits")
    page.wait_for_function("document.querySelector('#dp-model').textContent.startsWith('Model:')")
    _stroke(page, [(140, 50), (141, 120), (140, 190), (139, 235)])  # a vertical stroke: a "1"
    page.wait_for_function("document.querySelector('#dp-prediction').dataset.index !== undefined")
    page.wait_for_timeout(300)  # the prediction of the whole stroke (requests are chained)
    page.wait_for_function("document.querySelector('#dp-prediction').dataset.index !== undefined")
    assert page.inner_text("#dp-prediction") == "1"
    bars = page.locator("#dp-bars .bar").count()
    assert bars == 10
    # The 28x28 input shown is the drawing preprocessed: a bright vertical bar on black.
    pixels = page.evaluate("""() => {
        const c = document.querySelector('#dp-input');
        return Array.from(c.getContext('2d').getImageData(0, 0, 28, 28).data.filter((_, i) => i % 4 === 0));
    }""")
    img = np.array(pixels).reshape(28, 28)
    assert img[4:24, 12:16].mean() > 100 and img[:, :6].max() == 0
    assert "feature maps" in page.inner_text("#dp-act-title") or "units" in page.inner_text("#dp-act-title")
    page.screenshot(path=str(shots / "digit-pad.png"))
    # Clear empties the prediction.
    page.click("#dp-clear")
    assert page.inner_text("#dp-prediction") == "–"
    assert page.js_errors == []


def test_playground_trains_spirals_to_95_percent(page, server, shots):
    page.goto(server + "#playground")
    page.wait_for_function("document.querySelector('#pg-boundary').dataset.epoch === '0'")
    page.wait_for_timeout(200)
    before = page.evaluate("document.querySelector('#pg-boundary').toDataURL()")
    assert "Sequential" in page.inner_text("#pg-code") and "make_spirals" in page.inner_text("#pg-code")
    page.click("#pg-start")
    # The check: the test accuracy shown reaches 95% (a timeout fails the test).
    page.wait_for_function("parseFloat(document.querySelector('#pg-test-acc').textContent) >= 95",
                           timeout=60_000)
    page.click("#pg-start")  # Pause (the accuracy may move a little in the epochs before it takes effect)
    page.wait_for_function("document.querySelector('#pg-state').textContent === 'paused'")
    epoch = int(page.inner_text("#pg-epoch"))
    assert epoch > 0
    assert float(page.inner_text("#pg-test-acc").rstrip("%")) > 80
    after = page.evaluate("document.querySelector('#pg-boundary').toDataURL()")
    assert after != before
    # One heat map per hidden unit (2 layers of 16 by default).
    assert page.locator("#pg-hidden canvas").count() == 32
    # Step trains exactly one more epoch.
    page.click("#pg-step")
    page.wait_for_function(f"document.querySelector('#pg-boundary').dataset.epoch === '{epoch + 1}'")
    page.screenshot(path=str(shots / "playground.png"))
    # Changing a setting resets: a new data set, epoch 0 and new code.
    page.select_option("#pg-dataset", "moons")
    page.wait_for_function("document.querySelector('#pg-code').textContent.includes('make_moons')")
    assert page.inner_text("#pg-epoch") == "0"
    assert page.js_errors == []


def test_playground_on_a_phone(browser, server, shots):
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True)
    page = context.new_page()  # under the app's real Content-Security-Policy (no bypass_csp)
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(server + "#playground")
        page.wait_for_selector("#pg-hidden canvas")  # the first snapshot arrived over the WebSocket
        assert page.inner_text("#pg-epoch") == "0"
        # Nothing wider than the screen: the layout stacks into one column.
        width = page.locator("html").evaluate("e => e.scrollWidth")
        assert width <= 390
        assert errors == []  # no Content-Security-Policy violation, no script error
        page.screenshot(path=str(shots / "playground-phone.png"))
    finally:
        context.close()


def test_runs_page_opens_a_run(page, server, web_runs, shots):
    page.goto(server + "#runs")
    page.wait_for_selector("#rn-table tbody tr")
    rows = page.locator("#rn-table tbody tr")
    assert rows.count() == 2
    assert "latest" in page.locator("#rn-table tr.latest").inner_text()
    assert "20260101-120000" in page.locator("#rn-table tr.latest").inner_text()
    newest = rows.first.get_attribute("data-run")  # newest first: run A by default
    page.wait_for_function(f"document.querySelector('#rn-a').dataset.run === '{newest}'")
    results = json.loads((web_runs / newest / "results.json").read_text())
    assert f"{100 * results['test_accuracy']:.1f}%" in page.inner_text("#rn-a")
    page.wait_for_function("Array.from(document.querySelectorAll('#rn-a img')).every(i => i.complete && i.naturalWidth > 0)")
    assert page.locator("#rn-a img").count() >= 2  # confusion matrix, misclassified images, ...
    # Compare: the other run as B, side by side.
    other = rows.nth(1).get_attribute("data-run")
    rows.nth(1).locator("button[data-slot=b]").click()
    page.wait_for_function(f"document.querySelector('#rn-b').dataset.run === '{other}'")
    results_b = json.loads((web_runs / other / "results.json").read_text())
    assert f"{100 * results_b['test_accuracy']:.1f}%" in page.inner_text("#rn-b")
    box_a, box_b = page.locator("#rn-a").bounding_box(), page.locator("#rn-b").bounding_box()
    assert box_b["x"] > box_a["x"] + box_a["width"] - 1 and abs(box_a["y"] - box_b["y"]) < 1  # side by side
    page.screenshot(path=str(shots / "runs.png"), full_page=False)
    assert page.js_errors == []


def test_digit_pad_takes_a_finger_on_a_phone(browser, server):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                  bypass_csp=True)
    page = context.new_page()
    try:
        page.goto(server + "#digits")
        page.wait_for_function("document.querySelector('#dp-model').textContent.startsWith('Model:')")
        box = page.locator("#dp-pad").bounding_box()
        cdp = context.new_cdp_session(page)  # real touch events (Playwright's touchscreen only taps)

        def touch(kind, y=0.0):
            points = [] if kind == "touchEnd" else [{"x": box["x"] + box["width"] / 2,
                                                     "y": box["y"] + y * box["height"]}]
            cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

        touch("touchStart", 0.2)
        for i in range(1, 25):
            touch("touchMove", 0.2 + 0.6 * i / 24)
        touch("touchEnd")
        page.wait_for_function("document.querySelector('#dp-prediction').dataset.index !== undefined")
        assert page.inner_text("#dp-prediction") == "1"
        assert page.evaluate("window.scrollY") == 0  # the stroke drew; it did not scroll the page
    finally:
        context.close()
