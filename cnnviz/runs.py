"""Run files (``.cnnviz``): one recorded run, to replay, score, inspect and branch. Without Qt.

A run file is a zip of the records of ``cnnviz.session.records`` (each ``NAME/header.json`` plus
``NAME/ARRAY.npy``, readable with ``zipfile`` and ``numpy.load(..., allow_pickle=False)``; never a
pickle), so the window's stream and a run file are the same records:

- ``run/header.json``: format ``cnnviz-run``, ``version``, the training settings, epochs, seed and
  preset, the dataset (name, limit, holdout, seed, normalisation, class names), the architecture,
  the kept points (step, images seen, epoch), the bookmarks (step and caption), the walks, the parent
  run of a branch;
- ``parts/KEY``: the statistics records and validations the snapshots share, once each;
- ``points/NNNN/snapshot``: the timeline's Snapshot at a kept point (every array a panel or an
  explain window needs, the weights included: they are the point's weights);
- ``points/NNNN/state``: what goes on exactly from there: the optimizer's moments and step count,
  the data order (this epoch's permutation, the position in it, the shuffling generator's state),
  the counters and the curves; ``orders/KEY``: each epoch's permutation, once.

Points are kept every RECORD_EVERY steps, thinned like the timeline (``history.EvenHistory``: when
full, every other one goes and the spacing doubles) within MAX_POINTS and MAX_KEPT_BYTES, so a run
file stays bounded however long the run; the first and the last step are always kept. Writes go to
a temp file renamed over the target (``cnnviz.files.atomic_write``). Reading checks every member
from its headers before its body (``nn.npz.NpzReader``) and every field of the JSON; anything
wrong is one RecordError sentence naming the file.
"""

from __future__ import annotations

import contextlib
import json
import re
import zipfile
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np

from cnnviz.errors import ArchitectureError, RecordError
from cnnviz.files import atomic_write, one_line, parse_json, reading
from cnnviz.nn.defaults import TrainingSettings
from cnnviz.nn.npz import NpzReader
from cnnviz.session.history import EvenHistory
from cnnviz.session.outlet import snapshot_arrays as snapshot_array_ids
from cnnviz.session.records import (DTYPES, SnapshotPacker, SnapshotUnpacker, from_json, to_json,
                                    write_records)
from cnnviz.session.snapshot import Snapshot, live_snapshot
from cnnviz.session.training import CursorState

FORMAT = "cnnviz-run"
VERSION = 1
SUFFIX = ".cnnviz"
RECORD_EVERY = 10               # steps between kept points before any thinning
MAX_POINTS = 32                 # even (EvenHistory halves a full history)
MAX_KEPT_BYTES = 40 * 2**20     # the arrays the kept points hold: a 1-epoch digits run stays < 50 MB
MAX_MEMBERS = 60000             # zip members a run file may list (a snapshot is ~60 arrays)
MAX_DIRECTORY = 8 * 2**20
MAX_HEADER_BYTES = 16 * 2**20
MAX_BOOKMARKS = 1000
MAX_CAPTION = 500
KINDS = "fiub"                  # array dtype kinds a run holds: numbers and booleans
RUN_AT = re.compile(r"^(?P<path>.+)@(?P<step>[0-9]{1,15})$")


# -- names -------------------------------------------------------------------------------------------
def split_at(text: str) -> tuple[str, int | None]:
    """'r.cnnviz@120' -> ('r.cnnviz', 120); 'r.cnnviz' -> ('r.cnnviz', None). A name that really ends
    in @digits is taken whole when it exists and the shorter one does not."""
    match = RUN_AT.match(str(text))
    if match is None or (Path(text).exists() and not Path(match["path"]).exists()):
        return str(text), None
    return match["path"], int(match["step"])


def is_run_file(path) -> bool:
    """True when ``path`` names a run file: by its suffix, or a zip whose first member is ``run/``."""
    path = Path(path)
    if path.suffix == SUFFIX:
        return True
    try:
        with open(path, "rb") as handle:
            start = handle.read(64)
    except OSError:
        return False
    return start.startswith(b"PK") and b"run/header.json" in start


# -- what a point holds ------------------------------------------------------------------------------
def resume_state(trainer) -> dict:
    """Everything beyond the weights that training needs to go on exactly from now (copied)."""
    cursor, optimizer = trainer.cursor, trainer.optimizer
    return {
        "step": trainer.step, "images_seen": trainer.images_seen, "batches": trainer.batches,
        "last_loss": trainer.last_loss, "last_accuracy": trainer.last_accuracy,
        "val_accuracy": trainer.val_accuracy, "lr": trainer.lr,
        "cursor": {"order": cursor.order, "position": cursor.position, "epoch": cursor.epoch,
                   "rng": cursor.rng_state},
        "optimizer": {"config": optimizer.config(), "t": optimizer.t,
                      "arrays": {name: np.array(value) for name, value in optimizer.state_arrays().items()}},
        "curves": trainer.curves.state(),
    }


def _kept_arrays(point) -> list[np.ndarray]:
    snapshot, state = point
    return [*snapshot_array_ids(snapshot).values(), *state["optimizer"]["arrays"].values(),
            state["cursor"]["order"]]


@dataclass(frozen=True)
class Bookmark:
    step: int
    caption: str


class RunRecorder:
    """Keeps points of a training run as it goes (``keep_if_due`` after each batch, ``keep`` at the
    end), then writes them as a run file (``save``). ``info``: the run header's settings, dataset,
    epochs, seed, preset (see ``run_info``)."""

    def __init__(self, trainer, info: dict, every: int = RECORD_EVERY, max_points: int = MAX_POINTS,
                 max_bytes: int = MAX_KEPT_BYTES) -> None:
        self.trainer, self.info = trainer, dict(info)
        self.points = EvenHistory(every=every, max_items=max_points, max_bytes=max_bytes, arrays_of=_kept_arrays)
        self.bookmarks: list[Bookmark] = []
        self.walks: list[tuple[Snapshot, ...]] = []
        self._seq = 0

    def due(self, step: int) -> bool:
        return self.points.due(step)

    def keep_if_due(self) -> bool:
        if not self.points.due(self.trainer.step):
            return False
        self.keep()
        return True

    def keep(self) -> None:
        """Keep the trainer's state now (replacing a point kept at this very step)."""
        trainer = self.trainer
        entries = self.points.entries()
        if entries and entries[-1][0] == trainer.step:
            self.points.back() if len(entries) > 1 else self.points.clear()
        snapshot = live_snapshot(trainer, self._seq)
        self._seq += 1
        self.points.push(trainer.step, (snapshot, resume_state(trainer)))

    def finish(self) -> None:
        """The last point, with a validation (confusion matrix, misclassified images) to show."""
        self.trainer.validate()
        self.keep()

    def add_bookmark(self, step: int, caption: str) -> None:
        self.bookmarks.append(Bookmark(int(step), str(caption)[:MAX_CAPTION]))

    def save(self, path) -> Path:
        return save_run(path, self.info, [item for _, item in self.points.entries()], self.bookmarks, self.walks)


def run_info(trainer, data, settings: TrainingSettings, epochs: int, seed: int, limit, parent=None) -> dict:
    """The header of a run file apart from its points: what it was trained on and how."""
    return {"settings": asdict(settings), "epochs": int(epochs), "seed": int(seed), "preset": trainer.preset,
            "dataset": {**data.meta(), "limit": limit, "seed": int(seed)},
            "architecture": trainer.model.config(), "parent": parent}


# -- writing -----------------------------------------------------------------------------------------
def save_run(path, info: dict, points: list, bookmarks=(), walks=()) -> Path:
    """Write a run file atomically: ``points`` a list of (Snapshot, resume_state or None) oldest first;
    walks: tuples of Snapshots stepped through one layer at a time. RecordError on failure."""
    if not points:
        raise RecordError(f"run file {path}: there is nothing recorded to save.")

    def write(tmp: str) -> None:
        packer = SnapshotPacker(keep_all=True)
        orders: dict[int, str] = {}
        listed = [{"name": f"points/{i:04d}", "step": int(snapshot.step), "images_seen": int(snapshot.images_seen),
                   "epoch": int(snapshot.epoch), "resumable": state is not None}
                  for i, (snapshot, state) in enumerate(points)]
        walk_names = [{"step": int(walk[0].step), "snapshots": [f"walks/{w:03d}/{j:03d}" for j in range(len(walk))]}
                      for w, walk in enumerate(walk for walk in walks if walk)]
        header = {"format": FORMAT, "version": VERSION, **_jsonable(info), "points": listed,
                  "bookmarks": [{"step": b.step, "caption": b.caption} for b in bookmarks], "walks": walk_names}
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
            write_records(archive, "run", header, {})   # first: a reader tells a run file by its first member
            for entry, (snapshot, state) in zip(listed, points):
                _write_snapshot(archive, packer, f"{entry['name']}/snapshot", snapshot)
                if state is not None:
                    _write_state(archive, f"{entry['name']}/state", state, orders)
            for entry, walk in zip(walk_names, [walk for walk in walks if walk]):
                for name, snapshot in zip(entry["snapshots"], walk):
                    _write_snapshot(archive, packer, name, snapshot)

    return atomic_write(path, write, RecordError, what="run file")


def _jsonable(value):
    return json.loads(json.dumps(value))


def _write_snapshot(archive, packer: SnapshotPacker, name: str, snapshot: Snapshot) -> None:
    *parts, (header, arrays) = packer.pack(snapshot)
    for part_header, part_arrays in parts:
        write_records(archive, f"parts/{part_header['key']}", part_header, part_arrays)
    write_records(archive, name, header, arrays)


def _write_state(archive, name: str, state: dict, orders: dict[int, str]) -> None:
    state = dict(state)
    cursor = dict(state["cursor"])
    order = cursor.pop("order")
    key = orders.get(id(order))
    if key is None:   # an epoch's permutation is replaced, never changed: shared by its points
        key = orders[id(order)] = f"o{len(orders)}"
        write_records(archive, f"orders/{key}", {"type": "order"}, {"order": order})
    state["cursor"] = {**cursor, "order_key": key}
    arrays: dict = {}
    header = {"type": "state", "value": to_json(state, arrays, "")}
    write_records(archive, name, header, arrays)


# -- reading -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunPoint:
    index: int
    name: str
    step: int
    images_seen: int
    epoch: int
    resumable: bool


def _fail(path, what: str) -> RecordError:
    return RecordError(f"run file {path} is damaged: {what}.")


def _whole(value, path, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**53:
        raise _fail(path, f"{what} is not a whole number")
    return value


@contextlib.contextmanager
def _guarded(path):
    """``files.reading`` (any failure becomes one RecordError sentence), and a sentence from the
    records' own checks, which cannot know the file, gets its name."""
    try:
        with reading(path, RecordError, "run file"):
            yield
    except RecordError as error:
        if str(path) in str(error):
            raise
        raise RecordError(f"run file {path} is damaged: {one_line(error)}.") from None


class Run:
    """An opened run file: ``header``, ``points`` (RunPoint, oldest first), ``bookmarks``; the
    records themselves are read when asked for (``snapshot``, ``snapshots``, ``state``, ``model``)."""

    def __init__(self, path) -> None:
        self.path = Path(path)
        with self._open() as archive:
            text = archive.read_bytes("run/header.json", MAX_HEADER_BYTES) if "run/header.json" in \
                archive.members else None
            if text is None:
                raise RecordError(f"{self.path} is a zip file but not a cnnviz run file (it has no run/header.json).")
            header = parse_json(text.decode("utf-8", "replace"), f"the header of run file {self.path}", RecordError)
            self.members = set(archive.members)
        self.header = self._checked(header)
        self.points = [RunPoint(i, p["name"], p["step"], p["images_seen"], p["epoch"], p["resumable"])
                       for i, p in enumerate(self.header["points"])]
        self.bookmarks = [Bookmark(b["step"], b["caption"]) for b in self.header["bookmarks"]]
        self._parts: dict | None = None

    def _open(self) -> NpzReader:
        if not self.path.exists():
            raise RecordError(f"run file {self.path} does not exist.")
        budget = 16 * self.path.stat().st_size + 2**26   # a deflated member cannot claim more than this
        return NpzReader(self.path, RecordError, "run file", budget, MAX_MEMBERS, MAX_DIRECTORY)

    def _checked(self, header) -> dict:
        path = self.path
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise RecordError(f"{path} is not a cnnviz run file.")
        version = header.get("version")
        if version != VERSION:
            newer = isinstance(version, int) and not isinstance(version, bool) and version > VERSION
            raise RecordError(f"run file {path} was written by {'a newer' if newer else 'another'} cnnviz "
                              f"(run format {str(version)[:20]}; this one reads format {VERSION}).")
        for key, kind in (("settings", dict), ("dataset", dict), ("architecture", dict), ("points", list),
                          ("bookmarks", list), ("walks", list), ("preset", str)):
            if not isinstance(header.get(key), kind):
                raise _fail(path, f"its header has no {key}")
        _whole(header.get("epochs"), path, "its epochs")
        _whole(header.get("seed"), path, "its seed")
        if not header["points"]:
            raise _fail(path, "it holds no points")
        last = -1
        for point in header["points"]:
            if not isinstance(point, dict) or not isinstance(point.get("name"), str) or \
                    not re.fullmatch(r"points/[0-9]{4}", point["name"]) or \
                    not isinstance(point.get("resumable"), bool):
                raise _fail(path, "a point of its header is malformed")
            for key in ("step", "images_seen", "epoch"):
                _whole(point.get(key), path, f"a point's {key}")
            if point["step"] < last:
                raise _fail(path, "its points are not in order of steps")
            last = point["step"]
        if len(header["bookmarks"]) > MAX_BOOKMARKS:
            raise _fail(path, f"it has over {MAX_BOOKMARKS} bookmarks")
        for mark in header["bookmarks"]:
            if not isinstance(mark, dict) or not isinstance(mark.get("caption"), str):
                raise _fail(path, "a bookmark is malformed")
            _whole(mark.get("step"), path, "a bookmark's step")
        for walk in header["walks"]:
            if not isinstance(walk, dict) or not isinstance(walk.get("snapshots"), list) or \
                    not all(isinstance(n, str) and re.fullmatch(r"walks/[0-9]{3}/[0-9]{3}", n) for n in walk["snapshots"]):
                raise _fail(path, "a walk is malformed")
        self.settings_of(header["settings"])
        return header

    def settings_of(self, data) -> TrainingSettings:
        defaults = TrainingSettings()
        known = {f.name for f in fields(TrainingSettings)}
        if not isinstance(data, dict) or any(key not in known for key in data):
            raise _fail(self.path, "its training settings name a setting cnnviz does not have")
        for key, value in data.items():
            default = getattr(defaults, key)
            ok = (value is None or isinstance(value, str)) if default is None or isinstance(default, str) else \
                isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value) and value >= 0
            if not ok or (isinstance(default, str) and value is None):
                raise _fail(self.path, f"its training setting {key} is {str(value)[:30]!r}")
        try:
            settings = TrainingSettings(**data)
            settings.schedule_object()
            if settings.optimizer not in ("adam", "sgd") or not settings.lr > 0 or settings.batch_size < 1 \
                    or int(settings.batch_size) != settings.batch_size:
                raise ValueError(f"optimizer {settings.optimizer!r}, lr {settings.lr!r}, batch size {settings.batch_size!r}")
        except (TypeError, ValueError) as error:
            raise _fail(self.path, f"its training settings are wrong ({one_line(error)})") from None
        return settings

    # -- what it holds --------------------------------------------------------------------------------
    @property
    def settings(self) -> TrainingSettings:
        return self.settings_of(self.header["settings"])

    @property
    def first_step(self) -> int:
        return self.points[0].step

    @property
    def last_step(self) -> int:
        return self.points[-1].step

    def point_at(self, step: int | None = None, resumable: bool = False) -> RunPoint:
        """The last point at or before ``step`` (None: the last point); RecordError when none is."""
        candidates = [p for p in self.points if (step is None or p.step <= step) and (p.resumable or not resumable)]
        if not candidates:
            kept = ", ".join(str(p.step) for p in self.points[:12])
            raise RecordError(f"run file {self.path} has no {'resumable ' if resumable else ''}point at or "
                              f"before step {step} (its points are at steps {kept}"
                              f"{' ...' if len(self.points) > 12 else ''}).")
        return candidates[-1]

    def _record(self, archive: NpzReader, name: str) -> tuple[dict, dict]:
        prefix = f"{name}/"
        if f"{prefix}header.json" not in self.members:
            raise _fail(self.path, f"record {name} is missing")
        try:   # NaN allowed, as over the pipe: a statistic of an update not seen is NaN
            header = json.loads(archive.read_bytes(f"{prefix}header.json", MAX_HEADER_BYTES).decode("utf-8"))
        except (ValueError, RecursionError):
            raise _fail(self.path, f"record {name}'s header is not JSON") from None
        if not isinstance(header, dict):
            raise _fail(self.path, f"record {name}'s header is not a JSON object")
        arrays = {}
        for member in self.members:
            if member.startswith(prefix) and member.endswith(".npy"):
                array = archive.read(member[:-4], KINDS, archive.left)
                if array.dtype.str not in DTYPES:
                    raise _fail(self.path, f"{member} has dtype {array.dtype}")
                arrays[member[len(prefix):-4]] = array
        return header, arrays

    def _unpacker(self, archive: NpzReader) -> SnapshotUnpacker:
        unpacker = SnapshotUnpacker(keep_all=True)
        names = sorted({m.split("/")[1] for m in self.members if m.startswith("parts/") and m.count("/") >= 2})
        for key in names:
            unpacker.unpack(*self._record(archive, f"parts/{key}"))
        return unpacker

    def snapshots(self, names=None) -> list[Snapshot]:
        """The Snapshots of the kept points (or of the records ``names``), oldest first."""
        names = [p.name + "/snapshot" for p in self.points] if names is None else list(names)
        with _guarded(self.path), self._open() as archive:
            unpacker = self._unpacker(archive)
            out = []
            for name in names:
                snapshot = unpacker.unpack(*self._record(archive, name))
                if snapshot is None:
                    raise _fail(self.path, f"record {name} is not a snapshot")
                out.append(snapshot)
        return out

    def snapshot(self, point: RunPoint) -> Snapshot:
        return self.snapshots([point.name + "/snapshot"])[0]

    def walks(self) -> list[list[Snapshot]]:
        return [self.snapshots(walk["snapshots"]) for walk in self.header["walks"] if walk["snapshots"]]

    def state(self, point: RunPoint) -> dict:
        """The resume state of a resumable point (arrays read-only), its data order put back."""
        if not point.resumable:
            raise RecordError(f"run file {self.path}: the point at step {point.step} cannot be resumed "
                              f"(it keeps the weights but not the optimizer's state or the data order).")
        with _guarded(self.path), self._open() as archive:
            header, arrays = self._record(archive, f"{point.name}/state")
            if header.get("type") != "state":
                raise _fail(self.path, f"record {point.name}/state is not a state")
            state = _thaw(from_json(header.get("value"), arrays))
            cursor = state.get("cursor") if isinstance(state, dict) else None
            key = cursor.get("order_key") if isinstance(cursor, dict) else None
            if not isinstance(key, str) or not re.fullmatch(r"o[0-9]{1,6}", key):
                raise _fail(self.path, f"record {point.name}/state has no data order")
            _, order = self._record(archive, f"orders/{key}")
            if "order" not in order:
                raise _fail(self.path, f"data order {key} is missing")
            cursor["order"] = order["order"]
        return state

    def model(self, point: RunPoint):
        """The network at ``point``: the run's architecture with the point's weights."""
        from cnnviz.nn.presets import model_from_config

        try:
            model = model_from_config(self.header["architecture"])
        except ArchitectureError as error:
            raise _fail(self.path, f"its architecture is invalid ({one_line(error)})") from None
        load_weights(model, self.snapshot(point), self.path)
        return model

    def checkpoint(self, step: int | None = None):
        """A ``cnnviz.nn.checkpoint.Checkpoint`` of the weights at the last point at or before ``step``
        (the last by default), with the dataset's facts as its meta: what ``eval`` scores."""
        from cnnviz.nn.checkpoint import Checkpoint
        from cnnviz.nn.checkpoint_schema import check_meta

        point = self.point_at(step)
        meta = {**self.header["dataset"], "images_seen": point.images_seen, "epoch": point.epoch}
        meta.pop("limit", None)
        try:
            meta = check_meta(meta, self.path)
        except Exception as error:
            raise _fail(self.path, f"its dataset facts are wrong ({one_line(error)})") from None
        return Checkpoint(self.model(point), None, point.step, meta)

    def describe(self) -> dict:
        """What ``inspect --json`` prints for a run file."""
        return {"kind": "run", "path": str(self.path), "format_version": VERSION,
                "snapshots": len(self.points), "first_step": self.first_step, "last_step": self.last_step,
                "steps": [p.step for p in self.points],
                "resumable_steps": [p.step for p in self.points if p.resumable],
                "bookmarks": [{"step": b.step, "caption": b.caption} for b in self.bookmarks],
                "walks": len(self.header["walks"]), "settings": self.header["settings"],
                "epochs": self.header["epochs"], "seed": self.header["seed"], "preset": self.header["preset"],
                "dataset": self.header["dataset"], "parent": self.header.get("parent")}


def _thaw(value):
    """from_json's read-only mappings and tuples back into dicts and lists (arrays stay read-only)."""
    if hasattr(value, "items") and not isinstance(value, np.ndarray):
        return {key: _thaw(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return [_thaw(item) for item in value]
    return value


def load_model(text):
    """A checkpoint (.npz), or the Checkpoint of a run file's weights at ``FILE.cnnviz[@STEP]``: what
    ``eval --model`` and the window's Open take."""
    from cnnviz.nn.checkpoint import load_checkpoint

    path, step = split_at(str(text))
    if step is not None or is_run_file(path):
        return open_run(path).checkpoint(step)
    return load_checkpoint(path)


def open_run(path) -> Run:
    """Open a run file; RecordError (one sentence) for anything that is not a readable one."""
    with _guarded(path):
        return Run(path)


# -- putting a point back --------------------------------------------------------------------------
def load_weights(model, snapshot: Snapshot, path) -> None:
    """Copy a snapshot's weights into ``model`` after checking all of them (a refusal changes nothing)."""
    if len(snapshot.layers) != len(model.layers):
        raise _fail(path, f"a snapshot has {len(snapshot.layers)} layers, its network {len(model.layers)}")
    pairs = []
    for layer, state in zip(model.layers, snapshot.layers):
        for key, target in layer.params.items():
            stored = state.params.get(key)
            if not isinstance(stored, np.ndarray) or stored.shape != target.shape:
                raise _fail(path, f"the weights {key} of {state.name} do not fit its network")
            if not np.isfinite(stored).all():
                raise _fail(path, f"the weights {key} of {state.name} hold NaN or infinite values")
            pairs.append((target, stored))
    for target, stored in pairs:
        np.copyto(target, stored)


def resume(run: Run, point: RunPoint, trainer) -> None:
    """Put ``trainer`` (built for the run's dataset, preset and the branch's settings) exactly where
    the run was at ``point``: weights, optimizer moments (when the optimizer is the same kind), the
    data order, the counters and the curves. RecordError when the point does not fit."""
    state = run.state(point)
    snapshot = run.snapshot(point)
    try:
        cursor, optim = state["cursor"], state["optimizer"]
        order = np.asarray(cursor["order"])
        n = len(trainer.dataset.y_train)
        if order.shape != (n,) or order.dtype.kind not in "iu" or not np.array_equal(np.sort(order), np.arange(n)):
            raise _fail(run.path, f"its data order does not fit the {n} training images")
        position, epoch = _whole(cursor["position"], run.path, "the data position"), \
            _whole(cursor["epoch"], run.path, "the epoch")
        if position > n:
            raise _fail(run.path, "its data position is past the end of the epoch")
        load_weights(trainer.model, snapshot, run.path)
        if optim["config"].get("type") == trainer.optimizer.kind:   # else the branch's fresh optimizer
            own = trainer.optimizer.state_arrays()
            arrays = optim["arrays"]
            if set(arrays) != set(own) or any(np.shape(arrays[k]) != own[k].shape for k in own):
                raise _fail(run.path, "its optimizer state does not fit the network")
            trainer.optimizer.load_state_arrays({k: np.asarray(v) for k, v in arrays.items()},
                                                _whole(optim["t"], run.path, "the optimizer's t"))
        trainer.cursor.restore(CursorState(np.array(order, dtype=np.int64), position, epoch))
        trainer.cursor.rng_state = cursor["rng"]
        trainer.images_seen = _whole(state["images_seen"], run.path, "the images seen")   # before: the rate
        trainer.use_model(trainer.model, trainer.optimizer, _whole(state["step"], run.path, "the step"))
        trainer.batches = _whole(state["batches"], run.path, "the batches")
        trainer.last_loss, trainer.last_accuracy = state.get("last_loss"), state.get("last_accuracy")
        trainer.curves.restore(state["curves"])
    except RecordError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise _fail(run.path, f"the state at step {point.step} cannot be put back ({one_line(error)})") from None


def branch_settings(run: Run, **given) -> TrainingSettings:
    """The run's settings with the options given (lr, batch_size, optimizer, schedule) on top."""
    return replace(run.settings, **{k: v for k, v in given.items() if v is not None})
