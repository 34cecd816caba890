"""The runs page: the folders ``scratchnn train`` wrote under ``runs/``, listed on the server.

A browser never names a path. It gets the listing (each run's ``id`` is its folder name) and
asks for a run by id; the id is looked up in a fresh listing, so anything else -- ``..``,
``latest``, a slash, a folder that is not a run -- is unknown (404). Symbolic links (such as
``runs/latest``) are never followed: ``latest`` only marks the run it points to. Images are
served from a fixed set of file names (:data:`IMAGES`).
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

#: Image kinds a page may ask for -> the file ``scratchnn train`` writes.
IMAGES = {"curves": "training_curves.png", "confusion": "confusion_matrix.png",
          "misclassified": "misclassified.png", "weights": "first_layer_weights.png"}
#: Files that make a folder a run.
MARKERS = ("results.json", "history.json", "model.npz")
MAX_JSON_BYTES = 4 * 1024 * 1024


class UnknownRunError(LookupError):
    """No run with that id in the listing."""


def _read_json(path: Path):
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            return None
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


class RunStore:
    """The runs under ``root`` (one level deep, no symbolic links)."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def _folders(self) -> dict[str, Path]:
        found = {}
        try:
            entries = list(os.scandir(self.root))
        except OSError:
            return found
        for e in entries:
            if e.is_symlink() or not e.is_dir(follow_symlinks=False):
                continue
            path = Path(e.path)
            if any((path / m).is_file() and not (path / m).is_symlink() for m in MARKERS):
                found[e.name] = path
        return found

    def _latest(self) -> str | None:
        link = self.root / "latest"
        try:
            return os.readlink(link) if link.is_symlink() else None
        except OSError:
            return None

    def listing(self) -> list[dict]:
        """One summary per run, newest first."""
        latest = self._latest()
        rows = []
        for run_id, path in self._folders().items():
            results = _read_json(path / "results.json") or {}
            mtime = max((path / m).stat().st_mtime for m in MARKERS if (path / m).is_file())
            rows.append({"id": run_id, "latest": run_id == latest, "modified": time.strftime(
                "%Y-%m-%d %H:%M", time.localtime(mtime)), "_mtime": mtime,
                **{k: results.get(k) for k in ("dataset", "model", "epochs_trained", "test_accuracy",
                                               "test_loss", "train_seconds")}})
        rows.sort(key=lambda r: r.pop("_mtime"), reverse=True)
        return rows

    def path_of(self, run_id: str) -> Path:
        """The folder of a listed run; :class:`UnknownRunError` for anything else."""
        folders = self._folders()
        if not isinstance(run_id, str) or run_id not in folders:
            raise UnknownRunError(f"no run with id {run_id[:80]!r} under {self.root}/ "
                                  "(ask /api/runs for the list)")
        return folders[run_id]

    def details(self, run_id: str) -> dict:
        """Results, history and the image kinds available for one run."""
        path = self.path_of(run_id)
        results = _read_json(path / "results.json")
        history = _read_json(path / "history.json")
        if not isinstance(history, dict):
            history = None
        images = [kind for kind, name in IMAGES.items()
                  if (path / name).is_file() and not (path / name).is_symlink()]
        return {"id": run_id, "results": results if isinstance(results, dict) else None,
                "history": history, "images": images, "has_model": (path / "model.npz").is_file()}

    def image_path(self, run_id: str, kind: str) -> Path:
        path = self.path_of(run_id)
        if kind not in IMAGES:
            raise UnknownRunError(f"unknown image {kind[:40]!r}; choose one of {', '.join(IMAGES)}")
        file = path / IMAGES[kind]
        if not file.is_file() or file.is_symlink():
            raise UnknownRunError(f"run {run_id!r} has no {IMAGES[kind]} (trained with --no-plots?)")
        return file
