"""Evaluation on the fixed validation patches: accuracy, per-class accuracy, octave errors, no-note precision.

Writes `<out>/metrics.json` and `<out>/confusion.png`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from app.notes import NO_NOTE, class_labels, label_index, midi_from_name


def octave_errors(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Per patch: named as the right pitch class in another octave (a no-note answer is never one)."""
    interval = np.asarray(y_pred, dtype=np.int64) - np.asarray(y_true, dtype=np.int64)
    return (np.asarray(y_pred) != label_index(None)) & (interval != 0) & (interval % 12 == 0)


def metrics(y_true: np.ndarray, y_pred: np.ndarray, sources: np.ndarray | None = None) -> dict:
    """Scores from (N,) true and predicted class indices (and optionally each patch's source).

    - note_accuracy: share of note patches named exactly right;
    - octave_error_rate: share of note patches named as the right pitch class in another octave;
    - semitone_error_rate: share of note patches named one semitone off;
    - no_note_precision: of patches called "no note", the share that were; no_note_recall: the converse;
    - false_note_rate: share of no-note patches that were given a note;
    - per_class, and with sources per_source: accuracy and patch count.
    """
    labels = class_labels()
    none = label_index(None)
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    notes = y_true != none
    interval = y_pred[notes] - y_true[notes]
    octave = octave_errors(y_true[notes], y_pred[notes])
    called_none = y_pred == none
    per_class = {
        labels[c]: {"accuracy": float(np.mean(y_pred[y_true == c] == c)), "patches": int(np.sum(y_true == c))}
        for c in range(len(labels))
        if np.any(y_true == c)
    }
    per_source = {}
    if sources is not None:
        sources = np.asarray(sources)
        for s in np.unique(sources):
            mask = sources == s
            per_source[str(s)] = {"accuracy": float(np.mean(y_pred[mask] == y_true[mask])), "patches": int(mask.sum())}
    return {
        "patches": int(len(y_true)),
        "accuracy": float(np.mean(y_true == y_pred)),
        "note_accuracy": float(np.mean(y_pred[notes] == y_true[notes])) if notes.any() else float("nan"),
        "octave_error_rate": float(np.mean(octave)) if notes.any() else float("nan"),
        "semitone_error_rate": float(np.mean((y_pred[notes] != none) & (np.abs(interval) == 1))) if notes.any() else float("nan"),
        "no_note_precision": float(np.mean(y_true[called_none] == none)) if called_none.any() else float("nan"),
        "no_note_recall": float(np.mean(y_pred[~notes] == none)) if (~notes).any() else float("nan"),
        "false_note_rate": float(np.mean(y_pred[~notes] != none)) if (~notes).any() else float("nan"),
        "per_class": per_class,
        "per_source": per_source,
    }


def class_map(labels: list[str]) -> np.ndarray:
    """A model's class i -> the index of its label among app.notes.class_labels(), where validation labels are: so a
    model of a narrower range than the build's (version 9's B0-C7 beside a wider one) is scored on the same patches."""
    return np.array([label_index(None if label == NO_NOTE else midi_from_name(label)) for label in labels])


def predict_keras(model, x, batch_size: int = 128) -> np.ndarray:
    """Class indices from a Keras model of this build's classes (app.notes.class_labels()); x: patches as
    load_validation or PatchMaker.batch give them."""
    from model_build.corpus import model_inputs
    from model_build.vggish import low_params

    if int(model.output.shape[-1]) != len(class_labels()):
        raise ValueError(f"this model has {int(model.output.shape[-1])} classes, this build {len(class_labels())}: "
                         "score its int8 file, whose metadata names them")
    return np.argmax(model.predict(model_inputs(x, low_params(model)), batch_size=batch_size, verbose=0), axis=1)


def predict_tflite(path: Path, x, num_threads: int = 2) -> np.ndarray:
    """Class indices (among app.notes.class_labels()) from a .tflite model through the app's loader, whatever its
    range of classes; x as for predict_keras."""
    from app.model import NoteModel
    from model_build.corpus import model_inputs

    model = NoteModel(path, num_threads=num_threads)
    x = model_inputs(x, model.low)
    mel, low = (x["log_mel"], x["low_spectrum"]) if isinstance(x, dict) else (x, [None] * len(x))
    return class_map(model.labels)[[np.argmax(model.probabilities(p, q)) for p, q in
                                   tqdm(zip(mel, low), total=len(mel), desc=f"LiteRT {path.name}", unit="patch",
                                        mininterval=2)]]


def confusion_png(y_true: np.ndarray, y_pred: np.ndarray, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = class_labels()
    n = len(labels)
    cm = np.zeros((n, n))
    np.add.at(cm, (y_true, y_pred), 1)
    cm /= np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(12, 11))
    ax.imshow(cm, cmap="magma", vmin=0, vmax=1, interpolation="nearest")
    ticks = [i for i, name in enumerate(labels) if name.startswith("C") and "#" not in name or name == labels[-1]]
    ax.set_xticks(ticks, [labels[i] for i in ticks])
    ax.set_yticks(ticks, [labels[i] for i in ticks])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def write_report(y_true: np.ndarray, y_pred: np.ndarray, out_dir: Path, name: str, sources: np.ndarray | None = None) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    m = metrics(y_true, y_pred, sources)
    (out_dir / f"metrics-{name}.json").write_text(json.dumps(m, indent=2))
    confusion_png(y_true, y_pred, out_dir / f"confusion-{name}.png", f"{name}: note accuracy {m['note_accuracy']:.2%}")
    return m
