"""Train the VGGish+head model on patches mixed on the fly from the training note bank.

Two ways in:
- `train`: from scratch, all layers, one cosine-decayed learning rate;
- `train_transfer`: from pretrained weights (the AudioSet checkpoint imported with
  `pitchrec-build import-vggish`, or an earlier Pitchrec model), in phases: the
  head alone with the trunk frozen, then the trunk's blocks unfrozen top-down,
  each at a lower learning rate (model_build.transfer.schedule). Each phase's
  validation accuracy is recorded.

Every epoch draws fresh patches with a seed derived from (build seed, epoch, batch), so
a run is reproducible and resumes exactly: after each epoch the model with its optimizer
state is saved to `<out>/last.keras`, the random states .keras does not keep to
`<out>/last-random.json` and the progress to `<out>/state.json` (a run stopped inside a
phase goes on with the optimizer as it was); the best model goes to `<out>/best.keras`:
the one that names a note on the fewest of the validation split's no-note patches, and
among those the most accurate (`is_best`). A product that must never show a note on
silence or noise does not take a checkpoint that does for a few tenths of a point of
accuracy. One false note either way is within chance (FALSE_NOTES_CHANCE): there
accuracy decides, or a head-only epoch with none would beat a far better model with one
(issue 27's candidate B: 94.7% against 95.9%).

With `average_epochs` N > 1, each epoch's weights are also kept (`<out>/epoch-NN.npz`,
the last N only), and after the last epoch the mean of the last N (stochastic weight
averaging) is scored as one more candidate, judged by the same rule; the state records it
as "average". With `init_mix` a (transfer only), that mean moves a share a of the way back
to the weights training started from (`<out>/start.npz`): (1 - a) mean + a start,
the weight-space ensemble of a fine-tuned model and its starting point (WiSE-FT, Wortsman
et al. 2022), which keeps more of what the start knew about sounds the new draws did not
hold. Both start from one model, so their weights lie in one basin and the mixture is a
model of its own, not an ensemble that costs two inferences.

Run it in the background with `nohup pitchrec-build train ... &`; running the
same command again resumes.

Distribution: models are built and compiled under `distribute_strategy()`, a
tf.distribute strategy chosen from the machine: MultiWorkerMirroredStrategy when
TF_CONFIG describes a cluster, MirroredStrategy over several GPUs, else the
default (one device). The same code trains on this 2-core machine, one multi-GPU
machine, or several workers.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

from app.notes import class_labels, label_index
from app.params import LowSpectrumParams
from model_build.augment import Augmenter, training_probabilities
from model_build.config import BuildConfig
from model_build.corpus import NoteBank, PatchMaker, load_validation, model_inputs, select_patches

log = logging.getLogger(__name__)


def distribute_strategy():
    import tensorflow as tf

    if os.environ.get("TF_CONFIG"):
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def training_maker(config: BuildConfig, bank: NoteBank, low: LowSpectrumParams | None) -> PatchMaker:
    """The patches training draws from the bank's training notes, augmented and mixed as the config says (its no-note
    noise, also starting after silence; the low register's weight). Fine-tuning's replay draws the same.

    low: the model's low-spectrum settings (config.low_params, vggish.low_params), or None for none."""
    augmenter = None
    if config.augment:
        augmenter = Augmenter(np.random.default_rng(config.seed + 5), config.room_impulse_responses, training_probabilities(config))
    return PatchMaker(bank.subset(~bank.validation), augmenter, low_register_boost=config.low_register_boost,
                      low=low, noise_onsets=True, no_note_loudest_db=config.no_note_loudest_db,
                      no_note_quietest_db=config.no_note_quietest_db)


def false_note_rate(model, x_val, y_val) -> float | None:
    """The share of the validation patches labelled no note that `model` names a note (None if there are none)."""
    from model_build.vggish import low_params

    none = np.flatnonzero(y_val == label_index(None))
    if not len(none):
        return None
    probs = model.predict(model_inputs(select_patches(x_val, none), low_params(model)), batch_size=128, verbose=0)
    return float(np.mean(np.argmax(probs, axis=-1) != label_index(None)))


FALSE_NOTES_CHANCE = 1  # false notes on the validation no-note patches: a difference of this many or fewer is chance


def is_best(history: list[dict], no_note_patches: int | None = None) -> bool:
    """Whether the newest epoch beats the best before it, the epochs taken in order as the checkpoint takes them: it
    names a note on more than FALSE_NOTES_CHANCE fewer of the validation split's `no_note_patches` no-note patches,
    or on about as many (all as few, if their number is not given) and it is more accurate. A split without no-note
    patches (no false-note figure) counts none."""
    tolerance = FALSE_NOTES_CHANCE / no_note_patches + 1e-9 if no_note_patches else 0.0

    def beats(new: dict, old: dict) -> bool:
        a, b = new.get("val_false_notes", 0.0), old.get("val_false_notes", 0.0)
        return a < b if abs(a - b) > tolerance else new["val_accuracy"] > old["val_accuracy"]

    best = history[0]
    for h in history[1:]:
        if beats(h, best):
            best = h
    return best is history[-1]


def average_weights(weight_lists: list[list[np.ndarray]], shares: list[float] | None = None) -> list[np.ndarray]:
    """The element-wise mean of several models' weights (each a `model.get_weights()` of one architecture), each model
    counting its share (default: equal; shares sum to 1). BatchNorm's moving statistics are averaged like the rest:
    models fine-tuned from one start barely differ in them."""
    return [np.average(np.asarray(ws, dtype=np.float64), axis=0, weights=shares).astype(ws[0].dtype)
            for ws in zip(*weight_lists)]


def save_weights(model, path: Path) -> None:
    """A model's weights (`get_weights()`, float32, no optimizer state) to an .npz file."""
    np.savez(path, *model.get_weights())


def load_weights(path: Path) -> list[np.ndarray]:
    """The weights `save_weights` wrote, in `get_weights()` order."""
    with np.load(path) as z:
        return [z[f"arr_{i}"] for i in range(len(z.files))]


def one_hot(y: np.ndarray) -> np.ndarray:
    """(N,) class indices -> (N, classes) float32 one-hot rows."""
    return np.eye(len(class_labels()), dtype=np.float32)[np.asarray(y)]


def soft_targets(y: np.ndarray, teacher_probs: np.ndarray, share: float) -> np.ndarray:
    """Training targets that are the teacher's class probabilities to `share` and the one-hot labels to the rest."""
    return ((1.0 - share) * one_hot(y) + share * np.asarray(teacher_probs)).astype(np.float32)


def _patches(config: BuildConfig, maker: PatchMaker, steps: int, first_epoch: int, teacher=None):
    import keras

    from model_build.vggish import low_params

    class Patches(keras.utils.PyDataset):
        def __init__(self, epoch: int):
            super().__init__(workers=1, use_multiprocessing=False)
            self.epoch = epoch

        def __len__(self) -> int:
            return steps

        def __getitem__(self, i: int):
            rng = np.random.default_rng([config.seed if config.draw_seed is None else config.draw_seed, self.epoch, i])
            batch = maker.batch(rng, config.batch_size)
            if teacher is None:
                return batch
            x, y = batch
            probs = teacher(model_inputs(x, low_params(teacher)), training=False)
            return x, soft_targets(y, probs, config.distill)

        def on_epoch_end(self) -> None:
            self.epoch += 1

    return Patches(first_epoch)


class _Run:
    """The pieces every training run shares: data, validation, checkpoint state."""

    def __init__(self, config: BuildConfig, data_dir: Path, out_dir: Path, bank: NoteBank | None = None,
                 validation: tuple[np.ndarray, np.ndarray] | None = None, maker=None, soft: bool = False):
        import keras

        keras.utils.set_random_seed(config.seed)
        self.config = config
        self.out_dir = out_dir
        out_dir.mkdir(parents=True, exist_ok=True)
        if maker is None:  # patches from the bank's training notes; else the caller's (anything with .batch(rng, size))
            bank = bank if bank is not None else NoteBank.load(data_dir / "bank.npz")
            maker = training_maker(config, bank, config.low_params)
        self.maker = maker
        if validation is None:
            x_val, y_val, _ = load_validation(data_dir, with_faded=False)
            validation = (x_val, y_val)
        self.validation = validation
        self.no_note_patches = int(np.sum(np.asarray(validation[1]) == label_index(None)))  # is_best's chance
        self.steps = max(1, config.train_patches_per_epoch // config.batch_size)
        self.soft = soft  # trained on class distributions (train_transfer's distillation), not class indices
        self.teacher = None  # with soft targets, train_transfer's teacher (the init model as it came), once built
        self._python_random = None  # Python's random state from the checkpoint, for the next fit
        self.state_path, self.last_path = out_dir / "state.json", out_dir / "last.keras"
        fresh = {"epoch": 0, "history": []}
        self.state = json.loads(self.state_path.read_text()) if self.state_path.exists() and self.last_path.exists() else fresh
        # A run resumes only with the settings it began with (but its length: --epochs trains on to a new total):
        # another command's settings would be written over its record, and its model converted as if made with them.
        now = json.loads(json.dumps(dataclasses.asdict(config)))  # as state.json holds them (tuples as lists)
        then = self.state.get("config") or {}
        differ = [f"{k} {then[k]} (now {now[k]})" for k in sorted(set(then) & set(now) - {"epochs"})
                  if then[k] != now[k]]
        if self.state["epoch"] and differ:
            raise ValueError(f"{out_dir} holds a run made with other settings: " + "; ".join(differ)
                             + "; remove it or train in another --work-dir")
        # The settings this run trains with (the data manifest has the data step's): the model's metadata records them.
        self.state["config"] = now
        self.state["augmentation"] = dataclasses.asdict(training_probabilities(config)) if config.augment else None

    def checkpoint(self, phase: str | None = None):
        import keras

        run = self

        class Checkpoint(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self.t0 = time.time()

            def on_epoch_end(self, epoch, logs=None):
                logs = {k: float(v) for k, v in (logs or {}).items()}
                logs["seconds"] = round(time.time() - self.t0, 1)
                false_notes = false_note_rate(self.model, *run.validation)
                if false_notes is not None:
                    logs["val_false_notes"] = false_notes
                history = run.state["history"]
                history.append({"epoch": len(history) + 1, **({"phase": phase} if phase else {}), **logs})
                if is_best(history, run.no_note_patches):
                    self.model.save(run.out_dir / "best.keras")
                run.save_last(self.model)
                if run.keeps_epochs:
                    save_weights(self.model, run.epoch_weights(len(history)))
                    run.epoch_weights(len(history) - run.config.average_epochs).unlink(missing_ok=True)
                run.state["epoch"] = len(history)
                run.save_state()
                log.info("epoch %d%s: %s", len(history), f" ({phase})" if phase else "", logs)

        return Checkpoint()

    def save_state(self) -> None:
        self.state_path.write_text(json.dumps(self.state, indent=2))

    def save_last(self, model) -> None:
        """The checkpoint a rerun resumes from: the model with its optimizer's state, and the random states training
        draws from that .keras does not keep (its dropout layers', and Python's, from which fit shuffles each epoch's
        batches), so that a resumed run goes on exactly as if it had not stopped. The epoch is written with them: a
        run killed between the files is not resumed with another epoch's."""
        model.save(self.last_path)
        version, internal, gauss = random.getstate()
        self.random_path.write_text(json.dumps({
            "epoch": len(self.state["history"]), "python": [version, list(internal), gauss],
            "dropout": [np.asarray(v).tolist() for v in _seed_states(model)]}))

    def load_last(self):
        """The checkpoint's model, its dropout layers' random states restored; Python's is restored by `fit`, once
        every model the run needs is built (building one draws from it)."""
        import keras

        model = keras.models.load_model(self.last_path)
        saved = json.loads(self.random_path.read_text()) if self.random_path.exists() else None
        if saved is not None and saved.get("epoch") != self.state["epoch"]:
            log.warning("%s is not of the checkpoint's epoch %d: resuming with other random draws", self.random_path,
                        self.state["epoch"])
            saved = None
        if saved is not None:
            version, internal, gauss = saved["python"]
            self._python_random = (version, tuple(internal), gauss)
            states = _seed_states(model)
            if len(saved["dropout"]) == len(states):
                for v, value in zip(states, saved["dropout"]):
                    v.assign(np.asarray(value, dtype=np.asarray(v).dtype))
        return model

    @property
    def random_path(self) -> Path:
        return self.out_dir / "last-random.json"

    @property
    def keeps_epochs(self) -> bool:
        """Whether each epoch's weights are kept, for the average after the last epoch."""
        return self.config.average_epochs > 1 or self.config.init_mix > 0

    @property
    def averaging_due(self) -> bool:
        return self.keeps_epochs and "average" not in self.state and len(self.state["history"]) >= self.config.average_epochs

    def epoch_weights(self, epoch: int) -> Path:
        return self.out_dir / f"epoch-{epoch:02d}.npz"

    def average(self, model) -> None:
        """Score the mean of the last config.average_epochs epochs' weights, moved config.init_mix of the way back to
        the starting weights, once, after the last epoch; keep it as best.keras if it beats every epoch (`is_best`).
        Recorded in state["average"]."""
        from model_build.vggish import low_params

        n, mix, history = self.config.average_epochs, self.config.init_mix, self.state["history"]
        if not self.averaging_due:
            return
        epochs = [h["epoch"] for h in history[-n:]]
        paths = [self.epoch_weights(e) for e in epochs] + ([self.start_weights] if mix else [])
        if not all(p.exists() for p in paths):
            log.warning("cannot average %s: not all in %s", [p.name for p in paths], self.out_dir)
            return
        model.set_weights(average_weights([load_weights(p) for p in paths], [(1.0 - mix) / n] * n + ([mix] if mix else [])))
        x_val, y_val = self.validation
        scores = model.evaluate(model_inputs(x_val, low_params(model)), self.validation_targets(y_val), batch_size=128,
                                verbose=0, return_dict=True)
        entry = {"of_epochs": epochs, **({"init_mix": mix} if mix else {}), **{f"val_{k}": float(v) for k, v in scores.items()}}
        false_notes = false_note_rate(model, x_val, y_val)
        if false_notes is not None:
            entry["val_false_notes"] = false_notes
        entry["kept"] = is_best([*history, entry], self.no_note_patches)
        if entry["kept"]:
            model.save(self.out_dir / "best.keras")
        self.state["average"] = entry
        self.save_state()
        log.info("average of epochs %s: %s", epochs, entry)

    @property
    def start_weights(self) -> Path:
        return self.out_dir / "start.npz"

    def validation_targets(self, y_val: np.ndarray) -> np.ndarray:
        """The validation labels in the form the loss takes: class indices, or one-hot when distilling (soft targets)."""
        return one_hot(y_val) if self.soft else y_val

    def fit(self, model, first_epoch: int, epochs: int, phase: str | None = None) -> None:
        from model_build.vggish import low_params

        x_val, y_val = self.validation
        if self._python_random is not None:  # resumed: fit shuffles the batches as the run that stopped would have
            random.setstate(self._python_random)
            self._python_random = None
        model.fit(
            _patches(self.config, self.maker, self.steps, first_epoch, self.teacher),
            epochs=epochs,
            initial_epoch=first_epoch,
            validation_data=(model_inputs(x_val, low_params(model)), self.validation_targets(y_val)),
            validation_batch_size=128,
            callbacks=[self.checkpoint(phase)],
            verbose=1 if sys.stderr.isatty() else 2,  # a progress bar in a terminal, a line per epoch in a log
        )


def _seed_states(model) -> list:
    """The model's random-number states (its dropout layers'), in the model's order."""
    return [v for v in model.variables if v.path.endswith("seed_generator_state")]


def _carry_optimizer_state(source, model) -> None:
    """Give the model's newly compiled optimizer the variables of `source`, the optimizer a checkpoint was loaded
    with (the same trainable weights, in the same order)."""
    model.optimizer.build(model.trainable_variables)
    theirs, ours = source.variables, model.optimizer.variables
    if [tuple(v.shape) for v in theirs] != [tuple(v.shape) for v in ours]:
        raise ValueError("the checkpoint's optimizer does not match this phase's trainable weights")
    for mine, saved in zip(ours, theirs):
        mine.assign(saved)


def _compile(model, learning_rate, soft: bool = False) -> None:
    """Adam and cross-entropy, on class indices or (soft) on class distributions; "accuracy" is named so either way."""
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate, clipnorm=5.0),
        loss="categorical_crossentropy" if soft else "sparse_categorical_crossentropy",
        metrics=[keras.metrics.CategoricalAccuracy(name="accuracy") if soft else "accuracy"],
        jit_compile=False,  # XLA trains this model at half the speed on CPU
    )


def train(config: BuildConfig, data_dir: Path, out_dir: Path, epochs: int | None = None) -> dict:
    """Train from scratch (or resume) into out_dir; returns the training state with its history."""
    import keras

    from model_build.vggish import build_model

    run = _Run(config, data_dir, out_dir)
    epochs = epochs or config.epochs
    if run.state["epoch"] >= epochs:
        log.info("already trained for %d epochs", run.state["epoch"])
        if run.averaging_due:  # stopped between the last epoch and the average
            run.average(run.load_last())
        return run.state
    with distribute_strategy().scope():
        if run.state["epoch"] > 0:
            model = run.load_last()
            log.info("resuming from %s after epoch %d", run.last_path, run.state["epoch"])
        else:
            model = build_model(len(class_labels()), embedding_stack=config.embedding_stack, batch_norm=config.batch_norm,
                                low=config.low_params, bottleneck=config.bottleneck)
            _compile(model, keras.optimizers.schedules.CosineDecay(config.learning_rate, decay_steps=run.steps * epochs, alpha=0.03))
    run.fit(model, run.state["epoch"], epochs)
    run.average(model)
    return run.state


def train_transfer(config: BuildConfig, data_dir: Path, out_dir: Path, init_model: Path, phases=None, bank=None,
                   validation=None, maker=None) -> dict:
    """Fine-tune from the model in `init_model` (.keras, or .weights.npz from convert) through the freeze-then-unfreeze phases.

    With config.low_spectrum, a one-input init model first gets the low-spectrum branch (vggish.add_low_branch),
    which trains from the first phase on with the head. With config.bottleneck, an init model without one is then
    factorised to that width (vggish.factorize); its bottleneck layers train with the head.

    With config.distill a, the init model, as it came, is also the teacher (knowledge distillation, Hinton et al.
    2015): each training patch's target is a times the teacher's class probabilities plus (1 - a) times its one-hot
    label, so a factorised model learns to answer as the full one did, not only to name the labels.

    state["phases"] records each finished phase with its validation accuracy; a rerun resumes at the
    first unfinished phase (from last.keras). `phases` defaults to transfer.schedule from the config.
    """
    import keras

    from model_build.transfer import schedule, set_trainable
    from model_build.vggish import add_low_branch, bottleneck_of, factorize, low_params, with_classes

    run = _Run(config, data_dir, out_dir, bank, validation, maker, soft=config.distill > 0)
    phases = phases or schedule(config.learning_rate * 0.3, config.transfer_head_epochs, config.transfer_block_epochs,
                                config.embedding_stack, config.transfer_decay, config.transfer_final_epochs, config.transfer_blocks)
    done = run.state.setdefault("phases", [])
    if run.state["epoch"] and run.state.get("init_model", str(init_model)) != str(init_model):
        raise ValueError(f"{out_dir} holds a run from {run.state['init_model']}, not {init_model}; remove it or train "
                         "in another --work-dir")
    run.state["init_model"] = str(init_model)
    if done and "labels" not in run.state:  # a run from before states kept their classes: its model tells how many
        classes = int(keras.models.load_model(run.last_path).output.shape[-1])
        run.state["labels"] = class_labels() if classes == len(class_labels()) else ["?"] * classes
    labels = run.state.setdefault("labels", class_labels())
    if labels != class_labels():
        raise ValueError(f"{out_dir} holds a run of {len(labels)} classes, not this build's {len(class_labels())} "
                         f"({class_labels()[0]} to {class_labels()[-2]}); remove it or train in another --work-dir")
    if len(done) >= len(phases):
        log.info("all %d phases done", len(phases))
        if run.averaging_due:  # stopped between the last epoch and the average (scored on one-hot labels if soft)
            run.average(run.load_last())
        return run.state
    from model_build.convert import load_float_model, saved_labels

    def start():  # the init model, grown to this build's classes if it has fewer (version 9's B0-C7)
        return with_classes(load_float_model(init_model), saved_labels(init_model), class_labels())

    # A run that has trained an epoch goes on from its checkpoint (grown and factorised already), also when it stopped
    # inside its first phase.
    trained = run.state["epoch"] > 0
    with distribute_strategy().scope():
        model = run.load_last() if trained else start()
        if config.distill:
            run.teacher = start()
        if config.low_spectrum and not trained:
            model = add_low_branch(model, config.low_params)
        if maker is None and low_params(model) != config.low_params:
            raise ValueError(f"{init_model} takes a low spectrum {low_params(model)}; this build's patches are "
                             f"{config.low_params} (--low-spectrum)")
        if config.bottleneck and not trained and bottleneck_of(model) != config.bottleneck:
            if bottleneck_of(model) is not None:
                raise ValueError(f"{init_model} has a bottleneck {bottleneck_of(model)} wide; --bottleneck asks for "
                                 f"{config.bottleneck}")
            model = factorize(model, config.bottleneck)
    if config.init_mix and not trained:
        save_weights(model, run.start_weights)  # what the average moves back towards (grown, if it was)
    for i in range(len(done), len(phases)):
        phase = phases[i]
        # The epoch this phase ends with: a run stopped inside it trains only what is left of it, with the optimizer's
        # state (Adam's moments, its step count) as the checkpoint kept it, as if it had not stopped.
        first, end = run.state["epoch"], sum(p.epochs for p in phases[: i + 1])
        checkpointed = getattr(model, "optimizer", None) if first > end - phase.epochs else None  # stopped inside it
        set_trainable(model, phase)
        with distribute_strategy().scope():
            _compile(model, phase.learning_rate, soft=run.soft)
            if checkpointed is not None:
                _carry_optimizer_state(checkpointed, model)
        log.info("phase %s: %d epochs at learning rate %.2g, %d trainable weights", phase.name, end - first,
                 phase.learning_rate, sum(int(np.prod(w.shape)) for w in model.trainable_weights))
        if first < end:
            run.fit(model, first, end, phase.name)
        val = [h["val_accuracy"] for h in run.state["history"][:end] if "val_accuracy" in h]  # its last epoch's
        done.append({"phase": phase.name, "learning_rate": phase.learning_rate, "epochs": phase.epochs,
                     "val_accuracy": val[-1] if val else None})
        run.save_state()
    run.average(model)
    return run.state
