"""Fine-tuning on the user's recorded clips (the window's clip folder: WAV + JSON sidecar).

1. Read the clips; list and skip the bad ones (unreadable, no usable label, too
   short, silent), never failing on them.
2. Hold out part of the clips (whole clips) for evaluation.
3. Start from the current model's float weights (the shipped model's are in
   app/assets/pitchrec.weights.npz) and fine-tune with the freeze-then-unfreeze
   schedule on patches from the user's clips, mixed with a replay sample of the
   base corpus so the model does not forget other instruments.
4. Report accuracy before and after on the held-out clips and on base validation,
   and write the new int8 model, its metadata and a card into the user's model
   folder, where the window's model selector finds it.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import logging
import math
from pathlib import Path

import numpy as np

from app import features
from app.notes import MIDI_MAX, MIDI_MIN, class_labels, label_index, midi_from_name
from app.params import LOW_SPECTRUM, VGGISH
from model_build.augment import frame_dbfs
from model_build.corpus import count_patches, select_patches

log = logging.getLogger(__name__)

MIN_SECONDS = 0.5
SILENT_DBFS = -55.0
PATCH_HOP_S = 0.1
SETTLE_S = 0.25  # patches end at least this long after the clip's first loud frame


@dataclasses.dataclass
class UserClip:
    wav: Path
    midi: int
    audio: np.ndarray  # 16 kHz mono float32
    instrument: str | None


def _label_midi(meta: dict) -> int:
    midi = meta.get("midi")
    if midi is None:
        midi = midi_from_name(str(meta.get("label", "")))  # ValueError for "detected", free text, "?"
    midi = int(midi)
    if not MIDI_MIN <= midi <= MIDI_MAX:
        raise ValueError(f"MIDI {midi} is outside the model's range {MIDI_MIN}..{MIDI_MAX}")
    return midi


def read_clips(directory: Path) -> tuple[list[UserClip], list[tuple[Path, str]]]:
    """(usable clips, [(file, why skipped)])."""
    from app.audio_file import AudioFileError, read_audio

    good, bad = [], []
    for wav in sorted(Path(directory).glob("*.wav")):
        try:
            meta = json.loads(wav.with_suffix(".json").read_text())
        except (OSError, ValueError) as e:
            bad.append((wav, f"no readable sidecar ({e.__class__.__name__})"))
            continue
        try:
            midi = _label_midi(meta)
        except (ValueError, TypeError) as e:
            bad.append((wav, f"no usable note label ({e})"))
            continue
        try:
            audio, rate = read_audio(wav)
        except AudioFileError as e:
            bad.append((wav, f"unreadable audio ({e})"))
            continue
        mono = features.resample(features.to_mono(audio), rate, VGGISH.sample_rate_hz)
        if len(mono) < MIN_SECONDS * VGGISH.sample_rate_hz:
            bad.append((wav, f"too short ({len(mono) / VGGISH.sample_rate_hz:.2f} s < {MIN_SECONDS} s)"))
            continue
        peak_rms = frame_dbfs(mono).max()
        if peak_rms < SILENT_DBFS:
            bad.append((wav, f"silent (loudest 50 ms at {peak_rms:.0f} dBFS)"))
            continue
        good.append(UserClip(wav, midi, mono, meta.get("instrument")))
    return good, bad


def clip_patches(clip: UserClip) -> dict[str, np.ndarray]:
    """Patches ending every PATCH_HOP_S while the note sounds, label = the clip's note: {"log_mel": (n, patch_frames,
    mel_bands), "low_spectrum": (n, bins, frames)}, both inputs, as validation data has them (corpus.model_inputs)."""
    p, low = VGGISH, LOW_SPECTRUM
    spec = features.log_mel(clip.audio, p)
    pad = np.full((p.patch_frames - 1, p.num_mel_bands), np.log(p.log_offset), np.float32)
    spec = np.concatenate([pad, spec])  # a patch can end before 0.96 s, like the live view's first patches
    loud = np.flatnonzero(frame_dbfs(clip.audio, p.hop_samples) > SILENT_DBFS)
    first = int(loud[0]) + int(SETTLE_S / p.hop_s) if len(loud) else 0
    last = int(loud[-1]) if len(loud) else 0
    step = max(1, int(round(PATCH_HOP_S / p.hop_s)))
    ends = range(first, min(last, len(spec) - p.patch_frames) + 1, step)
    if not len(ends):
        return _no_patches()
    # Patch e's last frame is frame e of the clip (after the padding).
    lows = np.stack([features.low_spectrum(clip.audio[: features.frame_end(e, p)], low) for e in ends])
    return {"log_mel": np.stack([spec[e : e + p.patch_frames] for e in ends]), "low_spectrum": lows}


def _no_patches() -> dict[str, np.ndarray]:
    return {"log_mel": np.empty((0, *VGGISH.patch_shape), np.float32),
            "low_spectrum": np.empty((0, *LOW_SPECTRUM.shape), np.float32)}


def _concat(parts: list):
    """Patches of either form (arrays, or dicts of arrays) joined."""
    if isinstance(parts[0], dict):
        return {k: np.concatenate([q[k] for q in parts]).astype(np.float32) for k in parts[0]}
    return np.concatenate(parts).astype(np.float32)


def split(clips: list[UserClip], holdout: float, seed: int) -> tuple[list[UserClip], list[UserClip]]:
    """(train, held out): whole clips; at least one held out once there are two."""
    if len(clips) < 2:
        return clips, []
    order = np.random.default_rng(seed).permutation(len(clips))
    n = min(len(clips) - 1, max(1, math.ceil(holdout * len(clips))))
    held = set(order[:n].tolist())
    return [c for i, c in enumerate(clips) if i not in held], [c for i, c in enumerate(clips) if i in held]


def stack(clips: list[UserClip]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    xs, ys = [], []
    for c in clips:
        x = clip_patches(c)
        xs.append(x)
        ys.append(np.full(count_patches(x), label_index(c.midi), np.int32))
    if not xs:
        return _no_patches(), np.empty(0, np.int32)
    return _concat(xs), np.concatenate(ys)


class MixedMaker:
    """Training batches: the user's patches (a `user_share` of each batch) and replay patches from the base corpus.

    x is in the model's form (corpus.model_inputs), and the replay PatchMaker must give the same form."""

    def __init__(self, x, y: np.ndarray, replay, user_share: float = 0.5):
        self.x, self.y, self.replay, self.user_share = x, y, replay, user_share

    def batch(self, rng: np.random.Generator, size: int):
        n_user = int(round(size * self.user_share)) if count_patches(self.x) else 0
        rx, ry = self.replay.batch(rng, size - n_user)
        idx = rng.integers(0, count_patches(self.x), n_user) if n_user else np.empty(0, int)
        ux = select_patches(self.x, idx)
        jitter = rng.normal(0, 0.05, (n_user, 1, 1)).astype(np.float32)  # a little level jitter (log domain)
        if isinstance(ux, dict):
            ux = {**ux, "log_mel": ux["log_mel"] + jitter}  # the low spectrum is level-free
        else:
            ux = ux + jitter
        x, y = _concat([ux, rx]), np.concatenate([self.y[idx], ry])
        return select_patches(x, order := rng.permutation(len(y))), y[order]


def accuracy(model, x, y: np.ndarray) -> float | None:
    """x: patches of either form; the model's inputs are picked from them."""
    from model_build.corpus import model_inputs
    from model_build.vggish import low_params

    if not len(y):
        return None
    x = model_inputs(x, low_params(model))
    return float(np.mean(np.argmax(model.predict(x, batch_size=64, verbose=0), axis=1) == y))


def write_card(path: Path, report: dict) -> None:
    b, a = report["before"], report["after"]
    fmt = lambda v: "n/a" if v is None else f"{100 * v:.2f}%"  # noqa: E731
    lines = [
        f"# {path.stem}: Pitchrec fine-tuned on your clips",
        "",
        f"Created {report['created']} from {report['base']} with {report['clips_used']} clips "
        f"({report['clips_held_out']} held out, {len(report['skipped'])} skipped).",
        "",
        "| accuracy | before | after |",
        "|---|---|---|",
        f"| your held-out clips (patches) | {fmt(b['user_held_out'])} | {fmt(a['user_held_out'])} |",
        f"| base validation (float) | {fmt(b['base_validation'])} | {fmt(a['base_validation'])} |",
        f"| base validation (int8, as used) | | {fmt(a.get('base_validation_int8'))} |",
        "",
        "Phases (validation accuracy on the base validation set):",
        "",
        *[f"- {p['phase']}: learning rate {p['learning_rate']:.2g}, {p['epochs']} epochs, "
          f"{fmt(p['val_accuracy'])}" for p in report["phases"]],
    ]
    if report["skipped"]:
        lines += ["", "Skipped clips:", "", *[f"- {s['file']}: {s['why']}" for s in report["skipped"]]]
    path.write_text("\n".join(lines) + "\n")


def finetune(clips_dir: Path, base_weights: Path, out_dir: Path, work_dir: Path, config, name: str | None = None,
             holdout: float = 0.25) -> dict:
    """The whole fine-tuning run; returns the report (also in the new model's .json)."""
    from model_build import convert
    from model_build.corpus import NoteBank, PatchMaker, build_bank, load_validation, model_inputs
    from model_build.train import train_transfer, training_maker
    from model_build.transfer import schedule
    from model_build.vggish import low_params, with_classes

    good, bad = read_clips(clips_dir)
    for path, why in bad:
        log.warning("skipped %s: %s", path.name, why)
    if not good:
        raise ValueError(f"no usable clips in {clips_dir} ({len(bad)} skipped)")
    train_clips, held_clips = split(good, holdout, config.seed)
    x_user, y_user = stack(train_clips)
    x_held, y_held = stack(held_clips)
    log.info("%d clips: %d for training (%d patches), %d held out (%d patches); %d skipped",
             len(good), len(train_clips), count_patches(x_user), len(held_clips), count_patches(x_held), len(bad))

    # The base corpus, for replay and for base validation: the full build's if present, else a small one rendered now.
    data_dir = work_dir / "data"
    base = None
    if (data_dir / "bank.npz").exists() and (data_dir / "validation.npz").exists():
        try:
            base = NoteBank.load(data_dir / "bank.npz"), load_validation(data_dir)
        except ValueError as err:  # an older build's, for other classes
            log.info("%s", err)
    if base is not None:
        bank, (x_val, y_val, _) = base
        x_val = select_patches(x_val, slice(config.finetune_validation_patches))
        y_val = y_val[: config.finetune_validation_patches]
    else:
        log.info("no base corpus for this build in %s: rendering a small replay corpus", data_dir)
        small = dataclasses.replace(config, velocities=config.velocities[len(config.velocities) // 2 :][:1],
                                    note_stride=max(config.note_stride, 2), synth_notes_per_midi=min(config.synth_notes_per_midi, 2))
        bank = build_bank(small)
        x_val, y_val = PatchMaker(bank.subset(bank.validation), low=LOW_SPECTRUM).batch(
            np.random.default_rng(config.seed + 1), config.finetune_validation_patches)
    config = dataclasses.replace(config, train_patches_per_epoch=config.finetune_patches_per_epoch)
    # A base of fewer classes than this build's (version 9's B0-C7) grows the others, starting at no probability.
    model = with_classes(convert.load_float_model(base_weights), convert.saved_labels(base_weights), class_labels())
    low = low_params(model)  # a two-input model (version 4 on) also takes the low spectrum
    x_user, x_held, x_val = (model_inputs(x, low) for x in (x_user, x_held, x_val))
    before = {"user_held_out": accuracy(model, x_held, y_held), "base_validation": accuracy(model, x_val, y_val)}
    log.info("before: held-out clips %s, base validation %s", before["user_held_out"], before["base_validation"])

    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    name = name or f"finetuned-{stamp}"
    run_dir = work_dir / "finetune" / name
    run_dir.mkdir(parents=True, exist_ok=True)
    init = run_dir / "init.keras"
    model.save(init)
    # The replay sample is drawn as training draws it (rooms, microphones, noise, no-note noise up to the corpus
    # version's level), so fine-tuning keeps showing the model what made it robust, not only clean patches.
    maker = MixedMaker(x_user, y_user, training_maker(config, bank, low))
    phases = schedule(config.learning_rate * 0.1, config.transfer_head_epochs, config.transfer_block_epochs,
                      blocks=config.finetune_blocks)
    state = train_transfer(config, data_dir, run_dir, init, phases=phases, bank=bank, validation=(x_val, y_val), maker=maker)
    import keras

    tuned = keras.models.load_model(run_dir / "last.keras")
    after = {"user_held_out": accuracy(tuned, x_held, y_held), "base_validation": accuracy(tuned, x_val, y_val)}
    log.info("after: held-out clips %s, base validation %s", after["user_held_out"], after["base_validation"])

    representative, _ = maker.batch(np.random.default_rng(config.seed + 2), config.representative_patches)
    tflite = convert.to_int8_tflite(tuned, representative)
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{name}.tflite"
    report = {
        "created": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "base": str(base_weights),
        "clips_dir": str(clips_dir),
        "clips_used": len(good),
        "clips_held_out": len(held_clips),
        "held_out_files": [c.wav.name for c in held_clips],
        "skipped": [{"file": p.name, "why": why} for p, why in bad],
        "phases": state["phases"],
        "before": before,
        "after": after,
    }
    meta = convert.write_model(tflite, out, data_summary={"finetune": report}, metrics={}, version=name,
                               training={"epochs": len(state["history"]), "history": state["history"]}, low_spectrum=low)
    from model_build.evaluate import predict_tflite

    report["after"]["base_validation_int8"] = float(np.mean(predict_tflite(out, x_val) == y_val))
    meta["metrics"] = {"finetune": report}
    out.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")
    convert.save_float_weights(tuned, out.with_suffix(".weights.npz"))
    write_card(out.with_suffix(".md"), report)
    log.info("wrote %s (+ .json, .md, .weights.npz)", out)
    return report
