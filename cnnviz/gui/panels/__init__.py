"""The panels the main window places in docks.

Every panel is a QWidget with a class attribute ``title`` (the dock title) and
``show_snapshot(snapshot, layer_index)`` (layer_index: the layer chosen in the network strip, None =
the panel's own default; out-of-range indices are clamped). Drawing one snapshot costs a few ms; each
mosaic is ONE ImageItem with fixed levels and a 256-entry lookup table (rule 7, ``cnnviz.gui.theme``).

Signals (connect what you need):
- InputPanel.probe_requested(kind: str, value: int): "next", "prev", "random" (value 0), "index"
- FeatureMapsPanel.unit_clicked(layer, channel, y, x): a dense unit u is (layer, u, 0, 0)
- PoolingPanel.unit_clicked(layer, channel, y, x): the pool's input cell (layer = the one before the
  pool) or its output cell (layer = the pool)
- GradientsPanel.unit_clicked(layer, channel, y, x) on dL/d(output), and
  GradientsPanel.weight_clicked(layer, out, in_channel, i, j) on dL/dW or ΔW
- KernelsPanel.weight_clicked(layer, out, in_channel, i, j): conv W[out, in_channel, i, j]; a dense
  unit's weights drawn as maps give (layer, unit, map, row, col) of the pre-flatten maps; a plain
  dense matrix gives (layer, row, 0, 0, column)
Extra API: InputPanel.set_probe_count(n); PoolingPanel.select_channel(c | None), set_mode("auto" |
"values" | "gradients"); CurvesPanel.set_log_loss(bool).
"""

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
