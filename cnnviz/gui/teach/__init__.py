"""Teaching tools (issue 6), each a QWidget usable on its own and wired into the window later:

- ``explain_dialog.ExplainUnitDialog``: one unit's computation with its real numbers (+ finite-difference check)
- ``explain_weight.ExplainWeightDialog``: one weight's gradient as a sum over the positions it was used at
- ``explain_opener.ExplainOpener``: one explain window for the program, for the panels' click signals
- ``conv_animation.ConvAnimation``: a kernel sliding over an input (paper Figure 5), correlation vs convolution
- ``draw_digit.DrawDigitCanvas``: draw a digit with the mouse, preprocessed like MNIST
- ``stats_panel.StatsPanel``: gradient norms, update/weight ratios, histograms, confusion, misclassified
- ``export``: any panel as PNG/SVG, the window as PNG, a snapshot as .npz, curves as CSV
"""
