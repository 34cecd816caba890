"""``scratchnn serve``: the local web playground (needs the ``[web]`` extra)."""
from __future__ import annotations

import os

from ._common import add_parser, model_file_path, say, stderr
from .options import integer

EXAMPLES = """\
  scratchnn serve                                   # http://127.0.0.1:8765/
  scratchnn serve --model runs/cnn/model.npz        # the digit pad uses this model
  scratchnn serve --port 0                          # any free port (printed)
  scratchnn serve --host 0.0.0.0                    # reachable from other machines (warns)

Pages: Playground (train a small network on 2-D data and watch it learn), Digit pad (draw a
digit; see the model's probabilities and first layer), Runs (the folders under --runs).
Install the extra first: python3 -m pip install "scratchnn[web]" (".[web]" in a checkout).
"""

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def register(subparsers) -> None:
    p = add_parser(subparsers, "serve", help="a local web playground: train live, draw a digit, browse runs",
                   description="Start the web playground on this machine and print its address.",
                   examples=EXAMPLES)
    p.add_argument("--host", default=None,
                   help="address to listen on (default: 127.0.0.1, this machine only; anything else warns)")
    p.add_argument("--port", type=integer(0, 65535), default=8765, help="port (default: 8765; 0 picks a free one)")
    p.add_argument("--model", metavar="PATH", default=None,
                   help="model for the digit pad: a model.npz or a run folder (default: runs/latest/model.npz)")
    p.add_argument("--runs", metavar="DIR", default="runs", help="folder of training runs (default: runs)")
    p.add_argument("--max-jobs", type=integer(1, 64), default=4,
                   help="most playground models training at once (default: 4)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..web.server import missing_extra

    hint = missing_extra()
    if hint:
        raise ImportError(hint)
    from ..web.app import LOCAL_HOSTS, create_app
    from ..web.server import bind, url_of
    from ..web.server import run as serve_app

    host = args.host or "127.0.0.1"
    model = model_file_path(args.model) if args.model else os.path.join(args.runs, "latest", "model.npz")
    sock = bind(host, args.port)
    if args.host is not None and args.host not in LOOPBACK:
        stderr(f"scratchnn: warning: listening on {host}: other machines on the network can reach the "
               "playground, train models on this machine and read the runs under "
               f"{args.runs}/. There is no login. Use the default (127.0.0.1) unless you mean it.")
    wildcard = host in ("0.0.0.0", "::", "")
    allowed = None if wildcard else tuple(dict.fromkeys(LOCAL_HOSTS + (host,)))
    app = create_app(model, args.runs, max_jobs=args.max_jobs, allowed_hosts=allowed)
    say(f"scratchnn playground: {url_of(sock)}   (Ctrl+C to stop)")
    say(f"  digit pad model: {model}" + ("" if os.path.exists(model) else " (not there yet: run 'scratchnn train')"))
    say(f"  runs: {os.path.abspath(args.runs)}/")
    try:
        serve_app(app, sock)
    finally:
        sock.close()
    return 0
