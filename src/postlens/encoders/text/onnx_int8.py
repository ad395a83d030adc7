"""Int8 MatMuls with one scale per token: as fast as ORT's dynamic quantisation, and batch-independent.

ORT's ``quantize_dynamic`` gives each activation tensor ONE scale computed over the whole batch, so
a post's vector depended on which posts shared its batch (cosine 0.98 between a post embedded alone
and in a batch of 64), and its default per-tensor weight scale moved vectors to a mean cosine of
0.955 to torch. Here every weight x activation MatMul becomes:

    s_tok   = max|A[token, :]| / 127                 one scale per token (row), at run time
    A_u8    = round(A / s_tok) + 128                 symmetric int8 stored as uint8, zero point 128
    W_s8    = round(W / s_col), s_col = max|W[:, col]| / 127   one scale per output channel, at export
    Y       = MatMulInteger(A_u8, W_s8, 128) * s_tok * s_col

MatMulInteger with uint8 x int8 and a scalar zero point runs on ORT's VNNI/AVX2 integer kernels.
A token's output depends only on that token's values, so a post gets the same vector in any batch.
Activation x activation products (Q.K^T, attention.V) and the embedding table stay float.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from postlens.errors import MissingDependency

RECIPE = {
    "weights": "int8 symmetric, one scale per output channel",
    "activations": "int8 symmetric, one scale per token, computed at run time",
    "quantized": "MatMul with a weight initializer",
    "float": ["activation x activation MatMul", "embeddings", "layer norms", "softmax"],
}
_INT8_MAX = 127.0


def quantize_per_token(source: Path, destination: Path) -> int:
    """Rewrite ``source`` (fp32 ONNX) into ``destination``; returns how many MatMuls became int8."""
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
    except ImportError as error:
        raise MissingDependency("onnx", "text") from error
    model = onnx.load(str(source))
    graph = model.graph
    weights = {initializer.name: initializer for initializer in graph.initializer}
    graph.initializer.extend(
        [
            numpy_helper.from_array(np.array(_INT8_MAX, np.float32), "q8_max"),
            numpy_helper.from_array(np.array(1e-8, np.float32), "q8_eps"),
            numpy_helper.from_array(np.array(128.0, np.float32), "q8_offset"),
            numpy_helper.from_array(np.array(128, np.uint8), "q8_zero_point"),
        ]
    )
    nodes = []
    quantized_inputs: dict[str, tuple[str, str]] = {}  # activation -> (uint8 tensor, per-token scale)
    count = 0
    for node in graph.node:
        if node.op_type != "MatMul" or node.input[1] not in weights:
            nodes.append(node)
            continue
        weight = numpy_helper.to_array(weights[node.input[1]]).astype(np.float32)
        if weight.ndim != 2:
            nodes.append(node)
            continue
        count += 1
        prefix = f"q8_{count}"
        column_scale = np.maximum(np.abs(weight).max(axis=0), 1e-12) / _INT8_MAX
        weight_int8 = np.clip(np.round(weight / column_scale), -_INT8_MAX, _INT8_MAX).astype(np.int8)
        graph.initializer.extend(
            [
                numpy_helper.from_array(weight_int8, f"{prefix}_w"),
                numpy_helper.from_array(column_scale.astype(np.float32), f"{prefix}_w_scale"),
            ]
        )
        activation = node.input[0]
        if activation not in quantized_inputs:  # Q, K and V read the same input: quantise it once
            a = f"{prefix}_a"
            nodes += [
                helper.make_node("Abs", [activation], [f"{a}_abs"]),
                helper.make_node("ReduceMax", [f"{a}_abs"], [f"{a}_max"], axes=[-1], keepdims=1),
                helper.make_node("Max", [f"{a}_max", "q8_eps"], [f"{a}_max_pos"]),
                helper.make_node("Div", [f"{a}_max_pos", "q8_max"], [f"{a}_scale"]),
                helper.make_node("Div", [activation, f"{a}_scale"], [f"{a}_scaled"]),
                helper.make_node("Round", [f"{a}_scaled"], [f"{a}_rounded"]),
                helper.make_node("Add", [f"{a}_rounded", "q8_offset"], [f"{a}_shifted"]),
                helper.make_node("Cast", [f"{a}_shifted"], [f"{a}_u8"], to=TensorProto.UINT8),
            ]
            quantized_inputs[activation] = (f"{a}_u8", f"{a}_scale")
        activation_u8, token_scale = quantized_inputs[activation]
        nodes += [
            helper.make_node("MatMulInteger", [activation_u8, f"{prefix}_w", "q8_zero_point"], [f"{prefix}_i32"]),
            helper.make_node("Cast", [f"{prefix}_i32"], [f"{prefix}_f32"], to=TensorProto.FLOAT),
            helper.make_node("Mul", [f"{prefix}_f32", token_scale], [f"{prefix}_token_scaled"]),
            helper.make_node("Mul", [f"{prefix}_token_scaled", f"{prefix}_w_scale"], [node.output[0]]),
        ]
    used = {name for node in nodes for name in node.input}
    kept = [initializer for initializer in graph.initializer if initializer.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(destination))
    return count
