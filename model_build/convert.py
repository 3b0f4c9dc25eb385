"""Convert a trained Keras model to a full-integer int8 TFLite model, with its metadata sidecar.

Weights and activations are int8, calibrated on a representative set of training
patches; the input and output tensors are int8 too (app.model quantizes the
log-mel patch with the input's scale and zero point).
"""

from __future__ import annotations

import datetime
import json
import platform
import subprocess
from importlib import metadata as importlib_metadata
from pathlib import Path

import numpy as np

from app.notes import NO_NOTE, class_labels, note_name
from app.params import VGGISH, LowSpectrumParams


def to_int8_tflite(model, representative) -> bytes:
    """Keras model + calibration patches ((N, patch_frames, mel_bands), or PatchMaker.batch's dict for a
    two-input model) -> int8 .tflite bytes."""
    import tensorflow as tf

    from model_build.corpus import model_inputs
    from model_build.vggish import low_params

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    x = model_inputs(representative, low_params(model))

    def samples():
        for i in range(len(x["log_mel"] if isinstance(x, dict) else x)):
            if isinstance(x, dict):  # two inputs, by name: the converter's tensor order is not the model's
                yield {k: v[i][None].astype(np.float32) for k, v in x.items()}
            else:
                yield [x[i][None].astype(np.float32)]

    converter.representative_dataset = samples
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter.convert()


def library_versions() -> dict:
    versions = {"python": platform.python_version()}
    for dist in ("tensorflow-cpu", "tensorflow", "keras", "numpy", "soxr", "ai-edge-litert", "pyfluidsynth"):
        try:
            versions[dist] = importlib_metadata.version(dist)
        except importlib_metadata.PackageNotFoundError:
            pass
    return versions


def git_commit(repo_dir: Path) -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo_dir, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo_dir, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if out.returncode != 0:
        return "unknown"
    return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def write_model(tflite: bytes, path: Path, data_summary: dict, metrics: dict, version: str, training: dict,
                low_spectrum: LowSpectrumParams | None = None, labels: list[str] | None = None) -> dict:
    """Write path (.tflite) and its .json sidecar; returns the metadata. low_spectrum: the settings of the model's
    second input, if it has one; labels: its classes (default: this build's, app.notes.class_labels())."""
    path.parent.mkdir(parents=True, exist_ok=True)
    extra = {}
    if low_spectrum is not None:
        low = low_spectrum
        extra = {"low_spectrum": low.to_dict(),
                 "inputs": [{"name": "log_mel", "shape": [1, *VGGISH.patch_shape], "dtype": "int8"},
                            {"name": "low_spectrum", "shape": [1, *low.shape], "dtype": "int8"}]}
    meta = {
        "name": "pitchrec-vggish-note",
        "version": version,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "labels": class_labels() if labels is None else list(labels),
        "front_end": VGGISH.to_dict(),
        "input": {"name": "log_mel", "shape": [1, *VGGISH.patch_shape], "dtype": "int8"},
        **extra,
        "output": {"name": "probs", "meaning": "softmax over labels", "dtype": "int8"},
        "library_versions": library_versions(),
        "data": data_summary,
        "training": training,
        "metrics": metrics,
        "commit": git_commit(Path(__file__).resolve().parent.parent),
        "size_bytes": len(tflite),
    }
    path.write_bytes(tflite)
    path.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def save_float_weights(model, path: Path, labels: list[str] | None = None) -> None:
    """The float model's weights as float16 (half the size; enough to fine-tune from) with how to rebuild it and
    its classes (labels; default: this build's, app.notes.class_labels())."""
    from model_build.vggish import bottleneck_of, low_params

    labels = class_labels() if labels is None else list(labels)
    if len(labels) != int(model.output.shape[-1]):
        raise ValueError(f"{len(labels)} labels for a model of {int(model.output.shape[-1])} classes")

    low = low_params(model)
    names = [f"{i:03d}:{w.path}" for i, w in enumerate(model.weights)]
    arrays = {n: np.asarray(w.numpy(), np.float16) for n, w in zip(names, model.weights)}
    spec = {
        "batch_norm": any(layer.name.endswith("_bn") for layer in model.layers),
        "embedding_stack": any(layer.name == "fc1_1" for layer in model.layers),
        "num_classes": int(model.output.shape[-1]),
        "low_spectrum": low.to_dict() if low else None,
        "bottleneck": bottleneck_of(model),
        "labels": labels,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        np.savez_compressed(f, __spec__=np.array(json.dumps(spec)), **arrays)


# The classes of every model before saved weights recorded them (versions 1 to 9): B0 to C7, and no note.
_CLASSES_BEFORE_LABELS = [note_name(m) for m in range(23, 97)] + [NO_NOTE]


def saved_labels(path: Path) -> list[str]:
    """The classes of a model saved by save_float_weights; for weights saved before it recorded them (the versions
    8 and 9 files) B0 to C7 and no note, the range every model had then; a .keras file: this build's classes."""
    path = Path(path)
    if path.suffix == ".keras":
        return class_labels()
    with np.load(path) as z:
        spec = json.loads(str(z["__spec__"]))
    labels = spec.get("labels")
    if labels is None and spec["num_classes"] == len(_CLASSES_BEFORE_LABELS):
        return list(_CLASSES_BEFORE_LABELS)
    if labels is None:
        raise ValueError(f"{path}: {spec['num_classes']} classes, and no labels saved to say which")
    return labels


def load_float_model(path: Path):
    """A Keras model rebuilt from save_float_weights' file (or a .keras file, loaded as is)."""
    import keras

    from model_build.vggish import build_model

    path = Path(path)
    if path.suffix == ".keras":
        return keras.models.load_model(path)
    if not path.exists():
        raise FileNotFoundError(f"float weights not found: {path}")
    with np.load(path) as z:
        spec = json.loads(str(z["__spec__"]))
        arrays = [z[k] for k in sorted(k for k in z.files if k != "__spec__")]
    from app.params import LowSpectrumParams

    low = LowSpectrumParams.from_dict(spec["low_spectrum"]) if spec.get("low_spectrum") else None
    model = build_model(spec["num_classes"], embedding_stack=spec["embedding_stack"], batch_norm=spec["batch_norm"], low=low,
                        bottleneck=spec.get("bottleneck"))
    if len(arrays) != len(model.weights):
        raise ValueError(f"{path}: {len(arrays)} arrays for a model with {len(model.weights)} weights")
    model.set_weights([a.astype(np.float32) for a in arrays])
    return model
