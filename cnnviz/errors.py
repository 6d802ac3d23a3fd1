"""Errors that carry one clear sentence for the user.

The CLI prints ``str(error)`` and exits 2; the GUI shows it and keeps working.
Every message names the file, layer or value and says what is wrong.
"""


class CnnvizError(Exception):
    """Base class: bad input the user can fix. ``str(e)`` is the sentence to show."""


class DatasetError(CnnvizError):
    """A dataset file or folder is missing, corrupt, truncated or inconsistent."""


class CheckpointError(CnnvizError):
    """A checkpoint cannot be read, or does not fit the model it is loaded into."""


class ArchitectureError(CnnvizError):
    """A network description is impossible (shapes do not fit, unknown layer kind or preset)."""


class TrainingError(CnnvizError):
    """Training cannot go on as asked (e.g. the loss became NaN or infinite)."""


class RecordError(CnnvizError):
    """Bytes or a file member that are not a cnnviz record (a snapshot, a command, a run file's part)."""
