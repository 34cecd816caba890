"""The name of earlier versions: text generation now lives in :mod:`scratchnn.applications.textgen`."""
from .applications.textgen import *  # noqa: F401,F403
from .applications.textgen import __all__  # noqa: F401
