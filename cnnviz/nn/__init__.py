"""The NumPy CNN engine (no Qt). Arrays are NCHW float32; see ``cnnviz.nn.layer``."""

from cnnviz.nn.activations import ReLU, Sigmoid, Tanh
from cnnviz.nn.checkpoint import Checkpoint, load_checkpoint, load_into, save_checkpoint
from cnnviz.nn.conv import Conv2D
from cnnviz.nn.dense import Dense, Flatten
from cnnviz.nn.layer import DTYPE, Layer
from cnnviz.nn.loss import SoftmaxCrossEntropy
from cnnviz.nn.model import Sequential
from cnnviz.nn.optim import SGD, Adam, Optimizer, make_optimizer
from cnnviz.nn.pool import AvgPool2D, MaxPool2D
from cnnviz.nn.presets import build_model, model_from_config, preset_names

__all__ = [
    "Adam", "AvgPool2D", "Checkpoint", "Conv2D", "DTYPE", "Dense", "Flatten", "Layer", "MaxPool2D",
    "Optimizer", "ReLU", "SGD", "Sequential", "Sigmoid", "SoftmaxCrossEntropy", "Tanh", "build_model",
    "load_checkpoint", "load_into", "make_optimizer", "model_from_config", "preset_names",
    "save_checkpoint",
]
