"""Plots with Matplotlib, headless-safe: every function returns a ``matplotlib.figure.Figure``
(never pyplot state, never ``show``) and saves a PNG when given ``path=``.

- :func:`plot_history`: loss and metrics per epoch, training vs validation.
- :func:`plot_decision_boundary`: what a 2-D classifier predicts across the plane.
- :func:`plot_confusion_matrix`, :func:`plot_misclassified`: how a classifier errs.
- :func:`plot_regression`: predicted vs true values and residuals of a regression model.
- :func:`plot_first_layer_weights`: first-layer weights as images.
- :func:`plot_layer_statistics` (+ :func:`layer_statistics`): activations and gradients per
  layer, with dead and saturated fractions.

Example:
    >>> import scratchnn as sn
    >>> from scratchnn.plots import plot_history
    >>> fig = plot_history({"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]})
    >>> fig.axes[0].get_title()
    'loss'
"""
from .classification import confusion_counts, plot_confusion_matrix, plot_misclassified
from .decision import plot_decision_boundary
from .internals import layer_statistics, plot_layer_statistics
from .training import plot_history
from .weights import first_layer_filters, plot_first_layer_weights

__all__ = [
    "plot_history", "plot_decision_boundary", "plot_confusion_matrix", "plot_misclassified",
    "confusion_counts", "plot_first_layer_weights", "first_layer_filters", "plot_layer_statistics",
    "layer_statistics",
]
# Other plot modules (conv, forecast) register below with one import line each.
from .attention import attention_weights, plot_attention, plot_bits_per_char  # noqa: E402,F401  (issue 16)
from .conv import feature_maps, plot_conv_filters, plot_feature_maps  # noqa: E402,F401  (issue 4)
from .forecast import plot_forecast  # noqa: E402,F401  (issue 5)
from .regression import plot_regression  # noqa: E402,F401  (issue 20)
