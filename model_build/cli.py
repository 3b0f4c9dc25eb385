"""pitchrec-build: make the note model. data -> train -> evaluate -> convert, or `all` for the four.

Every step reads and writes under --work-dir (default ./build), so steps can be
run one at a time, and `train` resumes where it stopped. `convert` writes the
int8 model and its metadata to --out (default: app/assets/pitchrec.tflite).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
from pathlib import Path

from app.model import DEFAULT_MODEL
from model_build.config import NO_NOTE_LOUDEST_DB_V5, NO_NOTE_QUIETEST_DB_V10, BuildConfig
from model_build.synth import FAMILIES_V2, FAMILIES_V3, FAMILIES_V5

log = logging.getLogger("pitchrec-build")

DEFAULT_OUT = DEFAULT_MODEL  # app/assets/pitchrec.tflite, inside the package
DEFAULT_WEIGHTS = DEFAULT_OUT.with_suffix(".weights.npz")  # the shipped model's float weights, to fine-tune from


def _paths(args) -> tuple[Path, Path, Path]:
    work = Path(args.work_dir)
    return work / "data", work / "train", work / "eval"


# Corpus versions, oldest first: each is the one before it with a change (see --corpus); `_config` builds them.
CORPORA = ("v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11")
DEFAULT_CORPUS = "v10"


def _config(args) -> BuildConfig:
    config = BuildConfig.quick() if args.quick else BuildConfig()
    corpus = getattr(args, "corpus", DEFAULT_CORPUS)
    since = lambda first: CORPORA.index(corpus) >= CORPORA.index(first)  # noqa: E731
    if since("v7"):  # v6's validation and no-note patches; more training patches in rooms and noise
        config = dataclasses.replace(config, room_p=0.6, noise_p=0.6)
    if since("v9"):  # v8's notes; pitch shifts up to 30 cents, synthesized notes by whole semitones only
        config = dataclasses.replace(config, shift_cents=30.0, shift_synth_cents=False)
    if since("v10"):  # v9 with training no-note levels from -70 dBFS, not -90
        config = dataclasses.replace(config, no_note_quietest_db=NO_NOTE_QUIETEST_DB_V10)
    if since("v11"):  # v10 with noise on more training patches (70%, not 60%), at 0-30 dB SNR, not 0-40
        config = dataclasses.replace(config, noise_p=0.7, snr_db=(0.0, 30.0))
    if since("v5") and not since("v8"):  # before corpus v8: no "pipes" synth family
        config = dataclasses.replace(config, synth_families=FAMILIES_V5)
    if not since("v6"):  # before corpus v6: quieter no-note noise
        config = dataclasses.replace(config, no_note_loudest_db=NO_NOTE_LOUDEST_DB_V5)
    if not since("v5"):  # before corpus v5: no noise onsets among the no-note patches
        config = dataclasses.replace(config, noise_onsets=False)
    if since("v3") and not since("v5"):  # before corpus v5: no "ranks" or "sparse" synth family
        config = dataclasses.replace(config, synth_families=FAMILIES_V3)
    if not since("v3"):  # before corpus v3: renders that sound below their key kept, no "hollow" synth family,
        # classes drawn evenly, the first transfer schedule
        config = dataclasses.replace(config, drop_sub_octave_notes=False, synth_families=FAMILIES_V2, low_register_boost=1.0,
                                     transfer_final_epochs=1, transfer_decay=0.5)
    if corpus == "v1":  # version 1's corpus: FluidR3 and the synthesizer, no augmentation
        config = dataclasses.replace(config, soundfonts=("fluidr3",), augment=False)
    if corpus == "v4":  # v3's notes and validation; a third of the note-onset training patches end 30-150 ms after it
        config = dataclasses.replace(config, short_tail_p=0.3, min_tail_s=0.03)
    if getattr(args, "epochs", None):
        config = dataclasses.replace(config, epochs=args.epochs)
    if getattr(args, "learning_rate", None) is not None:
        if not 0.0 < args.learning_rate < 1.0:
            raise SystemExit(f"pitchrec-build: --learning-rate takes a rate between 0 and 1 (got {args.learning_rate})")
        config = dataclasses.replace(config, learning_rate=args.learning_rate)
    if getattr(args, "average_epochs", None):
        config = dataclasses.replace(config, average_epochs=args.average_epochs)
    if getattr(args, "mix_init", None):
        if not 0.0 < args.mix_init < 1.0 or not getattr(args, "init", None):
            raise SystemExit(f"pitchrec-build: --mix-init takes a share between 0 and 1 (got {args.mix_init}) and needs --init")
        config = dataclasses.replace(config, init_mix=args.mix_init)
    if getattr(args, "draw_seed", None) is not None:
        config = dataclasses.replace(config, draw_seed=args.draw_seed)
    if getattr(args, "embedding_stack", False):
        config = dataclasses.replace(config, embedding_stack=True)
    if getattr(args, "low_spectrum", False):
        config = dataclasses.replace(config, low_spectrum=True)
    if getattr(args, "periodicity", False):
        if not config.low_spectrum:
            raise SystemExit("pitchrec-build: --periodicity is a channel of the low spectrum and needs --low-spectrum")
        config = dataclasses.replace(config, periodicity=True)
    if getattr(args, "bottleneck", None) is not None:
        if args.bottleneck < 1:
            raise SystemExit(f"pitchrec-build: --bottleneck takes a width of at least 1 (got {args.bottleneck})")
        config = dataclasses.replace(config, bottleneck=args.bottleneck)
    for flag in ("distill", "head_epochs", "trunk_blocks"):  # settings of training from --init
        if getattr(args, flag, None) is not None and not getattr(args, "init", None):
            raise SystemExit(f"pitchrec-build: --{flag.replace('_', '-')} is a transfer setting and needs --init")
    if getattr(args, "distill", None) is not None:
        if not 0.0 < args.distill <= 1.0:
            raise SystemExit(f"pitchrec-build: --distill takes a share above 0, up to 1 (got {args.distill})")
        config = dataclasses.replace(config, distill=args.distill)
    if getattr(args, "head_epochs", None) is not None:
        if args.head_epochs < 1:
            raise SystemExit(f"pitchrec-build: --head-epochs takes at least 1 (got {args.head_epochs})")
        config = dataclasses.replace(config, transfer_head_epochs=args.head_epochs)
    if getattr(args, "trunk_blocks", None) is not None:
        config = dataclasses.replace(config, transfer_blocks=args.trunk_blocks)
    return config


def cmd_data(args) -> None:
    from model_build.corpus import write_data

    data_dir, _, _ = _paths(args)
    manifest = write_data(_config(args), data_dir)
    log.info("wrote %s: %s", data_dir, json.dumps(manifest["bank"]["notes"]))


def cmd_train(args) -> None:
    from model_build.train import train, train_transfer

    data_dir, train_dir, _ = _paths(args)
    _require(data_dir / "bank.npz", "pitchrec-build data")
    if getattr(args, "init", None):
        _require(Path(args.init), "pitchrec-build import-vggish, or a trained model's best.keras")
        state = train_transfer(_config(args), data_dir, train_dir, Path(args.init))
        for p in state["phases"]:
            log.info("phase %-16s lr %.2g  %d epochs  validation accuracy %s", p["phase"], p["learning_rate"], p["epochs"],
                     "?" if p["val_accuracy"] is None else f"{p['val_accuracy']:.4f}")
    else:
        state = train(_config(args), data_dir, train_dir)
    if state["history"]:
        log.info("last epoch: %s", state["history"][-1])


def cmd_finetune(args) -> None:
    from model_build.finetune import finetune

    out = Path(args.out) if args.out else _user_models_dir()
    report = finetune(Path(args.clips), Path(args.base), out, Path(args.work_dir), _config(args), args.name)
    fmt = lambda v: "n/a" if v is None else f"{v:.2%}"  # noqa: E731
    for when in ("before", "after"):
        r = report[when]
        log.info("%-6s held-out clips %s, base validation %s", when, fmt(r["user_held_out"]), fmt(r["base_validation"]))


def _user_models_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("pitchrec", appauthor=False)) / "models"


def cmd_import_vggish(args) -> None:
    from app.notes import class_labels
    from model_build.transfer import import_checkpoint, read_checkpoint
    from model_build.vggish import build_model

    variables = read_checkpoint(args.checkpoint)
    # The original architecture (no BatchNorm), so the pretrained trunk computes what it was trained to.
    model = build_model(len(class_labels()), embedding_stack=args.embedding_stack, batch_norm=False)
    report = import_checkpoint(model, variables)
    for line in report.lines():
        log.info("%s", line)
    if not report.mapped:
        raise SystemExit(f"pitchrec-build: no VGGish variables found in {args.checkpoint}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(out)
    log.info("wrote %s; train from it with: pitchrec-build train --init %s", out, out)


def _trained_model(train_dir: Path):
    import keras

    path = train_dir / "best.keras"
    _require(path, "pitchrec-build train")
    return keras.models.load_model(path)


def _splits(data_dir: Path):
    """(name suffix, x, y, source) of each validation split present."""
    from model_build.corpus import VALIDATION_SPLITS, load_validation

    for split in VALIDATION_SPLITS:
        if (data_dir / f"{split}.npz").exists():
            yield ("" if split == "validation" else "-" + split.removeprefix("validation-")), *load_validation(data_dir, split)


def cmd_evaluate(args) -> None:
    from model_build.evaluate import predict_keras, write_report

    data_dir, train_dir, eval_dir = _paths(args)
    _require(data_dir / "validation.npz", "pitchrec-build data")
    _require(train_dir / "best.keras", "pitchrec-build train")
    model = _trained_model(train_dir)
    for suffix, x, y, source in _splits(data_dir):
        m = write_report(y, predict_keras(model, x), eval_dir, "float" + suffix, source)
        log.info("float model on %d validation%s patches: note accuracy %.4f, octave errors %.4f, no-note precision %.4f",
                 m["patches"], suffix, m["note_accuracy"], m["octave_error_rate"], m["no_note_precision"])


def cmd_convert(args) -> None:
    import numpy as np

    from model_build.convert import save_float_weights, to_int8_tflite, write_model
    from model_build.corpus import NoteBank, PatchMaker
    from model_build.evaluate import predict_keras, predict_tflite, write_report

    config = _config(args)
    data_dir, train_dir, eval_dir = _paths(args)
    _require(data_dir / "bank.npz", "pitchrec-build data")
    model = _trained_model(train_dir)
    bank = NoteBank.load(data_dir / "bank.npz")
    from model_build.vggish import low_params

    low = low_params(model)
    representative, _ = PatchMaker(bank.subset(~bank.validation), low=low).batch(
        np.random.default_rng(config.seed + 2), config.representative_patches)
    tflite = to_int8_tflite(model, representative)

    splits = list(_splits(data_dir))
    float_metrics = {suffix: write_report(y, predict_keras(model, x), eval_dir, "float" + suffix, source) for suffix, x, y, source in splits}
    out = Path(args.out)
    manifest = json.loads((data_dir / "manifest.json").read_text())
    state_path = train_dir / "state.json"
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    history = state.get("history", [])
    training = {"epochs": len(history), "history": history, **({"average": state["average"]} if "average" in state else {})}
    summary = lambda m: {k: v for k, v in m.items() if k not in ("per_class", "per_source")}  # noqa: E731
    # Write first with float metrics only, then score the written int8 file through the app's own loader.
    meta = write_model(tflite, out, manifest, {"float" + k: summary(m) for k, m in float_metrics.items()}, args.version,
                       training, low_spectrum=low)
    for suffix, x, y, source in splits:
        int8_metrics = write_report(y, predict_tflite(out, x), eval_dir, "int8" + suffix, source)
        meta["metrics"]["int8" + suffix] = summary(int8_metrics)
        if not suffix:
            meta["metrics"]["int8_per_class_accuracy"] = {k: round(v["accuracy"], 4) for k, v in int8_metrics["per_class"].items()}
            meta["metrics"]["int8_per_source_accuracy"] = {k: round(v["accuracy"], 4) for k, v in int8_metrics["per_source"].items()}
    out.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")
    save_float_weights(model, out.with_suffix(".weights.npz"))
    log.info("wrote %s (%d bytes): note accuracy float %.4f, int8 %.4f", out, len(tflite),
             float_metrics[""]["note_accuracy"], meta["metrics"]["int8"]["note_accuracy"])


def cmd_all(args) -> None:
    for step in (cmd_data, cmd_train, cmd_evaluate, cmd_convert):
        log.info("== %s", step.__name__[4:])
        step(args)


def _require(path: Path, producer: str) -> None:
    if not path.exists():
        raise SystemExit(f"pitchrec-build: {path} not found; run `{producer}` first (same --work-dir)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pitchrec-build", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--work-dir", default="build", help="where data, checkpoints and reports go (default: ./build)")
    common.add_argument("--quick", action="store_true", help="tiny data and one short epoch: a smoke test, not a model")
    common.add_argument("--corpus", choices=CORPORA, default=DEFAULT_CORPUS,
                        help="v11: v10 with noise on more training patches (70%%, not 60%%) and at 0-30 dB SNR, not 0-40, "
                        "so a third of the noise is at 10 dB or worse (v10: a quarter); v10 (default, how model version 9 is made): v9 with the training no-note noise drawn from -70 dBFS, not -90 (the app runs no model "
                        "below its -60 dBFS gate), so the noise it does hear is drawn more often; v9: v8's notes with "
                        "training pitch shifts of up to 30 cents, not 20, and synthesized notes "
                        "(detuned up to 49 cents already) shifted by whole semitones only, so no shift carries a note "
                        "past its label's half-semitone; v8 (how model version 8 is made): v7 plus the 'pipes' synth family (organ ranks "
                        "whose high harmonics speak first, the fundamental last, as a large pipe's do); v7: v6 with more "
                        "training patches in a room (60%%, not 40%%) and with noise (60%%, not 50%%); v6: v5 with "
                        "no-note noise in training up to -6 dBFS, not -15, so loud noise is not named a note; v5: v3 "
                        "plus two synth families, organ-like 'ranks' and 'sparse' random harmonic spectra (any subset "
                        "of the harmonics at any level), and no-note patches where noise starts after silence; "
                        "v4: v3's notes, with a third of the training patches that hold a note's onset ending "
                        "30-150 ms after it, so the model names a new note sooner; "
                        "v3: v2 without the renders that sound an octave or two below their key, "
                        "plus the 'hollow' synth family, low notes drawn twice as often, a longer last transfer phase; "
                        "v2: FluidR3 and MuseScore General, augmented; v1: FluidR3 only, no augmentation "
                        "(how model version 1 was made)")
    common.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    train_opts = argparse.ArgumentParser(add_help=False)
    train_opts.add_argument("--epochs", type=int, help="total epochs to train to (default from the build config)")
    train_opts.add_argument("--draw-seed", type=int, metavar="N",
                            help="seed of the training patches' draws (default: the build's seed); a further run from a "
                            "trained model with another N sees fresh patches, with the same notes and validation")
    train_opts.add_argument("--learning-rate", type=float, metavar="LR",
                            help="base learning rate (default 1e-3; from --init the head phase starts at 0.3 LR)")
    train_opts.add_argument("--average-epochs", type=int, metavar="N",
                            help="keep each epoch's weights and, after the last epoch, score the mean of the last N "
                            "(stochastic weight averaging); it becomes the best model if it beats every epoch")
    train_opts.add_argument("--embedding-stack", action="store_true",
                            help="put VGGish's 4096-4096-128 embedding stack before the head (large: not the shipped default)")
    train_opts.add_argument("--bottleneck", type=int, metavar="R",
                            help="take the head's two hidden dense layers' input through R linear units first, a "
                            "rank-R factorisation of their kernels (R = 32: the int8 model 4.92 MB, not 6.13); "
                            "with --init, a model without them is factorised by truncated SVD")
    train_opts.add_argument("--low-spectrum", action="store_true",
                            help="give the model a second input, a fine spectrum of the low register (how model version 4 "
                            "is made); with --init, a one-input model grows the branch that reads it")
    train_opts.add_argument("--periodicity", action="store_true",
                            help="with --low-spectrum: the low spectrum also carries its windows' periodicity (McLeod's "
                            "NSDF at each point's period, app.params.LOW_PERIODICITY); with --init, a model without it "
                            "grows the input channels, their weights zero, so it starts out answering as it did")
    init_opts = argparse.ArgumentParser(add_help=False)
    init_opts.add_argument("--init", metavar="MODEL",
                           help="start from these weights (.keras from import-vggish, or an earlier model's .keras or "
                           ".weights.npz) and train in phases: "
                           "head alone, then trunk blocks unfrozen top-down at falling learning rates")
    init_opts.add_argument("--mix-init", type=float, metavar="A",
                           help="with --init: the average after the last epoch (--average-epochs) moves this share of the "
                           "way back to the starting weights, (1 - A) average + A start (WiSE-FT)")
    init_opts.add_argument("--distill", type=float, metavar="A",
                           help="with --init: the init model teaches (knowledge distillation): each training target is A "
                           "times its class probabilities plus 1 - A times the one-hot label (with --bottleneck: the "
                           "smaller model learns to answer as the full one)")
    init_opts.add_argument("--head-epochs", type=int, metavar="N", help="with --init: epochs of the head phase (default 2)")
    init_opts.add_argument("--trunk-blocks", type=int, choices=range(5), metavar="N",
                           help="with --init: how many trunk blocks, top down, join after the head phase (default 4, "
                           "all; 0: the head alone trains and the trunk stays as it came)")
    convert_opts = argparse.ArgumentParser(add_help=False)
    convert_opts.add_argument("--out", default=str(DEFAULT_OUT), help=f"model file to write (default: {DEFAULT_OUT})")
    convert_opts.add_argument("--version", default="dev", help="version string for the metadata")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, func, parents, text in (
        ("data", cmd_data, [common], "render and synthesize the note bank and the fixed validation patches"),
        ("train", cmd_train, [common, train_opts, init_opts], "train, or resume training, the VGGish+head model"),
        ("evaluate", cmd_evaluate, [common], "score the trained float model on the validation patches"),
        ("convert", cmd_convert, [common, convert_opts], "int8 TFLite model + metadata; score float against int8"),
        ("all", cmd_all, [common, train_opts, init_opts, convert_opts], "data, train, evaluate and convert in one go"),
    ):
        p = sub.add_parser(name, parents=parents, help=text, description=text)
        p.set_defaults(func=func)
    p = sub.add_parser("import-vggish", parents=[common], help="load the official AudioSet VGGish checkpoint into the Keras model",
                       description="Map the official AudioSet vggish_model.ckpt (TF1 variable names) onto the Keras model, "
                       "report any variable not mapped, and save it for `train --init`.")
    p.add_argument("checkpoint", help="path of vggish_model.ckpt (the prefix of its .index/.data files)")
    p.add_argument("--embedding-stack", action="store_true", help="also load the 4096-4096-128 embedding stack")
    p.add_argument("--out", default="build/pretrained/vggish-audioset.keras", help="Keras model to write")
    p.set_defaults(func=cmd_import_vggish)
    p = sub.add_parser("finetune", parents=[common], help="fine-tune the model on your recorded clips",
                       description="Fine-tune on the window's recorded clips (WAV + JSON sidecars): part of the clips is held "
                       "out, a replay sample of the base corpus is mixed in, and the new model with its card goes to your "
                       "model folder, where the window can select it. Bad clips are listed and skipped.")
    p.add_argument("--clips", required=True, help="the clip folder (the window's Clips tab records into it)")
    p.add_argument("--base", default=str(DEFAULT_WEIGHTS), help="float weights to start from (.weights.npz or .keras; "
                   "default: the shipped model's)")
    p.add_argument("--out", help="folder for the new model (default: your pitchrec model folder)")
    p.add_argument("--name", help="name of the new model (default: finetuned-<time>)")
    p.set_defaults(func=cmd_finetune)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        args.func(args)
    except KeyboardInterrupt:
        log.error("interrupted; `train` resumes from its last checkpoint")
        return 130
    except FileNotFoundError as e:
        log.error("%s", e)
        return 1
    except ValueError as e:  # inputs that do not fit: a model of another shape, patches without an input it takes, ...
        if args.verbose:
            raise
        log.error("%s", e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
