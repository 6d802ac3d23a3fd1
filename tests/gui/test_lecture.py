"""Lecture mode: one switch scales every font and canvas, goes full screen, swaps in colour-blind-safe
maps and shows a large caption of the step; switching it off puts everything back. Every action has
a key and Help > Keys lists them."""

from __future__ import annotations

import dataclasses

import pytest
from PyQt6.QtCore import Qt

from cnnviz.gui import theme
from cnnviz.gui.lecture import LECTURE_SCALE, phase_caption
from cnnviz.gui.menus import key_list
from fakes import deliver, lay_out_now
from test_main_window import stepped, structure

CB = theme.make_theme("colorblind")
CB_DIVERGING, CB_SEQUENTIAL = CB.diverging, CB.sequential


@pytest.mark.parametrize("phase, layer, words", [
    ("backward", 4, "max-pool routes dL/da to the winners"),
    ("forward", 0, "z = Σ w·a + b"),
    ("backward", 3, "only where z > 0"),
    ("loss", None, "cross-entropy"),
    ("update", None, "ΔW"),
    ("training", None, "Training: step"),
])
def test_the_caption_says_what_the_step_does(make_snapshot, phase, layer, words):
    snap = dataclasses.replace(make_snapshot("seed", "backward"), phase=phase, layer_index=layer)
    assert words in phase_caption(snap)


def test_lecture_mode_scales_fonts_and_canvases_switches_maps_and_back(qtbot, window, fake, make_snapshot):
    deliver(window, fake, make_snapshot("seed", "backward"))
    maps = next(p for p in window.panels if "feature maps" in p.title.lower())
    caption_pt = maps.caption.font().pointSizeF()
    toolbar_pt = window.run_bar.font().pointSizeF()
    window_pt = window.font().pointSizeF()
    stats_canvas = window.teach.stats.canvas
    qtbot.keyClick(window.centralWidget(), Qt.Key.Key_F11)
    assert window.lecture.enabled and window.lecture.action.isChecked()
    assert window.theme is theme.make_theme("colorblind", LECTURE_SCALE)
    assert all(p.theme is window.theme for p in window.panels)
    # the panels grow their own text as the theme is applied; the rest of the window is grown from outside
    assert maps.caption.font().pointSizeF() == pytest.approx(caption_pt * LECTURE_SCALE, abs=0.6)
    # grown; less than 1.5x only as far as keeps every button in view on this screen (see the 1024 test)
    assert toolbar_pt < window.run_bar.font().pointSizeF() <= toolbar_pt * LECTURE_SCALE + 0.01
    assert window.font().pointSizeF() == pytest.approx(window_pt * LECTURE_SCALE)
    assert maps.canvas.transform().m11() == pytest.approx(1.0)            # not zoomed on top of that
    assert maps.z_view.cmap in (CB_DIVERGING, CB_SEQUENTIAL)              # redrawn with the new maps
    assert "orange" in maps.caption.text()                             # its colour words follow the palette
    assert window.lecture.caption.isVisible() and window.lecture.caption.text()
    assert window.isFullScreen()

    qtbot.keyClick(window.centralWidget(), Qt.Key.Key_F11)
    assert not window.lecture.enabled and not window.lecture.caption.isVisible()
    assert window.theme is theme.DEFAULT and all(p.theme is theme.DEFAULT for p in window.panels)
    assert window.run_bar.font().pointSizeF() == pytest.approx(toolbar_pt)
    assert window.font().pointSizeF() == pytest.approx(window_pt)
    assert stats_canvas.transform().m11() == pytest.approx(1.0)
    assert maps.z_view.cmap in (theme.DIVERGING, theme.SEQUENTIAL)       # redrawn as it was applied
    assert maps.caption.font().pointSizeF() == pytest.approx(caption_pt)
    assert not window.isFullScreen()


def test_the_caption_follows_the_steps(window, fake, make_snapshot):
    window.set_lecture_mode(True)
    try:
        base = make_snapshot("seed", "backward")
        deliver(window, fake, dataclasses.replace(base, phase="backward", layer_index=4, seq=40))
        assert "max-pool routes dL/da to the winners" in window.lecture.caption.text()
    finally:
        window.set_lecture_mode(False)


def test_an_explain_window_opened_in_lecture_mode_is_scaled_too(window, fake, make_snapshot):
    deliver(window, fake, make_snapshot("seed", "backward"))
    window.set_lecture_mode(True)
    try:
        window.explain_unit(2, 0, 0, 0)
        dialog = window.opener.unit_dialog
        assert dialog.font().pointSizeF() == pytest.approx(theme.FONT_PT * LECTURE_SCALE)
    finally:
        window.set_lecture_mode(False)
    assert dialog.font().pointSizeF() == pytest.approx(theme.FONT_PT)


def test_colour_blind_maps_alone(window, fake, make_snapshot):
    window.lecture.colour_blind_action.trigger()
    try:
        assert window.theme.diverging is CB_DIVERGING and window.theme.wrong != theme.WRONG
        assert window.theme.font_scale == 1.0 and window.teach.stats.theme.palette == "colorblind"
    finally:
        window.lecture.colour_blind_action.trigger()
    assert window.theme is theme.DEFAULT


def test_every_toolbar_action_has_a_key_and_help_lists_them(window):
    for bar in (window.run_bar, window.timeline_bar):
        for action in bar.actions():
            if not action.isSeparator() and action.text():
                assert action.shortcuts(), action.text()
    rows = dict(key_list(window))
    for key in ("Space", "Right", "Left", "F11", "[", "]", "Esc", "F1", "Ctrl+Shift+E"):
        assert any(key in keys.split(", ") for keys in rows), key
    dialog = window.menus.show_keys()
    assert dialog.isVisible()
    dialog.close()


def test_lecture_mode_tabs_the_side_panels_and_puts_the_layout_back(window):
    before = window.area.saveState()
    window.set_lecture_mode(True)
    try:
        kernels = window.dock_layout.find("Kernels")
        maps = window.dock_layout.find("Feature maps")
        assert kernels.container() is maps.container()          # one tab stack
        assert window.dock_layout.is_visible(maps.name())
    finally:
        window.set_lecture_mode(False)
    assert structure(window.area.saveState()["main"]) == structure(before["main"])


def test_closing_in_lecture_mode_remembers_the_everyday_layout(qtbot, fake, settings):
    import json

    from cnnviz.gui.main_window import MainWindow

    win = MainWindow(fake, settings=settings)
    qtbot.addWidget(win)
    win.show()
    everyday = win.dock_layout.state()
    win.set_lecture_mode(True)
    win.close()
    saved = json.loads(settings.value("layout/docks"))
    assert structure(saved["area"]["main"]) == structure(everyday["area"]["main"])
    assert win.theme is theme.DEFAULT


def test_a_dock_opened_during_lecture_mode_is_scaled_too(window):
    from cnnviz.gui.dock_layout import STATS_DOCK

    stats = window.teach.stats
    before = stats.font().pointSizeF()
    window.set_lecture_mode(True)
    try:
        window.dock_layout.show(STATS_DOCK)
        assert stats.font().pointSizeF() == pytest.approx(before * LECTURE_SCALE)
        assert stats.canvas.transform().m11() == pytest.approx(LECTURE_SCALE, rel=0.05)
    finally:
        window.set_lecture_mode(False)
    assert stats.font().pointSizeF() == pytest.approx(before)


def test_teaching_docks_draw_at_base_sizes_in_lecture_mode_since_they_are_zoomed_whole(window):
    from cnnviz.nn import build_model
    from cnnviz.session.stats import layer_stats

    stats = window.teach.stats
    window.set_lecture_mode(True)
    try:
        stats.set_history([layer_stats(build_model("seed", seed=0), step=s) for s in (0, 25)])
        assert stats.weight_plot.titleLabel.opts["size"] == f"{theme.FONT_PT}pt"
        assert window.theme.font_pt == round(theme.FONT_PT * LECTURE_SCALE)   # the panels' size is untouched
    finally:
        window.set_lecture_mode(False)


# -- a 1024x768 projector ----------------------------------------------------------------------------
PROJECTOR = (1024, 768)


def fresh_minimum(window):
    """The window's minimum as it is now: every drop-down box measured anew (Qt keeps a box's first
    measured minimum through font changes and new items, see lecture._ComboSizeFix) and every
    layout recomputed at once (lay_out_now), not whenever the event loop gets round to it."""
    from PyQt6.QtWidgets import QAbstractSpinBox, QComboBox

    from cnnviz.gui.lecture import forget_size

    for box in window.findChildren((QComboBox, QAbstractSpinBox)):
        forget_size(box)
    lay_out_now(window)
    return window.minimumSizeHint()


def draw_every_panel(window):
    """Draw every panel with the newest snapshot, those behind a tab too (they count for the
    window's minimum): directly, not when the scheduler finds them visible."""
    for panel in window.panels:
        panel.show_snapshot(window.latest, window.selected_layer)


def in_front(dock) -> bool:
    container = dock.container()
    return container is not None and (container.type() != "tab" or container.stack.currentWidget() is dock)


def test_lecture_mode_fits_a_1024x768_projector_and_gives_the_size_back(qtbot, window, fake, make_snapshot):
    window.lecture.full_screen = False      # the projector's screen is the window's size here
    window.resize(*PROJECTOR)
    deliver(window, fake, make_snapshot("seed", "backward"))
    draw_every_panel(window)
    before = fresh_minimum(window)
    assert before.width() <= PROJECTOR[0] and before.height() <= PROJECTOR[1]

    window.set_lecture_mode(True)
    qtbot.waitUntil(lambda: not window.lecture.busy, timeout=5000)    # its columns shared out
    deliver(window, fake, stepped(make_snapshot("seed", "backward"), "backward", 4, 77))
    draw_every_panel(window)
    maps = next(p for p in window.panels if "feature maps" in p.title.lower())
    assert maps.caption.font().pointSizeF() > 1.4 * theme.TITLE_PT     # really grown
    hint, minimum = fresh_minimum(window), window.minimumSize()
    for size in (hint, minimum):
        assert size.width() <= PROJECTOR[0] and size.height() <= PROJECTOR[1], size
    assert (window.width(), window.height()) == PROJECTOR     # it did not grow past the screen
    # every open dock on screen: a tab behind another shows at least its title; waited for, since
    # the dock area's splitters place their docks when the event loop hands them their sizes
    qtbot.waitUntil(lambda: docks_off_screen(window) == [], timeout=5000)

    window.set_lecture_mode(False)
    qtbot.waitUntil(lambda: not window.lecture.busy, timeout=5000)    # its size given back
    assert (window.width(), window.height()) == PROJECTOR
    draw_every_panel(window)
    after = fresh_minimum(window)
    assert after.width() == before.width()
    # a few pixels of height may stay: panels/common.theme_changed grows the Input panel's spin box
    # line edit in lecture mode and does not shrink it back (a panel matter, reported)
    assert before.height() <= after.height() <= before.height() + 8
    assert window.minimumSize().width() <= before.width()


def docks_off_screen(window) -> list:
    """The open docks of the window that are not (enough) on screen, with where they are."""
    screen, off = window.rect(), []
    for title, dock in window.dock_layout.docks.items():
        if not window.dock_layout.in_main_area(title):
            continue                                          # closed (teaching docks)
        shown = dock if dock.isVisible() else dock.label      # a tab behind another: its title
        where = shown.rect().translated(shown.mapTo(window, shown.rect().topLeft()))
        seen = where.intersected(screen)
        small = seen.width() < min(40, where.width()) or seen.height() < 10
        if not shown.isVisible() or small or (dock.isVisible() and (seen.width() < 100 or seen.height() < 60)):
            off.append((title, where))
    return off


def test_closed_docks_do_not_pop_up_as_windows_of_their_own(qtbot, window):
    from PyQt6.QtWidgets import QApplication

    window.set_lecture_mode(True)
    window.set_lecture_mode(False)
    window.reset_layout()
    lay_out_now(window)                 # every show or move Qt still had pending has happened
    assert [w for w in QApplication.topLevelWidgets() if w.isVisible() and w is not window] == []


def test_in_lecture_mode_the_steps_picture_comes_to_the_front(window, fake, make_snapshot):
    base = make_snapshot("seed", "backward")
    grads, pooling = window.dock_layout.find("Gradients"), window.dock_layout.find("Pooling")
    maps, kernels = window.dock_layout.find("Feature maps"), window.dock_layout.find("Kernels")
    window.set_lecture_mode(True)
    try:
        assert grads.container() is pooling.container() and not in_front(grads)   # tabbed, behind
        deliver(window, fake, stepped(base, "backward", 6, 60))        # dense: dL/dW is in Gradients
        assert in_front(grads) and not in_front(pooling)
        deliver(window, fake, stepped(base, "backward", 4, 61))        # max-pool: the routing picture
        assert in_front(pooling)
        deliver(window, fake, stepped(base, "backward", 2, 62))
        assert in_front(grads)
        kernels.raiseDock()
        deliver(window, fake, stepped(base, "forward", 0, 63))
        assert in_front(maps) and in_front(pooling)
        grads.raiseDock()                     # the teacher's own choice stays for the rest of the pass
        deliver(window, fake, stepped(base, "forward", 1, 64))
        assert in_front(grads)
        deliver(window, fake, stepped(base, "update", None, 65))
        assert in_front(grads)
    finally:
        window.set_lecture_mode(False)


def test_outside_lecture_mode_the_steps_leave_the_tabs_alone(window, fake, make_snapshot):
    grads, pooling = window.dock_layout.find("Gradients"), window.dock_layout.find("Pooling")
    window.area.moveDock(grads, "above", pooling)      # the user stacked them, Pooling in front
    pooling.raiseDock()
    deliver(window, fake, stepped(make_snapshot("seed", "backward"), "backward", 6, 70))
    assert in_front(pooling) and not in_front(grads)


def test_lecture_mode_gives_the_middle_column_room_and_hides_the_probe_buttons(qtbot, window, fake, make_snapshot):
    """At 1.5x the Input panel's browsing buttons made the left column 441 px wide at 1024 and left
    the feature maps 220 px; in lecture mode the buttons go and the columns share the width."""
    window.lecture.full_screen = False
    window.resize(*PROJECTOR)
    deliver(window, fake, make_snapshot("seed", "forward"))
    draw_every_panel(window)
    probe = next(p for p in window.panels if p.title.startswith("Input"))
    buttons = [probe.controls.itemAt(i).widget() for i in range(probe.controls.count())]
    buttons = [b for b in buttons if b is not None]
    assert buttons and all(b.isVisible() for b in buttons)
    window.set_lecture_mode(True)
    draw_every_panel(window)
    maps = window.dock_layout.docks[next(t for t in window.dock_layout.docks if t.startswith("Feature maps"))]
    qtbot.waitUntil(lambda: maps.width() >= 0.3 * PROJECTOR[0], timeout=3000)
    assert not any(b.isVisible() for b in buttons)
    window.set_lecture_mode(False)
    qtbot.waitUntil(lambda: all(b.isVisible() for b in buttons), timeout=3000)


def test_in_lecture_mode_every_run_button_stays_in_view_at_1024(qtbot, window):
    from test_main_window import in_view

    window.lecture.full_screen = False
    window.resize(*PROJECTOR)
    qtbot.waitUntil(lambda: window.width() == PROJECTOR[0])
    everyday = window.run_bar.font().pointSizeF()
    window.set_lecture_mode(True)
    try:
        buttons = [window.run_bar.widgetForAction(a) for a in window.run_bar.actions() if not a.isSeparator()]
        # the toolbar places its grown buttons when the event loop lays it out: wait for that
        qtbot.waitUntil(lambda: [b.text() for b in buttons if not in_view(window, b)] == [], timeout=5000)
        assert window.run_bar.font().pointSizeF() > everyday          # still grown, if less than 1.5x
    finally:
        window.set_lecture_mode(False)
    assert window.run_bar.font().pointSizeF() == pytest.approx(everyday)



def test_lecture_mode_keeps_each_panel_caption_to_its_first_sentence(qtbot, make_snapshot):
    from cnnviz.gui.panels import GradientsPanel
    from cnnviz.gui.panels.common import first_sentence

    panel = GradientsPanel()
    qtbot.addWidget(panel)
    panel.resize(600, 400)
    panel.show_snapshot(make_snapshot("seed", "update"), 0)
    full = panel.caption.text()
    assert full.count(". ") >= 2 and panel.caption.toolTip() == ""
    panel.apply_theme(theme.make_theme("default", LECTURE_SCALE))
    shown = panel.caption.text()
    assert shown == first_sentence(full) and shown.endswith(" …") and len(shown) < len(full) / 2
    assert panel.caption.toolTip() == full            # the rest is a hover away
    panel.apply_theme(theme.DEFAULT)
    assert panel.caption.text() == full and panel.caption.toolTip() == ""


def test_first_sentence_ends_at_a_full_stop_before_a_capital_or_a_tag():
    from cnnviz.gui.panels.common import first_sentence

    assert first_sentence("<b>Layer 0 conv</b>: z = 0.5 here. Blue < 0 < red.") == "<b>Layer 0 conv</b>: z = 0.5 here. …"
    assert first_sentence("One sentence only.") == "One sentence only."
    assert first_sentence("Step 3. <i>then</i> more") == "Step 3. …"
