"""The panels the main window places in docks. Each is a QWidget with a ``title`` (the dock title)
and ``show_snapshot(snapshot, layer_index)``; see each module for its signals."""

from cnnviz.gui.panels.curves import CurvesPanel
from cnnviz.gui.panels.feature_maps import FeatureMapsPanel
from cnnviz.gui.panels.gradients import GradientsPanel
from cnnviz.gui.panels.input import InputPanel
from cnnviz.gui.panels.kernels import KernelsPanel
from cnnviz.gui.panels.pooling import PoolingPanel
from cnnviz.gui.panels.prediction import PredictionPanel

# dock order: what goes in, what the layer holds, what it computes, how it pools, what comes out,
# how it learns (gradients), how learning goes (curves)
ALL_PANELS = [InputPanel, KernelsPanel, FeatureMapsPanel, PoolingPanel, PredictionPanel,
              GradientsPanel, CurvesPanel]

__all__ = ["ALL_PANELS", "CurvesPanel", "FeatureMapsPanel", "GradientsPanel", "InputPanel",
           "KernelsPanel", "PoolingPanel", "PredictionPanel"]
