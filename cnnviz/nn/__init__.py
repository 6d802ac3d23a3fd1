"""The NumPy CNN engine (no Qt). Arrays are NCHW float32; see ``cnnviz.nn.layer``."""

from cnnviz.nn.activations import ReLU, Sigmoid, Tanh
from cnnviz.nn.activity import ActivityTracker, dead_channels
from cnnviz.nn.checkpoint import Checkpoint, load_checkpoint, load_into, save_checkpoint
from cnnviz.nn.conv import Conv2D
from cnnviz.nn.defaults import DEFAULTS, PAPER_SETTINGS, TrainingSettings
from cnnviz.nn.dense import Dense, Flatten
from cnnviz.nn.layer import DTYPE, Layer
from cnnviz.nn.loss import SoftmaxCrossEntropy
from cnnviz.nn.model import Sequential
from cnnviz.nn.optim import SGD, Adam, Optimizer, make_optimizer, optimizer_for
from cnnviz.nn.pool import AvgPool2D, MaxPool2D
from cnnviz.nn.presets import build_model, model_from_config, preset_names
from cnnviz.nn.schedule import SCHEDULES, Schedule

__all__ = [
    "ActivityTracker", "Adam", "AvgPool2D", "Checkpoint", "Conv2D", "DEFAULTS", "DTYPE", "Dense", "Flatten",
    "Layer", "MaxPool2D", "Optimizer", "PAPER_SETTINGS", "ReLU", "SCHEDULES", "SGD", "Schedule", "Sequential",
    "Sigmoid", "SoftmaxCrossEntropy", "Tanh", "TrainingSettings", "build_model", "dead_channels",
    "load_checkpoint", "load_into", "make_optimizer", "model_from_config", "optimizer_for", "preset_names",
    "save_checkpoint",
]
