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
from model_build.config import BuildConfig

log = logging.getLogger("pitchrec-build")

DEFAULT_OUT = DEFAULT_MODEL  # app/assets/pitchrec.tflite, inside the package
DEFAULT_WEIGHTS = DEFAULT_OUT.with_suffix(".weights.npz")  # the shipped model's float weights, to fine-tune from


def _paths(args) -> tuple[Path, Path, Path]:
    work = Path(args.work_dir)
    return work / "data", work / "train", work / "eval"


# Arguments -> BuildConfig fields (only those given).
_SETTINGS = {"epochs": "epochs", "learning_rate": "learning_rate", "average_epochs": "average_epochs",
             "mix_init": "init_mix", "draw_seed": "draw_seed", "bottleneck": "bottleneck", "distill": "distill",
             "head_epochs": "transfer_head_epochs", "trunk_blocks": "transfer_blocks"}
_SWITCHES = ("embedding_stack", "low_spectrum")  # flags that turn a field on
_FROM_INIT = ("mix_init", "distill", "head_epochs", "trunk_blocks")  # settings of training from --init


def _config(args) -> BuildConfig:
    """The build's config: the corpus the shipped model is made from (--quick: its tiny variant), with the
    arguments given; BuildConfig checks the values (ValueError)."""
    for name in _FROM_INIT:
        if getattr(args, name, None) is not None and not getattr(args, "init", None):
            raise ValueError(f"--{name.replace('_', '-')} is a setting of training from --init, and needs --init")
    changes = {field: getattr(args, name) for name, field in _SETTINGS.items() if getattr(args, name, None) is not None}
    changes |= {name: True for name in _SWITCHES if getattr(args, name, False)}
    return dataclasses.replace(BuildConfig.quick() if args.quick else BuildConfig(), **changes)


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
        raise ValueError(f"no VGGish variables found in {args.checkpoint}")
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
    """(name suffix, x, y, source) of each validation split present, its faded notes left out (as training scores)."""
    from model_build.corpus import VALIDATION_SPLITS, load_validation

    for split in VALIDATION_SPLITS:
        if (data_dir / f"{split}.npz").exists():
            yield ("" if split == "validation" else "-" + split.removeprefix("validation-")), *load_validation(data_dir, split, with_faded=False)


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
    training = {"epochs": len(history), "history": history, **({"average": state["average"]} if "average" in state else {}),
                **{k: state[k] for k in ("config", "augmentation") if k in state}}
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
        raise FileNotFoundError(f"{path} not found; run `{producer}` first (same --work-dir)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pitchrec-build", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--work-dir", default="build", help="where data, checkpoints and reports go (default: ./build)")
    common.add_argument("--quick", action="store_true", help="tiny data and one short epoch: a smoke test, not a model")
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
    except FileNotFoundError as e:  # a step run before the one it needs, a missing soundfont or clip folder, ...
        if args.verbose:
            raise
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
