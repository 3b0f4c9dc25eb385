"""The note model: one class wrapping the LiteRT interpreter around the shipped int8 VGGish+head.

A model is a `.tflite` file with a JSON sidecar of the same stem (`pitchrec.tflite`
+ `pitchrec.json`) holding its labels and the front-end settings it was trained
with. Loading checks both against the app's own front end and the model's tensors;
anything wrong raises `ModelError` with a one-line message.

From version 4 a model may take a second input, the low register's fine spectrum
(`app.params.LowSpectrumParams`, metadata key "low_spectrum"); `takes_low_spectrum`
says so, and `probabilities` then wants it beside the log-mel patch. One-input models
(version 3, and models fine-tuned from it) load as before.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
from pathlib import Path

import numpy as np

from app.notes import NO_NOTE, NOTE_MAX, NOTE_MIN, midi_from_name
from app.params import LOW_SPECTRUM, VGGISH, FrontEndParams, LowSpectrumParams

ASSETS_DIR = Path(__file__).resolve().parent / "assets"  # package data: the shipped model, its metadata and card
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
    Descriptor 2 itself is silenced, not sys.stderr's: in the app, descriptor 2 is the pipe that takes PortAudio's
    lines to the log (app.audio.portaudio_output_to_the_log) and sys.stderr writes to the terminal apart from it.
    NB: for these few milliseconds, other threads' writes to descriptor 2 are lost too."""
    try:
        saved = os.dup(2)
    except OSError:  # no descriptor 2 (a windowed process without a console): nothing to silence
        yield
        return
    for stream in (sys.stderr, sys.__stderr__):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def metadata_path(model_path: Path) -> Path:
    return model_path.with_suffix(".json")


class NoteModel:
    """Loads and validates a model; `predict` names the note of a (patch_frames, mel_bands) log-mel patch."""

    def __init__(self, path: Path | str | None = None, num_threads: int = 1, params: FrontEndParams = VGGISH,
                 low: LowSpectrumParams = LOW_SPECTRUM):
        self.path = Path(path) if path is not None else DEFAULT_MODEL
        self.params = params
        self.low: LowSpectrumParams | None = None  # set from the metadata: the model's second input, if it has one
        self._app_low = low
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
        self._check_labels(meta["labels"], meta_path)
        self._settings(meta["front_end"], self.params, "front-end")
        if meta.get("low_spectrum") is not None:
            self.low = self._settings(meta["low_spectrum"], self._app_low, "low-spectrum")
        return meta

    @staticmethod
    def _check_labels(labels: list, meta_path: Path) -> None:
        """Classes the app can show: distinct note names from A0 to C8, and "none" (a model may cover fewer notes
        than that: version 9 B0 to C7)."""
        notes = [label for label in labels if label != NO_NOTE]
        try:
            midis = [midi_from_name(str(label)) for label in notes]
        except ValueError as e:
            raise ModelError(f"model metadata {meta_path} has a label that is no note: {e}") from None
        if any(not NOTE_MIN <= m <= NOTE_MAX for m in midis) or len(set(midis)) != len(midis) or len(notes) == len(labels):
            raise ModelError(f"model metadata {meta_path}: its labels must be distinct notes from A0 to C8 and "
                             f"'{NO_NOTE}' (got {labels[0] if labels else 'none'} .. {labels[-1] if labels else ''})")

    def _settings(self, values, ours: FrontEndParams | LowSpectrumParams, kind: str):
        """The settings the model was trained with (a metadata entry), which must be the app's own, `ours`."""
        try:
            theirs = type(ours).from_dict(values)
        except (TypeError, ValueError) as e:
            raise ModelError(f"model metadata {metadata_path(self.path)} has bad {kind} settings: {e}") from None
        if theirs != ours:
            diff = {k: (v, getattr(ours, k)) for k, v in theirs.to_dict().items() if getattr(ours, k) != v}
            raise ModelError(f"model {self.path.name} was trained with other {kind} settings (model, app): {diff}")
        return theirs

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
        want_inputs = 1 if self.low is None else 2
        if len(inputs) != want_inputs or len(outputs) != 1:
            raise ModelError(f"model {self.path.name} has {len(inputs)} inputs and {len(outputs)} outputs; its metadata "
                             f"says {want_inputs} and 1")
        self._out = outputs[0]
        want = (1, *self.params.patch_shape)
        by_shape = {tuple(t["shape"]): t for t in inputs}
        if want not in by_shape:
            shapes = ", ".join(str(tuple(t["shape"])) for t in inputs)
            raise ModelError(f"model {self.path.name} takes input shape {shapes}; the front end gives {want}")
        self._in = by_shape[want]
        self._in_low = None
        if self.low is not None:
            want_low = (1, *self.low.shape)
            if want_low not in by_shape:
                raise ModelError(f"model {self.path.name} has no input of the low spectrum's shape {want_low}")
            self._in_low = by_shape[want_low]
        if tuple(self._out["shape"]) != (1, len(self.labels)):
            raise ModelError(
                f"model {self.path.name} gives {tuple(self._out['shape'])} outputs but its metadata has {len(self.labels)} labels"
            )

    @property
    def version(self) -> str:
        return str(self.metadata.get("version", "unknown"))

    @property
    def takes_low_spectrum(self) -> bool:
        return self.low is not None

    def _set_input(self, detail: dict, values: np.ndarray) -> None:
        x = np.asarray(values, dtype=np.float32).reshape(detail["shape"])
        scale, zero = detail["quantization"]
        if detail["dtype"] != np.float32:
            info = np.iinfo(detail["dtype"])
            x = np.clip(np.round(x / scale + zero), info.min, info.max).astype(detail["dtype"])
        self._interpreter.set_tensor(detail["index"], x)

    def probabilities(self, patch: np.ndarray, low_spectrum: np.ndarray | None = None) -> np.ndarray:
        """(patch_frames, mel_bands) log-mel [+ (bins, frames) low spectrum, if the model takes it; ignored if
        not] -> (num_classes,) float32 probabilities."""
        self._set_input(self._in, patch)
        if self._in_low is not None:
            if low_spectrum is None:
                raise ValueError(f"model {self.path.name} also takes the low spectrum (app.features.low_spectrum)")
            self._set_input(self._in_low, low_spectrum)
        self._interpreter.invoke()
        y = self._interpreter.get_tensor(self._out["index"])[0]
        scale, zero = self._out["quantization"]
        if self._out["dtype"] != np.float32:
            y = (y.astype(np.float32) - zero) * scale
        return y.astype(np.float32)

    def inputs_at_end(self, audio: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """The model's inputs for the note at the end of 16 kHz mono audio: its newest log-mel patch (silence
        before the first frames, as in the live view) and, for a two-input model, the low spectrum of the audio
        up to where that patch's last frame ends."""
        from app import features

        p = self.params
        audio = np.asarray(audio, dtype=np.float32)
        frames = features.log_mel(audio, p)
        spec = frames[-p.patch_frames :]
        patch = np.full(p.patch_shape, np.log(p.log_offset), np.float32)
        if len(spec):
            patch[-len(spec) :] = spec
        if self.low is None:
            return patch, None
        end = features.frame_end(len(frames) - 1, p) if len(frames) else 0
        return patch, features.low_spectrum(audio[:end], self.low)

    def predict_audio(self, audio: np.ndarray) -> Prediction:
        """The note at the end of 16 kHz mono audio (see inputs_at_end)."""
        return self.predict(*self.inputs_at_end(audio))

    def predict(self, patch: np.ndarray, low_spectrum: np.ndarray | None = None) -> Prediction:
        probs = self.probabilities(patch, low_spectrum)
        i = int(np.argmax(probs))
        return Prediction(label=self.labels[i], index=i, confidence=float(probs[i]), probs=probs)
