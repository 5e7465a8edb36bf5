"""Unroll: an interactive visualizer of unrolled recurrent neural networks."""

__version__ = "0.1.0"
