"""The ASGI app behind ``scratchnn serve``: three pages, a JSON API and one WebSocket.

Starlette, not FastAPI: the app has a dozen routes whose inputs are validated by scratchnn's own
checks (:mod:`scratchnn.web.settings`), so FastAPI's pydantic models and OpenAPI pages would add
dependencies without doing work here. Starlette is the toolkit FastAPI is built on: routing,
WebSockets, static files and a thread pool, in one small pure-Python package.

Routes (every error is JSON ``{"error": "..."}`` with a 4xx status and leaves the server working):

| route | what |
| --- | --- |
| ``GET /`` | the page (``static/index.html``) |
| ``GET /static/...`` | its CSS and JavaScript (shipped in the package) |
| ``GET /api/playground/defaults`` | default settings, bounds and choices |
| ``POST /api/playground/code`` | settings (JSON, <= 64 KB) -> the Python script |
| ``WS /ws/playground`` | one training job per connection (below) |
| ``GET /api/digits/model`` | the digit pad's model, or why there is none |
| ``POST /api/digits/predict`` | a drawn PNG (<= 1 MB) -> probabilities, input, activations |
| ``GET /api/runs`` | the runs under ``runs/`` |
| ``GET /api/runs/{id}`` | one run's results and history |
| ``GET /api/runs/{id}/images/{kind}`` | its confusion matrix, misclassified images, ... |

The playground WebSocket takes JSON messages ``{"type": "reset", "settings": {...}}``,
``{"type": "start" | "pause" | "step"}`` (each <= 64 KB) and sends ``reset`` (data and code),
``snapshot``, ``status`` and ``error`` messages, each tagged with the job number ``run`` so the
page ignores a replaced job's last words. Closing the connection cancels its job. At most
``max_jobs`` jobs train at once on the server.

Safety: requests whose ``Host`` is not the served host are refused (DNS rebinding), WebSockets
from another origin are refused, POST bodies need their content type (so another web site's
form cannot post to it without a CORS preflight, which the app never grants), and every
response carries a strict Content-Security-Policy.
"""
from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketState

from .._version import __version__
from ..errors import ConfigError, DataError, ModelFileError, ShapeError
from .digits import DigitModel, NoModelError
from .runs import RunStore, UnknownRunError
from .settings import (
    ACTIVATIONS,
    BOUNDS,
    DATASETS,
    OPTIMIZERS,
    REGULARIZATIONS,
    PlaygroundSettings,
    parse_settings,
    python_code,
)
from .trainer import TrainingJob

STATIC = Path(__file__).resolve().parent / "static"
#: Request body limits in bytes.
MAX_IMAGE_BYTES = 1024 * 1024
MAX_SETTINGS_BYTES = 64 * 1024
#: Drawings up to this size are classified on the event loop; larger ones in the thread pool.
INLINE_BYTES = 64 * 1024
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")

SECURITY_HEADERS = [
    (b"content-security-policy", (b"default-src 'self'; img-src 'self' data: blob:; connect-src 'self'; "
                                  b"style-src 'self'; script-src 'self'; frame-ancestors 'none'; "
                                  b"base-uri 'none'; form-action 'none'")),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class _Guard:
    """ASGI middleware: the Host check and the security headers on every HTTP response."""

    def __init__(self, app, allowed_hosts: tuple[str, ...] | None) -> None:
        self.app, self.allowed = app, allowed_hosts

    def _host_ok(self, scope) -> bool:
        if self.allowed is None:
            return True
        host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1")
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return name in self.allowed

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        if not self._host_ok(scope):
            if scope["type"] == "websocket":
                return await send({"type": "websocket.close", "code": 1008})
            return await error(400, "unexpected Host header (the server answers only its own address)")(
                scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": list(message.get("headers", [])) + SECURITY_HEADERS}
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def read_body(request: Request, limit: int, what: str, content_types: tuple[str, ...]) -> bytes:
    """The request body, refused with 415 (content type) or 413 (over ``limit`` bytes) before reading more."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not any(ctype == c or (c.endswith("/*") and ctype.startswith(c[:-1])) for c in content_types):
        raise HTTPException(415, f"{what} must be sent as {' or '.join(content_types)}; "
                                 f"received content type {ctype or 'none'!r}")
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise HTTPException(400, f"bad Content-Length header {length[:20]!r}")
        if int(length) > limit:
            raise HTTPException(413, f"{what} is {int(length):,} bytes; at most {limit:,} bytes are accepted")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(413, f"{what} is over {limit:,} bytes; at most {limit:,} bytes are accepted")
    return bytes(body)


def parse_json(body: bytes):
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise HTTPException(400, f"malformed JSON: {' '.join(str(exc).split())}") from None


def create_app(model_path: str = "runs/latest/model.npz", runs_dir: str = "runs", *, max_jobs: int = 4,
               allowed_hosts: tuple[str, ...] | None = LOCAL_HOSTS, fps: float = 12.0):
    """The web app.

    Args:
        model_path: the digit pad's model file (read with :func:`scratchnn.load_model`; may not
            exist yet).
        runs_dir: the folder whose run folders the runs page lists.
        max_jobs: most playground models training at once (each uses a CPU core).
        allowed_hosts: host names accepted in the ``Host`` header; ``None`` accepts any
            (``scratchnn serve --host 0.0.0.0``).
        fps: most playground snapshots per second and job.
    """
    digits = DigitModel(model_path)
    runs = RunStore(runs_dir)
    slots = threading.BoundedSemaphore(max_jobs)

    async def index(request: Request):
        return FileResponse(STATIC / "index.html", media_type="text/html")

    async def defaults(request: Request):
        return JSONResponse({
            "settings": PlaygroundSettings().to_dict(), "bounds": BOUNDS, "version": __version__,
            "choices": {"dataset": DATASETS, "activation": list(ACTIVATIONS), "optimizer": list(OPTIMIZERS),
                        "regularization": REGULARIZATIONS}})

    async def code(request: Request):
        body = await read_body(request, MAX_SETTINGS_BYTES, "the settings", ("application/json",))
        try:
            s = parse_settings(parse_json(body))
        except ConfigError as exc:
            return error(422, str(exc))
        return JSONResponse({"code": python_code(s), "settings": s.to_dict()})

    async def model_info(request: Request):
        try:
            return JSONResponse(await run_in_threadpool(digits.info))
        except (ModelFileError, ShapeError, ValueError) as exc:
            return JSONResponse({"available": False, "message": f"the model file cannot be used: {exc}"})

    async def predict(request: Request):
        body = await read_body(request, MAX_IMAGE_BYTES, "the drawing", ("image/*",))
        if not body:
            return error(400, "the drawing is empty (send the canvas as a PNG)")
        try:
            if len(body) <= INLINE_BYTES and not digits.busy:  # a canvas PNG: ~2 ms, cheaper than a thread hop
                return JSONResponse(digits.predict_drawing(body))
            return JSONResponse(await run_in_threadpool(digits.predict_drawing, body))
        except DataError as exc:
            return error(422, str(exc))
        except NoModelError as exc:
            return error(409, str(exc))
        except (ModelFileError, ShapeError) as exc:
            return error(409, f"the model file cannot be used: {exc}")

    async def run_list(request: Request):
        return JSONResponse({"runs": await run_in_threadpool(runs.listing), "root": str(runs.root)})

    async def run_details(request: Request):
        try:
            return JSONResponse(await run_in_threadpool(runs.details, request.path_params["run_id"]))
        except UnknownRunError as exc:
            return error(404, str(exc))

    async def run_image(request: Request):
        try:
            path = await run_in_threadpool(runs.image_path, request.path_params["run_id"],
                                           request.path_params["kind"])
        except UnknownRunError as exc:
            return error(404, str(exc))
        return FileResponse(path, media_type="image/png")

    async def playground(ws: WebSocket):
        origin = ws.headers.get("origin")
        host = ws.headers.get("host", "")
        if origin is not None and origin.split("://", 1)[-1] != host:
            await ws.close(code=1008, reason="cross-origin WebSocket refused")
            return
        await ws.accept()
        await PlaygroundSession(ws, slots, fps).serve()

    async def not_found(request: Request, exc: HTTPException):
        if exc.status_code == 404:
            return error(404, f"no page or API route at {request.url.path[:100]}")
        return error(exc.status_code, exc.detail)

    routes = [
        Route("/", index),
        Route("/api/health", lambda r: JSONResponse({"ok": True, "version": __version__})),
        Route("/api/playground/defaults", defaults),
        Route("/api/playground/code", code, methods=["POST"]),
        WebSocketRoute("/ws/playground", playground),
        Route("/api/digits/model", model_info),
        Route("/api/digits/predict", predict, methods=["POST"]),
        Route("/api/runs", run_list),
        Route("/api/runs/{run_id}", run_details),
        Route("/api/runs/{run_id}/images/{kind}", run_image),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: not_found})
    app.state.digits, app.state.runs = digits, runs
    return _Guard(app, allowed_hosts)


class PlaygroundSession:
    """One WebSocket connection of the playground and its (at most one) training job."""

    def __init__(self, ws: WebSocket, slots: threading.BoundedSemaphore, fps: float) -> None:
        self.ws, self.slots, self.fps = ws, slots, fps
        self.job: TrainingJob | None = None
        self.run = 0
        self.queue: asyncio.Queue = asyncio.Queue()
        self.loop = asyncio.get_running_loop()

    def _emitter(self, job_ref: list, run: int):
        def emit(message: dict) -> None:
            try:
                self.loop.call_soon_threadsafe(self.queue.put_nowait, (job_ref[0], {**message, "run": run}))
            except RuntimeError:  # the event loop has closed (server shutting down): nobody to tell
                pass
        return emit

    async def _sender(self) -> None:
        while True:
            job, message = await self.queue.get()
            try:
                await self.ws.send_json(message)
            finally:
                if message.get("type") == "snapshot" and job is not None:
                    job.snapshot_sent()

    def _say(self, message: dict) -> None:
        self.queue.put_nowait((None, {**message, "run": self.run}))

    def _error(self, text: str, status: int = 400) -> None:
        self._say({"type": "error", "status": status, "message": text})

    def _cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.job = None

    async def serve(self) -> None:
        sender = asyncio.create_task(self._sender())
        try:
            while True:
                message = await self.ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text")
                if text is None:
                    self._error("send JSON text messages, not binary ones")
                    continue
                if len(text.encode()) > MAX_SETTINGS_BYTES:
                    self._error(f"message over {MAX_SETTINGS_BYTES:,} bytes", 413)
                    continue
                await self._handle(text)
        finally:
            self._cancel()
            await asyncio.sleep(0)  # let queued messages be sent if the socket is still open
            sender.cancel()
            if self.ws.client_state == WebSocketState.CONNECTED:
                try:
                    await self.ws.close()
                except RuntimeError:
                    pass

    async def _handle(self, text: str) -> None:
        try:
            msg = json.loads(text)
        except ValueError as exc:
            return self._error(f"malformed JSON: {' '.join(str(exc).split())}")
        kind = msg.get("type") if isinstance(msg, dict) else None
        if kind == "reset":
            try:
                settings = parse_settings(msg.get("settings", {}))
            except ConfigError as exc:
                return self._error(str(exc), 422)
            self._cancel()
            self.run += 1
            ref: list = [None]
            job = await run_in_threadpool(TrainingJob, settings, self._emitter(ref, self.run), self.fps,
                                          self.slots.release)
            ref[0] = self.job = job
            self._say({"type": "reset", "settings": settings.to_dict(), "code": python_code(settings),
                       **job.data_message()})
            first = await run_in_threadpool(job.snapshot)
            self.queue.put_nowait((job, {**first, "run": self.run}))
        elif kind in ("start", "pause", "step"):
            job = self.job
            if job is None:
                return self._error(f"'{kind}' before 'reset': send the settings first", 409)
            if kind == "pause":
                return job.pause()
            if job.finished:
                return self._error(f"this model has finished ({job.state}); press Reset", 409)
            if not job.started and not self.slots.acquire(blocking=False):
                return self._error("the server is already training as many models as it allows; "
                                   "try again when another page stops", 429)
            job.start() if kind == "start" else job.step()
        else:
            self._error("unknown message: send {\"type\": \"reset\" | \"start\" | \"pause\" | \"step\"}")
