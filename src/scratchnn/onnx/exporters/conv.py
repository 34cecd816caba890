"""Exporters for convolution and pooling (NCHW images, NCL signals): ONNX's own operators.

=============== ==========================================================================
Conv1D/Conv2D   Conv(x, W, b): W is already (C_out, C_in, k...) as ONNX wants;
                pads = [begins..., ends...] from the layer's resolved (lo, hi) pads
                ("same" with an odd total puts the extra zero at the end, as the layer)
MaxPool1D/2D    MaxPool (padding never wins a max, as the layer's -inf padding)
AvgPool2D       AveragePool(count_include_pad=1): zero padding counts in the divisor,
                as the layer (PyTorch's default)
GlobalAvgPool2D GlobalAveragePool then Flatten: (N, C, H, W) -> (N, C)
=============== ==========================================================================
"""
from __future__ import annotations

from ..registry import register_exporter


def _onnx_pads(pads) -> list[int]:
    """((lo, hi) per axis) -> ONNX's [lo_1, ..., lo_k, hi_1, ..., hi_k]."""
    return [int(lo) for lo, _ in pads] + [int(hi) for _, hi in pads]


@register_exporter("Conv1D", "Conv2D")
def conv(layer, g, x, input_shape):
    inputs = [x, g.const(layer.params["W"], "W")]
    if layer.use_bias:
        inputs.append(g.const(layer.params["b"], "b"))
    return g.op("Conv", inputs, kernel_shape=list(layer.kernel_size), strides=list(layer.stride),
                pads=_onnx_pads(layer.pads), dilations=list(layer.dilation), group=1)


@register_exporter("MaxPool1D", "MaxPool2D")
def max_pool(layer, g, x, input_shape):
    return g.op("MaxPool", [x], kernel_shape=list(layer.kernel_size), strides=list(layer.stride),
                pads=_onnx_pads(layer.pads), ceil_mode=0)


@register_exporter("AvgPool2D")
def avg_pool(layer, g, x, input_shape):
    return g.op("AveragePool", [x], kernel_shape=list(layer.kernel_size),
                strides=list(layer.stride), pads=_onnx_pads(layer.pads), count_include_pad=1,
                ceil_mode=0)


@register_exporter("GlobalAvgPool2D")
def global_avg_pool(layer, g, x, input_shape):
    return g.op("Flatten", [g.op("GlobalAveragePool", [x])], axis=1)
