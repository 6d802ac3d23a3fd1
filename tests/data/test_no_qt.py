"""Rule 1: the data layer (and the training helpers) never import Qt."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_data_and_training_helpers_import_without_qt():
    code = ("import sys, cnnviz.data, cnnviz.data.download, cnnviz.data.loaders, "
            "cnnviz.session.training\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PyQt6', 'pyqtgraph'))\n"
            "assert not bad, bad\n"
            "cnnviz.data.generate_digits(10, seed=0)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
