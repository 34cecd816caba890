"""The app in-process (Starlette's test client): every bad request gets a clear 4xx and the server
keeps working; the digit pad matches ``scratchnn predict``; the runs listing never exposes a path;
the playground WebSocket's controls, limits and cancellation."""
from __future__ import annotations

import io
import json
import threading
import time

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the [web] extra is not installed")
from PIL import Image, ImageDraw
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from scratchnn.applications.zoo import build_model
from scratchnn.web.app import MAX_IMAGE_BYTES, MAX_SETTINGS_BYTES, create_app

BASE = "http://127.0.0.1:8765"
WS = "ws://127.0.0.1:8765/ws/playground"


def png(size=(140, 140), stroke=((70, 25), (70, 115)), mode="RGBA") -> bytes:
    img = Image.new(mode, size, "white")
    if stroke:
        ImageDraw.Draw(img).line(stroke, fill="black", width=10)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("models")
    build_model("mlp", (784,), 10, seed=0).save(d / "mlp.npz")
    build_model("cnn", (1, 28, 28), 10, seed=0, channels=(4, 8), hidden=16).save(d / "cnn.npz")
    return d


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("app") / "runs"
    for name, acc in (("20260101-000000", 0.9), ("cnn", 0.95)):
        run = root / name
        run.mkdir(parents=True)
        (run / "results.json").write_text(json.dumps({"test_accuracy": acc, "model": name, "dataset": "bundled"}))
        (run / "history.json").write_text(json.dumps({"epoch": [0, 1], "loss": [1.0, 0.5]}))
        Image.new("RGB", (8, 8), "red").save(run / "confusion_matrix.png")
    (root / "not-a-run").mkdir()
    (root / "latest").symlink_to("cnn", target_is_directory=True)
    outside = root.parent / "outside"
    outside.mkdir()
    (outside / "results.json").write_text("{}")
    (outside / "confusion_matrix.png").write_bytes(png())
    (root / "sneaky").symlink_to(outside, target_is_directory=True)
    return root


@pytest.fixture
def client(models, runs):
    with TestClient(create_app(str(models / "mlp.npz"), str(runs)), base_url=BASE) as c:
        yield c


def assert_alive(client):
    assert client.get("/api/health").json()["ok"] is True


def test_pages_and_security_headers(client):
    r = client.get("/")
    assert r.status_code == 200 and "scratchnn" in r.text
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
    for asset in ("common.js", "playground.js", "digits.js", "runs.js", "style.css", "favicon.svg"):
        assert client.get("/static/" + asset).status_code == 200
    # nothing on the page comes from the internet
    for asset in ("index.html", "common.js", "playground.js", "digits.js", "runs.js", "style.css"):
        text = client.get("/" if asset == "index.html" else "/static/" + asset).text
        assert "http://" not in text and "https://" not in text and "//cdn" not in text


def test_a_foreign_host_header_is_refused(client):
    r = client.get("/api/health", headers={"host": "evil.example:8765"})
    assert r.status_code == 400 and "Host" in r.json()["error"]
    assert_alive(client)


@pytest.mark.parametrize("path, kwargs, status, words", [
    ("/api/playground/code", {"content": b"{not json", "headers": {"content-type": "application/json"}}, 400,
     "malformed JSON"),
    ("/api/playground/code", {"content": b'{"points": 5000000}', "headers": {"content-type": "application/json"}},
     422, "points"),
    ("/api/playground/code", {"content": b'{"hidden": [4096, 4096]}', "headers": {"content-type": "application/json"}},
     422, "hidden"),
    ("/api/playground/code", {"content": b"x" * (MAX_SETTINGS_BYTES + 1),
                              "headers": {"content-type": "application/json"}}, 413, "at most 65,536 bytes"),
    ("/api/playground/code", {"content": b"{}", "headers": {"content-type": "text/plain"}}, 415, "application/json"),
    ("/api/digits/predict", {"content": b"\0" * (MAX_IMAGE_BYTES + 1), "headers": {"content-type": "image/png"}},
     413, "at most 1,048,576 bytes"),
    ("/api/digits/predict", {"content": b"hello", "headers": {"content-type": "image/png"}}, 422, "not an image"),
    ("/api/digits/predict", {"content": b"", "headers": {"content-type": "image/png"}}, 400, "empty"),
    ("/api/digits/predict", {"content": png(), "headers": {"content-type": "text/plain"}}, 415, "image/*"),
    ("/api/digits/predict", {"content": png(stroke=None), "headers": {"content-type": "image/png"}}, 422, "blank"),
    ("/api/digits/predict", {"content": png(size=(4000, 8), stroke=None, mode="L"),
                             "headers": {"content-type": "image/png"}}, 422, "at most 2048x2048"),
])
def test_bad_requests_get_a_clear_4xx_and_the_server_keeps_working(client, path, kwargs, status, words):
    r = client.post(path, **kwargs)
    assert r.status_code == status, r.text
    assert words in r.json()["error"]
    assert_alive(client)
    assert client.post("/api/digits/predict", content=png(), headers={"content-type": "image/png"}).status_code == 200


def test_a_huge_body_without_content_length_is_cut_off(client):
    def chunks():
        for _ in range(40):
            yield b"\0" * 65536  # 2.5 MB, streamed (chunked), never announced
    r = client.post("/api/digits/predict", content=chunks(), headers={"content-type": "image/png"})
    assert r.status_code == 413 and "at most" in r.json()["error"]
    assert_alive(client)


def test_the_digit_pad_predicts_as_scratchnn_predict_does(client, models, tmp_path):
    import scratchnn as sn
    from scratchnn.cli._common import softmax
    from scratchnn.datasets.images import load_digit_image
    from scratchnn.datasets.utils import images_to_inputs

    image = png(stroke=((40, 30), (100, 30), (60, 115)))  # a "7"
    r = client.post("/api/digits/predict", content=image, headers={"content-type": "image/png"}).json()
    (tmp_path / "d.png").write_bytes(image)
    digit, _ = load_digit_image(tmp_path / "d.png")
    model = sn.load_model(models / "mlp.npz")
    expected = softmax(model.predict(images_to_inputs(digit[None], model.input_shape)))[0]
    np.testing.assert_allclose(r["probabilities"], expected, atol=2e-6)
    assert r["prediction"] == str(int(np.argmax(expected)))
    import base64
    assert np.array_equal(np.frombuffer(base64.b64decode(r["input"]), np.uint8).reshape(28, 28), digit)
    assert r["activations"]["kind"] == "units" and r["activations"]["count"] == 256
    assert "ReLU" in r["activations"]["layer"]


def test_a_cnn_shows_its_feature_maps(models, runs):
    with TestClient(create_app(str(models / "cnn.npz"), str(runs)), base_url=BASE) as c:
        info = c.get("/api/digits/model").json()
        assert info["available"] and info["kind"] == "cnn"
        r = c.post("/api/digits/predict", content=png(), headers={"content-type": "image/png"}).json()
        a = r["activations"]
        assert (a["kind"], a["count"]) == ("maps", 4) and a["height"] >= 24
        import base64
        assert len(base64.b64decode(a["data"])) == a["count"] * a["height"] * a["width"]


def test_no_model_yet_then_one_appears(tmp_path, models, runs):
    path = tmp_path / "later" / "model.npz"
    with TestClient(create_app(str(path), str(runs)), base_url=BASE) as c:
        info = c.get("/api/digits/model").json()
        assert info["available"] is False and "scratchnn train" in info["message"]
        r = c.post("/api/digits/predict", content=png(), headers={"content-type": "image/png"})
        assert r.status_code == 409 and "scratchnn train" in r.json()["error"]
        path.parent.mkdir()
        path.write_bytes((models / "mlp.npz").read_bytes())
        assert c.get("/api/digits/model").json()["available"] is True
        path.write_bytes(b"PK\x03\x04 not a model")  # replaced by something else: refused, server fine
        r = c.post("/api/digits/predict", content=png(), headers={"content-type": "image/png"})
        assert r.status_code == 409 and "cannot be used" in r.json()["error"]
        assert_alive(c)


def test_runs_are_listed_and_chosen_by_id_only(client, runs):
    listing = client.get("/api/runs").json()["runs"]
    assert sorted(r["id"] for r in listing) == ["20260101-000000", "cnn"]  # no symlinks, no non-runs
    assert [r["id"] for r in listing if r["latest"]] == ["cnn"]
    d = client.get("/api/runs/cnn").json()
    assert d["results"]["test_accuracy"] == 0.95 and d["history"]["loss"] == [1.0, 0.5]
    assert d["images"] == ["confusion"]
    r = client.get("/api/runs/cnn/images/confusion")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    for bad in ("nope", "latest", "sneaky", "not-a-run", "..", "%2e%2e", "..%2F..%2Fetc%2Fpasswd",
                "cnn%2F..%2F..%2Foutside", "%2Fetc%2Fpasswd"):
        r = client.get(f"/api/runs/{bad}")
        assert r.status_code == 404, bad
        assert "no run with id" in r.json()["error"] or "no page" in r.json()["error"]
    for bad in ("../results.json", "..%2Fresults.json", "model", "weights"):
        r = client.get(f"/api/runs/cnn/images/{bad}")
        assert r.status_code == 404, bad
    assert client.get("/api/runs/sneaky/images/confusion").status_code == 404
    assert client.get("/static/../app.py").status_code == 404
    assert_alive(client)


# ---------------------------------------------------------------- playground WebSocket
def receive_until(ws, predicate, limit=500):
    for _ in range(limit):
        m = ws.receive_json()
        if predicate(m):
            return m
    raise AssertionError("message not received")


def playground_threads() -> int:
    return sum(t.name == "scratchnn-playground" and t.is_alive() for t in threading.enumerate())


def test_playground_controls_over_the_websocket(client):
    with client.websocket_connect(WS) as ws:
        ws.send_json({"type": "reset", "settings": {"points": 100, "hidden": [4]}})
        reset = ws.receive_json()
        assert reset["type"] == "reset" and "Dense(2, 4)" in reset["code"]
        assert len(reset["train"]["x"]) + len(reset["test"]["x"]) == 100
        first = ws.receive_json()
        assert first["type"] == "snapshot" and first["epoch"] == 0
        ws.send_json({"type": "step"})
        snap = receive_until(ws, lambda m: m["type"] == "snapshot")
        assert snap["epoch"] == 1 and snap["curves"]["epoch"] == [1] and snap["curves"]["val_accuracy"][0] is not None
        assert snap["boundary"] != first["boundary"]
        receive_until(ws, lambda m: m.get("state") == "paused")
        ws.send_json({"type": "start"})
        receive_until(ws, lambda m: m["type"] == "snapshot" and m["epoch"] >= 5)
        ws.send_json({"type": "pause"})
        paused = receive_until(ws, lambda m: m.get("state") == "paused")
        time.sleep(0.3)
        ws.send_json({"type": "step"})
        after = receive_until(ws, lambda m: m["type"] == "snapshot")
        assert after["epoch"] == paused["epoch"] + 1  # paused means paused: exactly one more epoch
    deadline = time.monotonic() + 10
    while playground_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert playground_threads() == 0  # closing the page cancelled its job


@pytest.mark.parametrize("message, status, words", [
    ("{oops", 400, "malformed JSON"),
    (json.dumps({"type": "reset", "settings": {"hidden": [64] * 50}}), 422, "hidden"),
    (json.dumps({"type": "reset", "settings": {"batch_size": -1}}), 422, "batch_size"),
    (json.dumps({"type": "start"}), 409, "reset"),
    (json.dumps({"type": "launch"}), 400, "unknown message"),
    (json.dumps({"type": "reset", "settings": {"x": "y" * (MAX_SETTINGS_BYTES + 10)}}), 413, "65,536"),
])
def test_bad_websocket_messages_get_an_error_and_the_session_goes_on(client, message, status, words):
    with client.websocket_connect(WS) as ws:
        ws.send_text(message)
        m = ws.receive_json()
        assert m["type"] == "error" and m["status"] == status and words in m["message"]
        ws.send_bytes(b"\x00\x01")
        assert "JSON text" in ws.receive_json()["message"]
        ws.send_json({"type": "reset", "settings": {}})
        assert ws.receive_json()["type"] == "reset"


def test_at_most_max_jobs_train_at_once(models, runs):
    with TestClient(create_app(str(models / "mlp.npz"), str(runs), max_jobs=1), base_url=BASE) as c:
        with c.websocket_connect(WS) as a:
            a.send_json({"type": "reset", "settings": {"max_epochs": 10000}})
            a.receive_json(), a.receive_json()
            a.send_json({"type": "start"})
            receive_until(a, lambda m: m.get("state") == "running")
            with c.websocket_connect(WS) as b:
                b.send_json({"type": "reset", "settings": {}})
                b.receive_json(), b.receive_json()
                b.send_json({"type": "start"})
                m = b.receive_json()
                assert m["type"] == "error" and m["status"] == 429
        deadline = time.monotonic() + 10
        while playground_threads() and time.monotonic() < deadline:
            time.sleep(0.05)
        with c.websocket_connect(WS) as b:  # the slot was given back when the first page closed
            b.send_json({"type": "reset", "settings": {"max_epochs": 2}})
            b.receive_json(), b.receive_json()
            b.send_json({"type": "start"})
            assert receive_until(b, lambda m: m.get("state") == "done")["epoch"] == 2


def test_a_websocket_from_another_origin_is_refused(client):
    with pytest.raises(WebSocketDisconnect) as info, \
            client.websocket_connect(WS, headers={"origin": "http://evil.example"}) as ws:
        ws.receive_json()
    assert info.value.code == 1008
    with client.websocket_connect(WS, headers={"origin": BASE}) as ws:
        ws.send_json({"type": "reset", "settings": {}})
        assert ws.receive_json()["type"] == "reset"
