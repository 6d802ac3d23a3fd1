"""cnnviz: watch a convolutional neural network, written from scratch in NumPy, learn.

Array layout everywhere: NCHW float32 (batch, channels, height, width).
Data flows one way: data -> nn -> session -> gui; the lower folders never import Qt.
"""

__version__ = "0.1.0"
