r"""A CSV table as a data set: numeric and categorical columns, one target column.

:func:`load_csv_table` reads a CSV file (header line first; delimiter ``,`` ``;`` or tab,
guessed from the header), holds out a test part (stratified for classification, seeded),
and fits a :class:`TablePreprocessor` **on the training rows only**:

- a numeric column (every present value parses as a number) is standardised,
  :math:`z = (v - \mu) / \sigma` with the training rows' mean and standard deviation
  (:math:`\sigma = 1` for a constant column);
- any other column is categorical: one 0/1 input per category seen in the training rows
  (one-hot, categories in sorted order); a category first seen later gives all zeros;
- missing values (an empty field, ``NA``, ``N/A``, ``NaN``, ``null``, ``None``, ``?``) are
  refused, or with ``impute=True`` filled with the training rows' median (numeric) or most
  frequent value (categorical). A row without a target is always refused.

The task is classification when the target is text, or integers with at most
:data:`MAX_INTEGER_CLASSES` distinct values, else regression (override with ``task``).
For classification ``y`` is int64 labels into ``classes`` (sorted); for regression ``y`` is
float32 values, and the preprocessor also holds the training targets' mean and
standard deviation (:meth:`TablePreprocessor.scale_target`), which a network trains
better on. ``TablePreprocessor.to_config()`` is plain JSON: ``scratchnn train`` saves it
in ``model.metadata["preprocessing"]`` so that ``scratchnn predict`` applies the very same
transform to a new CSV.

Example:
    >>> import os, pathlib, tempfile
    >>> from scratchnn.datasets import load_csv_table
    >>> path = os.path.join(tempfile.mkdtemp(), "pets.csv")
    >>> rows = ["weight,colour,kind"] + [f"{w},{c},{k}" for w, c, k in
    ...         [(4, "black", "cat"), (30, "brown", "dog"), (5, "white", "cat"), (25, "black", "dog")] * 3]
    >>> _ = pathlib.Path(path).write_text("\n".join(rows) + "\n")
    >>> data = load_csv_table(path, target="kind", test_fraction=0.25)
    >>> data.x_train.shape, data.classes, data.task
    ((8, 4), ['cat', 'dog'], 'classification')
    >>> data.preprocessor.feature_names
    ['weight', 'colour=black', 'colour=brown', 'colour=white']
"""
from __future__ import annotations

import csv
import io
import os
from collections import Counter
from collections.abc import Sequence

import numpy as np

from ..errors import ConfigError, DataError
from .labeled import LabeledData, check_fraction, check_task, split_test

#: Field values read as "missing" (compared in lower case, after stripping spaces).
MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})
#: An integer target with at most this many distinct values is taken as class labels.
MAX_INTEGER_CLASSES = 20
#: A categorical input column with more categories than this is refused (an ID or free text?).
MAX_CATEGORIES = 100
#: Files larger than this are refused (the table is held in memory as text).
MAX_CSV_BYTES = 512 * 2**20

Table = dict[str, list[str]]


def read_csv(path: str | os.PathLike) -> tuple[list[str], Table, list[int]]:
    """``(header, {column: values as text}, line numbers)`` of a CSV file; blank lines are skipped.

    Raises:
        FileNotFoundError: the file does not exist.
        DataError: empty file, blank or repeated column names, a row with another number of
            fields than the header (naming its line), not UTF-8 text.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(2, "CSV file not found", path)
    if os.path.getsize(path) > MAX_CSV_BYTES:
        raise DataError(f"{path}: {os.path.getsize(path):,} bytes, over the {MAX_CSV_BYTES:,}-byte limit "
                        "for CSV tables.")
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            text = f.read()
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}).") from None
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count) if first else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise DataError(f"{path}: the file is empty; expected a header line and rows.") from None
    except csv.Error as exc:
        raise DataError(f"{path}, line 1: {exc}") from None
    header = [h.strip() for h in header]
    if not header or any(not h for h in header):
        raise DataError(f"{path}: the header line has a blank column name: {header!r}.")
    dup = [h for h, k in Counter(header).items() if k > 1]
    if dup:
        raise DataError(f"{path}: column names must be unique; repeated: {', '.join(dup)}.")
    columns: Table = {h: [] for h in header}
    lines = []
    try:
        for row in reader:
            if not row or all(not v.strip() for v in row):
                continue
            if len(row) != len(header):
                raise DataError(f"{path}, line {reader.line_num}: {len(row)} fields, but the header has "
                                f"{len(header)} ({', '.join(header)}).")
            for h, v in zip(header, row):
                columns[h].append(v.strip())
            lines.append(reader.line_num)
    except csv.Error as exc:
        raise DataError(f"{path}, line {reader.line_num}: {exc}") from None
    if not lines:
        raise DataError(f"{path}: the table has a header but no rows.")
    return header, columns, lines


def is_missing(value: str) -> bool:
    return value.strip().lower() in MISSING


def _as_float(value: str) -> float | None:
    try:
        v = float(value)
    except ValueError:
        return None
    return v if np.isfinite(v) else None


def is_numeric(values: Sequence[str]) -> bool:
    """Every present (non-missing) value parses as a finite number (and at least one is present)."""
    present = [v for v in values if not is_missing(v)]
    return bool(present) and all(_as_float(v) is not None for v in present)


def infer_task(values: Sequence[str]) -> str:
    """``"classification"`` for text or few distinct integers, else ``"regression"``."""
    if not is_numeric(values):
        return "classification"
    nums = np.array([float(v) for v in values if not is_missing(v)])
    if np.all(np.mod(nums, 1) == 0) and len(np.unique(nums)) <= MAX_INTEGER_CLASSES:
        return "classification"
    return "regression"


def _label_name(value: str | float) -> str:
    """A class name: text as it is, a number without a needless ``.0``."""
    if isinstance(value, str):
        return value
    return str(int(value)) if value == int(value) else repr(value)


class TablePreprocessor:
    """The fitted transform from CSV columns to network inputs (and of the target).

    ``columns`` lists, per input column, ``{"name", "kind": "numeric", "mean", "std", "fill"}``
    or ``{"name", "kind": "categorical", "categories": [...], "fill"}`` (``fill`` is the value
    imputed for a missing field, ``None`` when missing values are refused). ``target`` is
    ``{"name", "task", "classes"}`` or ``{"name", "task", "mean", "std"}``.
    """

    def __init__(self, columns: list[dict], target: dict) -> None:
        self.columns = columns
        self.target = target

    # ------------------------------------------------------------------ fitting
    @classmethod
    def fit(cls, table: Table, rows: np.ndarray, target: str, task: str, classes: list[str] | None,
            *, impute: bool = False, drop: Sequence[str] = ()) -> TablePreprocessor:
        """Fit on the rows ``rows`` of ``table`` (the training rows) for every column but ``target`` and ``drop``."""
        cols = []
        for name, values in table.items():
            if name == target or name in drop:
                continue
            train = [values[i] for i in rows]
            present = [v for v in train if not is_missing(v)]
            if not present:
                raise DataError(f"column {name!r} has no value in the training rows; drop it "
                                "(--drop / drop=).")
            if is_numeric(values):
                x = np.array([float(v) for v in present])
                std = float(x.std())
                cols.append({"name": name, "kind": "numeric", "mean": float(x.mean()),
                             "std": std if std > 0 else 1.0, "fill": float(np.median(x)) if impute else None})
            else:
                counts = Counter(present)
                cats = sorted(counts)
                if len(cats) > MAX_CATEGORIES:
                    raise DataError(f"column {name!r} has {len(cats)} distinct text values in the training rows "
                                    f"(more than {MAX_CATEGORIES}); is it an identifier or free text? Drop it "
                                    "(--drop / drop=) or turn it into numbers.")
                fill = min(counts, key=lambda c: (-counts[c], c)) if impute else None
                cols.append({"name": name, "kind": "categorical", "categories": cats, "fill": fill})
        if not cols:
            raise DataError(f"the table has no input column besides the target {target!r}.")
        if task == "classification":
            tgt = {"name": target, "task": task, "classes": list(classes or [])}
        else:
            y = np.array([float(table[target][i]) for i in rows])
            std = float(y.std())
            tgt = {"name": target, "task": task, "mean": float(y.mean()), "std": std if std > 0 else 1.0}
        return cls(cols, tgt)

    # ------------------------------------------------------------- transforming
    @property
    def feature_names(self) -> list[str]:
        """One name per network input: a numeric column's name, ``column=category`` for one-hot inputs."""
        out = []
        for c in self.columns:
            out += [c["name"]] if c["kind"] == "numeric" else [f"{c['name']}={k}" for k in c["categories"]]
        return out

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    def transform(self, table: Table, rows: np.ndarray | None = None, *, lines: Sequence[int] | None = None,
                  where: str = "the table") -> tuple[np.ndarray, list[str]]:
        """Columns -> float32 inputs (N, D) and notes (unseen categories).

        Raises:
            DataError: a column is missing, a numeric column holds text, or a value is missing
                and the preprocessor was fitted without ``impute`` (the message names the line).
        """
        missing_cols = [c["name"] for c in self.columns if c["name"] not in table]
        if missing_cols:
            raise DataError(f"{where} lacks the column{'s' * (len(missing_cols) > 1)} "
                            f"{', '.join(missing_cols)} that the model was trained with.")
        n_all = len(next(iter(table.values())))
        rows = np.arange(n_all) if rows is None else np.asarray(rows)

        def line(i: int) -> str:
            return f"line {lines[i]}" if lines is not None else f"row {i + 1}"

        out = np.zeros((len(rows), self.n_features), dtype=np.float32)
        notes, j = [], 0
        gaps: list[str] = []
        for c in self.columns:
            values = table[c["name"]]
            if c["kind"] == "numeric":
                for r, i in enumerate(rows):
                    v = values[i]
                    if is_missing(v):
                        if c["fill"] is None:
                            gaps.append(f"{c['name']!r} at {line(i)}")
                            continue
                        num = c["fill"]
                    else:
                        num = _as_float(v)
                        if num is None:
                            raise DataError(f"{where}, {line(i)}: column {c['name']!r} is numeric but holds "
                                            f"{v!r}.")
                    out[r, j] = (num - c["mean"]) / c["std"]
                j += 1
            else:
                index = {k: t for t, k in enumerate(c["categories"])}
                unseen = Counter()
                for r, i in enumerate(rows):
                    v = values[i]
                    if is_missing(v):
                        if c["fill"] is None:
                            gaps.append(f"{c['name']!r} at {line(i)}")
                            continue
                        v = c["fill"]
                    t = index.get(v)
                    if t is None:
                        unseen[v] += 1
                    else:
                        out[r, j + t] = 1.0
                if unseen:
                    notes.append(f"column {c['name']!r}: {sum(unseen.values())} value(s) not seen in training "
                                 f"({', '.join(sorted(unseen)[:5])}) encoded as all zeros")
                j += len(c["categories"])
        if gaps:
            raise DataError(f"{where} has {len(gaps)} missing value{'s' * (len(gaps) > 1)} ({', '.join(gaps[:5])}"
                            f"{', ...' if len(gaps) > 5 else ''}); fill them in, or pass --impute "
                            "(impute=True) to use the training rows' median / most frequent value.")
        return out, notes

    def scale_target(self, y: np.ndarray) -> np.ndarray:
        """Regression: (y - mean) / std with the training targets' statistics (what the network learns)."""
        return ((np.asarray(y, dtype=np.float64) - self.target["mean"]) / self.target["std"]).astype(np.float32)

    def unscale_target(self, z: np.ndarray) -> np.ndarray:
        """Regression: network outputs back in the target's units, z * std + mean."""
        return np.asarray(z, dtype=np.float64) * self.target["std"] + self.target["mean"]

    # ------------------------------------------------------------------ storing
    def to_config(self) -> dict:
        """A JSON-safe dict (saved in ``model.metadata["preprocessing"]``)."""
        return {"kind": "csv-table", "columns": [dict(c) for c in self.columns], "target": dict(self.target)}

    @classmethod
    def from_config(cls, config: dict) -> TablePreprocessor:
        """Rebuild from :meth:`to_config`'s dict, checking its fields.

        Raises:
            DataError: not a table preprocessor's configuration.
        """
        ok = isinstance(config, dict) and config.get("kind") == "csv-table"
        cols, tgt = (config.get("columns"), config.get("target")) if ok else (None, None)
        ok = ok and isinstance(cols, list) and isinstance(tgt, dict) and tgt.get("task") in ("classification", "regression")
        for c in cols or []:
            ok = ok and isinstance(c, dict) and isinstance(c.get("name"), str) and (
                (c.get("kind") == "numeric" and all(isinstance(c.get(k), (int, float)) for k in ("mean", "std"))
                 and c["std"] > 0)
                or (c.get("kind") == "categorical" and isinstance(c.get("categories"), list)
                    and all(isinstance(k, str) for k in c["categories"])))
        if ok and tgt["task"] == "regression":
            ok = all(isinstance(tgt.get(k), (int, float)) for k in ("mean", "std")) and tgt["std"] > 0
        if not ok:
            raise DataError("the model's table preprocessing (metadata 'preprocessing') is missing or malformed.")
        return cls([dict(c) for c in cols], dict(tgt))

    def __repr__(self) -> str:
        return (f"TablePreprocessor({len(self.columns)} columns -> {self.n_features} inputs, "
                f"target {self.target['name']!r} ({self.target['task']}))")


def load_csv_table(path: str | os.PathLike, target: str, *, task: str | None = None, impute: bool = False,
                   drop: Sequence[str] = (), test_fraction: float = 0.2, seed: int | None = 0,
                   preprocessor: TablePreprocessor | None = None) -> LabeledData:
    """Read a CSV table and turn it into standardised / one-hot inputs and a target.

    Args:
        path: the CSV file (header line first).
        target: the column to predict.
        task: ``"classification"`` or ``"regression"``; default from the target (see the module).
        impute: fill missing inputs (training median / most frequent value) instead of refusing them.
        drop: columns to leave out (identifiers, free text).
        test_fraction, seed: the held-out test part (stratified for classification).
        preprocessor: a fitted :class:`TablePreprocessor` (e.g. a trained model's) to apply
            instead of fitting one; it fixes the task, the classes and ``impute``.

    Returns:
        :class:`~scratchnn.datasets.labeled.LabeledData` (``kind="csv"``): x float32 (N, D),
        y int64 labels or float32 values (in the target's units), ``classes`` (None for
        regression), ``preprocessor`` (a fitted :class:`TablePreprocessor`), ``notes``.

    Raises:
        FileNotFoundError: the file does not exist.
        ConfigError: unknown target / drop column, bad ``task``.
        DataError: see :func:`read_csv` and :meth:`TablePreprocessor.transform`; a missing
            target value, a text target for regression, a single class.
    """
    path = os.fspath(path)
    check_task(task)
    check_fraction(test_fraction)
    header, table, lines = read_csv(path)
    if not isinstance(target, str) or target not in table:
        raise ConfigError(f"{path} has no column {target!r}; its columns are {', '.join(header)}.")
    unknown = [d for d in drop if d not in table]
    if unknown or target in drop:
        raise ConfigError(f"cannot drop {', '.join(unknown) or target!r} from {path}; its input columns are "
                          f"{', '.join(h for h in header if h != target)}.")
    values = table[target]
    gaps = [lines[i] for i, v in enumerate(values) if is_missing(v)]
    if gaps:
        raise DataError(f"{path}: {len(gaps)} row(s) have no value for the target {target!r} (line"
                        f"{'s' * (len(gaps) > 1)} {', '.join(map(str, gaps[:8]))}{', ...' if len(gaps) > 8 else ''}); "
                        "remove them (a target cannot be imputed).")
    notes = []
    numeric = is_numeric(values)
    if preprocessor is not None:
        task = preprocessor.target["task"]
    if task is None:
        task = infer_task(values)
        how = ("text values" if not numeric else f"{len(set(values))} integer values" if task == "classification"
               else "numbers")
        notes.append(f"target {target!r}: {task} ({how}; --task / task= overrides)")
    if task == "regression" and not numeric:
        bad = next(v for v in values if _as_float(v) is None)
        raise DataError(f"{path}: the target {target!r} holds text ({bad!r}); regression needs numbers "
                        "(or use --task classification).")
    n = len(values)
    if task == "classification":
        key = (lambda v: float(v)) if numeric else (lambda v: v)
        keys = sorted({key(v) for v in values})
        classes = [_label_name(k) for k in keys]
        if preprocessor is not None:  # the model's classes, in the model's order
            unknown = [c for c in classes if c not in preprocessor.target["classes"]]
            if unknown:
                raise DataError(f"{path}: the target {target!r} holds values the model does not know: "
                                f"{', '.join(unknown[:8])} (its classes: {', '.join(preprocessor.target['classes'])}).")
            classes = list(preprocessor.target["classes"])
        index = {c: i for i, c in enumerate(classes)}
        y_all = np.array([index[_label_name(key(v))] for v in values], dtype=np.int64)
        if len(classes) < 2 and preprocessor is None:
            raise DataError(f"{path}: the target {target!r} has one value only ({classes[0]!r}); "
                            "a classifier needs two or more classes.")
        tr, te = split_test(n, y_all, test_fraction, seed)
    else:
        classes = None
        y_all = np.array([float(v) for v in values], dtype=np.float32)
        tr, te = split_test(n, None, test_fraction, seed)
    if preprocessor is None and not impute:  # name every gap of the file at once, not only the training rows'
        gaps = [f"{h!r} at line {lines[i]}" for i in range(n) for h in header
                if h != target and h not in drop and is_missing(table[h][i])]
        if gaps:
            raise DataError(f"{path} has {len(gaps)} missing value{'s' * (len(gaps) > 1)} ({', '.join(gaps[:5])}"
                            f"{', ...' if len(gaps) > 5 else ''}); fill them in, or pass --impute "
                            "(impute=True) to use the training rows' median / most frequent value.")
    pre = preprocessor or TablePreprocessor.fit(table, tr, target, task, classes, impute=impute, drop=tuple(drop))
    impute = any(c["fill"] is not None for c in pre.columns)
    x_tr, n1 = pre.transform(table, tr, lines=lines, where=path)
    x_te, n2 = pre.transform(table, te, lines=lines, where=path)
    if impute:
        filled = sum(is_missing(table[c["name"]][i]) for c in pre.columns for i in range(n))
        if filled:
            notes.append(f"imputed {filled} missing value{'s' * (filled != 1)} (training median / most frequent)")
    return LabeledData(x_tr, y_all[tr], x_te, y_all[te], classes, task, "csv", notes + n1 + n2, pre,
                       split={"test_fraction": float(test_fraction), "seed": seed})


def read_table_for_prediction(path: str | os.PathLike, preprocessor: TablePreprocessor
                              ) -> tuple[np.ndarray, list[str], list[int], Table]:
    """A new CSV through a fitted preprocessor: ``(x, notes, line numbers, columns)``; the target column may be absent."""
    _, table, lines = read_csv(path)
    x, notes = preprocessor.transform(table, lines=lines, where=os.fspath(path))
    return x, notes, lines, table
