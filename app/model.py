"""The note model: one class wrapping the LiteRT interpreter around the shipped int8 VGGish+head.

A model is a `.tflite` file with a JSON sidecar of the same stem (`pitchrec.tflite`
+ `pitchrec.json`) holding its labels and the front-end settings it was trained
with. Loading checks both against the app's own front end and the model's tensors;
anything wrong raises `ModelError` with a one-line message.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
from pathlib import Path

import numpy as np

from app.params import VGGISH, FrontEndParams

ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"
DEFAULT_MODEL = ASSETS_DIR / "pitchrec.tflite"


class ModelError(Exception):
    """A model file that is missing, corrupt, or does not fit this app."""


@dataclasses.dataclass(frozen=True)
class Prediction:
    label: str  # a note name such as "A4", or "none"
    index: int  # class index
    confidence: float  # probability of `label`, 0..1
    probs: np.ndarray  # (num_classes,) float32


@contextlib.contextmanager
def _native_stderr_silenced():
    """LiteRT's C++ prints "INFO: Created TensorFlow Lite XNNPACK delegate" to file descriptor 2, and no
    setting turns it off; it would break one-line error output. Load errors still arrive as exceptions.
    NB: for these few milliseconds, other threads' writes to stderr are lost too."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # no real stderr (pytest capture, GUI): nothing to do
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


def metadata_path(model_path: Path) -> Path:
    return model_path.with_suffix(".json")


class NoteModel:
    """Loads and validates a model; `predict` names the note of a (patch_frames, mel_bands) log-mel patch."""

    def __init__(self, path: Path | str | None = None, num_threads: int = 1, params: FrontEndParams = VGGISH):
        self.path = Path(path) if path is not None else DEFAULT_MODEL
        self.params = params
        self.metadata = self._load_metadata()
        self.labels: list[str] = list(self.metadata["labels"])
        self._interpreter = self._load_interpreter(num_threads)
        self._check_tensors()

    def _load_metadata(self) -> dict:
        meta_path = metadata_path(self.path)
        if not self.path.is_file():
            raise ModelError(f"model file not found: {self.path}")
        if not meta_path.is_file():
            raise ModelError(f"model metadata not found: {meta_path} (expected beside {self.path.name})")
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ModelError(f"model metadata {meta_path} is not valid JSON: {e}") from None
        if not isinstance(meta, dict) or not isinstance(meta.get("labels"), list) or not isinstance(meta.get("front_end"), dict):
            raise ModelError(f"model metadata {meta_path} lacks 'labels' (list) or 'front_end' (object)")
        try:
            front_end = FrontEndParams.from_dict(meta["front_end"])
        except (TypeError, ValueError) as e:
            raise ModelError(f"model metadata {meta_path} has bad front-end settings: {e}") from None
        if front_end != self.params:
            diff = {k: (v, getattr(self.params, k)) for k, v in front_end.to_dict().items() if getattr(self.params, k) != v}
            raise ModelError(f"model {self.path.name} was trained with other front-end settings (model, app): {diff}")
        return meta

    def _load_interpreter(self, num_threads: int):
        from ai_edge_litert.interpreter import Interpreter

        try:
            content = self.path.read_bytes()
            with _native_stderr_silenced():
                interpreter = Interpreter(model_content=content, num_threads=num_threads)
                interpreter.allocate_tensors()
        except Exception as e:  # LiteRT raises ValueError or RuntimeError with multi-line text
            first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ModelError(f"{self.path} is not a loadable TFLite model: {first_line}") from None
        return interpreter

    def _check_tensors(self) -> None:
        inputs, outputs = self._interpreter.get_input_details(), self._interpreter.get_output_details()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ModelError(f"model {self.path.name} has {len(inputs)} inputs and {len(outputs)} outputs; expected 1 and 1")
        self._in, self._out = inputs[0], outputs[0]
        want = (1, *self.params.patch_shape)
        if tuple(self._in["shape"]) != want:
            raise ModelError(f"model {self.path.name} takes input shape {tuple(self._in['shape'])}; the front end gives {want}")
        if tuple(self._out["shape"]) != (1, len(self.labels)):
            raise ModelError(
                f"model {self.path.name} gives {tuple(self._out['shape'])} outputs but its metadata has {len(self.labels)} labels"
            )

    @property
    def version(self) -> str:
        return str(self.metadata.get("version", "unknown"))

    def probabilities(self, patch: np.ndarray) -> np.ndarray:
        """(patch_frames, mel_bands) log-mel -> (num_classes,) float32 probabilities."""
        x = np.asarray(patch, dtype=np.float32).reshape(self._in["shape"])
        scale, zero = self._in["quantization"]
        if self._in["dtype"] != np.float32:
            info = np.iinfo(self._in["dtype"])
            x = np.clip(np.round(x / scale + zero), info.min, info.max).astype(self._in["dtype"])
        self._interpreter.set_tensor(self._in["index"], x)
        self._interpreter.invoke()
        y = self._interpreter.get_tensor(self._out["index"])[0]
        scale, zero = self._out["quantization"]
        if self._out["dtype"] != np.float32:
            y = (y.astype(np.float32) - zero) * scale
        return y.astype(np.float32)

    def predict(self, patch: np.ndarray) -> Prediction:
        probs = self.probabilities(patch)
        i = int(np.argmax(probs))
        return Prediction(label=self.labels[i], index=i, confidence=float(probs[i]), probs=probs)
