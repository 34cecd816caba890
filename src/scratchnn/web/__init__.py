"""``scratchnn serve``: a local web playground running the real library (the ``[web]`` extra).

- :mod:`scratchnn.web.app`: the Starlette app (routes, limits, the playground WebSocket);
- :mod:`scratchnn.web.settings`: playground settings -> bounded data, model and Python code;
- :mod:`scratchnn.web.trainer`: ``fit`` in a worker thread, steered by Start/Pause/Step;
- :mod:`scratchnn.web.snapshot`: decision boundary and hidden-unit maps as byte grids;
- :mod:`scratchnn.web.digits`: the digit pad (drawing -> ``scratchnn predict``'s 28x28 input);
- :mod:`scratchnn.web.runs`: the runs under ``runs/``, chosen by id from a server-side listing;
- :mod:`scratchnn.web.server`: binding the socket and running uvicorn;
- ``static/``: the page (plain HTML, CSS and JavaScript; no build step, nothing from the internet).

Only :mod:`~scratchnn.web.app` and :mod:`~scratchnn.web.server` import the extra's packages.
"""
