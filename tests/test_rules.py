"""DESIGN.md rule 1: the engine, data and session folders work without Qt."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_engine_data_session_never_import_qt():
    code = (
        "import sys, pkgutil, importlib\n"
        "import cnnviz.nn, cnnviz.data, cnnviz.session\n"
        "for pkg in (cnnviz.nn, cnnviz.data, cnnviz.session):\n"
        "    for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "        importlib.import_module(info.name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PyQt6', 'pyqtgraph', 'PySide6'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", f"Qt imported by the Qt-free layers: {result.stdout}"


def test_lower_folders_never_import_higher_ones():
    order = {"data": 0, "nn": 1, "session": 2, "gui": 3}
    for folder, level in order.items():
        for path in (REPO / "cnnviz" / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            for other, other_level in order.items():
                if other_level > level and (f"cnnviz.{other}" in text or f"from cnnviz import {other}" in text):
                    raise AssertionError(f"{path.relative_to(REPO)} imports cnnviz.{other} (data -> nn -> session -> gui)")
