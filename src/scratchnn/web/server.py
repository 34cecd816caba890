"""Running the app on uvicorn: bind the socket first (a clear error if the port is taken), then serve.

uvicorn is configured to bound what a connection can cost: WebSocket messages of at most
64 KB, at most ``limit_concurrency`` connections at once (more get 503), idle keep-alive
connections closed after 5 s. HTTP bodies are bounded by the app itself.
"""
from __future__ import annotations

import socket

from .app import MAX_SETTINGS_BYTES


def missing_extra() -> str | None:
    """The install hint if the ``[web]`` extra's packages are missing, else ``None``."""
    import importlib.util

    missing = [m for m in ("starlette", "uvicorn", "websockets") if importlib.util.find_spec(m) is None]
    if missing:
        return (f"'scratchnn serve' needs {', '.join(missing)}: "
                "python3 -m pip install \"scratchnn[web]\" (or \".[web]\" in a checkout)")
    return None


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: any free port).

    Raises:
        OSError: with a message naming the address (in use, not an address of this machine, ...).
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise OSError(f"cannot resolve host {host!r} ({exc.strerror})") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def run(app, sock: socket.socket, *, log_level: str = "warning", limit_concurrency: int = 64) -> None:
    """Serve ``app`` on the bound socket until interrupted (Ctrl+C)."""
    import uvicorn

    config = uvicorn.Config(app, log_level=log_level, lifespan="off", ws_max_size=MAX_SETTINGS_BYTES,
                            limit_concurrency=limit_concurrency, timeout_keep_alive=5, server_header=False)
    uvicorn.Server(config).run(sockets=[sock])
