"""Applications built on the core library: text generation, forecasting, the model zoo.

The core (layers, models, losses, optimizers, files) knows nothing of these; each application
uses only the core's public API:

- :mod:`scratchnn.applications.textgen`: character models (LSTM/GRU or a Transformer) --
  training, bits per character, sampling with a state or key/value cache;
- :mod:`scratchnn.applications.forecasting`: time-series forecasters next to naive and
  classical baselines, with intervals;
- :mod:`scratchnn.applications.zoo`: the named architectures of ``scratchnn train --model``.

``scratchnn.textgen``, ``scratchnn.zoo`` and ``scratchnn.forecast`` still import (the names of
earlier versions).
"""
