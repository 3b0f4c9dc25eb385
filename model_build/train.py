"""Train the VGGish+head model on patches mixed on the fly from the training note bank.

Every epoch draws fresh patches with a seed derived from (build seed, epoch,
batch), so a run is reproducible and resumes exactly: after each epoch the model
with its optimizer state is saved to `<out>/last.keras` and the epoch number to
`<out>/state.json`; the best model by validation accuracy goes to `<out>/best.keras`.
Run it in the background with `nohup pitchrec-build train ... &`; running the
same command again resumes.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

from app.notes import class_labels
from model_build.config import BuildConfig
from model_build.augment import Augmenter
from model_build.corpus import NoteBank, PatchMaker, load_validation

log = logging.getLogger(__name__)


def train(config: BuildConfig, data_dir: Path, out_dir: Path, epochs: int | None = None) -> dict:
    """Train (or resume) into out_dir; returns the training history, one entry per epoch."""
    import keras

    from model_build.vggish import build_model

    keras.utils.set_random_seed(config.seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    epochs = epochs or config.epochs
    bank = NoteBank.load(data_dir / "bank.npz")
    augmenter = Augmenter(np.random.default_rng(config.seed + 5), config.room_impulse_responses) if config.augment else None
    maker = PatchMaker(bank.subset(~bank.validation), augmenter)
    x_val, y_val, _ = load_validation(data_dir)
    steps = config.train_patches_per_epoch // config.batch_size

    class Patches(keras.utils.PyDataset):
        def __init__(self, epoch: int):
            super().__init__(workers=1, use_multiprocessing=False)
            self.epoch = epoch

        def __len__(self) -> int:
            return steps

        def __getitem__(self, i: int):
            rng = np.random.default_rng([config.seed, self.epoch, i])
            return maker.batch(rng, config.batch_size)

        def on_epoch_end(self) -> None:
            self.epoch += 1

    state_path, last_path = out_dir / "state.json", out_dir / "last.keras"
    state = json.loads(state_path.read_text()) if state_path.exists() and last_path.exists() else {"epoch": 0, "history": []}
    if state["epoch"] > 0:
        model = keras.models.load_model(last_path)
        log.info("resuming from %s after epoch %d", last_path, state["epoch"])
    else:
        model = build_model(len(class_labels()), embedding_stack=config.embedding_stack, batch_norm=config.batch_norm)
        schedule = keras.optimizers.schedules.CosineDecay(config.learning_rate, decay_steps=steps * epochs, alpha=0.03)
        model.compile(
            optimizer=keras.optimizers.Adam(schedule, clipnorm=5.0),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
            jit_compile=False,  # XLA trains this model at half the speed on CPU
        )
    if state["epoch"] >= epochs:
        log.info("already trained for %d epochs", state["epoch"])
        return state

    class Checkpoint(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.time()

        def on_epoch_end(self, epoch, logs=None):
            logs = {k: float(v) for k, v in (logs or {}).items()}
            logs["seconds"] = round(time.time() - self.t0, 1)
            state["history"].append({"epoch": epoch + 1, **logs})
            best = max((h.get("val_accuracy", 0.0) for h in state["history"][:-1]), default=-1.0)
            if logs.get("val_accuracy", 0.0) > best:
                self.model.save(out_dir / "best.keras")
            self.model.save(last_path)
            state["epoch"] = epoch + 1
            state_path.write_text(json.dumps(state, indent=2))
            log.info("epoch %d: %s", epoch + 1, logs)

    model.fit(
        Patches(state["epoch"]),
        epochs=epochs,
        initial_epoch=state["epoch"],
        validation_data=(x_val, y_val),
        validation_batch_size=128,
        callbacks=[Checkpoint()],
        verbose=1 if sys.stderr.isatty() else 2,  # a progress bar in a terminal, a line per epoch in a log
    )
    return state
