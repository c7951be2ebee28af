"""Exported graphs of one input and one output run by the numpy evaluator of ONNX's operator
pages in tests/interop/onnx_graph_check.py: one evaluator for the C++ and the Python tests."""
import os
import sys

import onnx

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))
import onnx_graph_check  # noqa: E402


def run(path, x):
    graph = onnx.load(path).graph
    return onnx_graph_check.evaluate(path, {graph.input[0].name: x})[graph.output[0].name]
