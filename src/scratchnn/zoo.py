"""The name of earlier versions: the model zoo now lives in :mod:`scratchnn.applications.zoo`."""
from .applications.zoo import *  # noqa: F401,F403
from .applications.zoo import __all__  # noqa: F401
