"""Transfer learning: the official VGGish checkpoint into the Keras model, and the freeze-then-unfreeze schedule.

`import_checkpoint` reads a TF1 `vggish_model.ckpt` (variables `vggish/conv1/weights`,
`vggish/conv3/conv3_1/biases`, ..., `vggish/fc2/weights`) and copies each into the
Keras layer of the same official name (model_build.vggish.CHECKPOINT_NAMES). It
reports what it mapped, which model layers the checkpoint lacked, and which
checkpoint variables it did not use.

`schedule` lists the phases of fine-tuning from pretrained weights: first the head
alone with the trunk frozen, then the trunk's blocks unfrozen from the top down,
each phase at a lower learning rate than the one before.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from model_build.vggish import CHECKPOINT_NAMES, EMBEDDING_LAYERS, TRUNK_BLOCKS


@dataclasses.dataclass
class ImportReport:
    mapped: dict[str, str]  # Keras layer -> checkpoint scope
    missing: list[str]  # Keras layers with an official name that the checkpoint lacks
    unused: list[str]  # checkpoint variables not loaded (e.g. global_step, optimizer slots)

    def lines(self) -> list[str]:
        out = [f"mapped {len(self.mapped)} layers: " + ", ".join(f"{k} <- {v}" for k, v in self.mapped.items())]
        if self.missing:
            out.append("not in the checkpoint (left as initialised): " + ", ".join(self.missing))
        if self.unused:
            out.append("checkpoint variables not mapped: " + ", ".join(self.unused))
        return out


def read_checkpoint(path: Path | str) -> dict[str, np.ndarray]:
    """Every variable of a TF1 (name-based) checkpoint, by name."""
    import tensorflow as tf

    try:
        reader = tf.train.load_checkpoint(str(path))
    except (tf.errors.OpError, ValueError) as e:  # missing, truncated or not a checkpoint
        raise FileNotFoundError(f"not a readable TensorFlow checkpoint: {path} ({str(e).splitlines()[0]})") from None
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


def import_checkpoint(model, variables: dict[str, np.ndarray]) -> ImportReport:
    """Copy the official variables into `model`'s layers of the same official name. Shapes must match."""
    layer_names = {layer.name for layer in model.layers}
    mapped, missing, used = {}, [], set()
    for layer_name, scope in CHECKPOINT_NAMES.items():
        if layer_name not in layer_names:
            continue  # e.g. the embedding stack, when the model has none
        kernel, bias = f"{scope}/weights", f"{scope}/biases"
        if kernel not in variables or bias not in variables:
            missing.append(layer_name)
            continue
        layer = model.get_layer(layer_name)
        want = [w.shape for w in layer.get_weights()]
        got = [variables[kernel].shape, variables[bias].shape]
        if [tuple(s) for s in want] != [tuple(s) for s in got]:
            raise ValueError(f"{scope}: checkpoint shapes {got} do not fit layer {layer_name} {want}")
        layer.set_weights([variables[kernel], variables[bias]])
        mapped[layer_name] = scope
        used.update((kernel, bias))
    unused = sorted(set(variables) - used)
    return ImportReport(mapped, missing, unused)


@dataclasses.dataclass(frozen=True)
class Phase:
    name: str
    trainable: tuple[str, ...]  # layer-name prefixes that train in this phase
    learning_rate: float
    epochs: int


HEAD_PREFIXES = ("head_", "probs", "embedding_relu", "low_")  # low_: the low-spectrum branch, new in phase 1


def schedule(base_lr: float, head_epochs: int, block_epochs: int, embedding_stack: bool = False, decay: float = 0.5,
             final_epochs: int | None = None, blocks: int = len(TRUNK_BLOCKS)) -> list[Phase]:
    """Head alone, then each trunk block from the top down joins, each phase at `decay` times the last rate.

    Only the top `blocks` trunk blocks join (0: the head phase alone). The last phase runs `final_epochs` epochs
    (default: `block_epochs`) when it is a block's.
    """
    if not 0 <= blocks <= len(TRUNK_BLOCKS):
        raise ValueError(f"blocks: 0 to {len(TRUNK_BLOCKS)} (got {blocks})")
    trainable = HEAD_PREFIXES + (EMBEDDING_LAYERS if embedding_stack else ())
    phases = [Phase("head", trainable, base_lr, head_epochs)]
    lr = base_lr
    for i, block in enumerate(reversed(TRUNK_BLOCKS[len(TRUNK_BLOCKS) - blocks:])):
        lr *= decay
        trainable = trainable + block
        last = i == blocks - 1
        epochs = final_epochs if last and final_epochs is not None else block_epochs
        phases.append(Phase("+" + "+".join(block), trainable, lr, epochs))
    return phases


def set_trainable(model, phase: Phase) -> None:
    """Only layers whose name starts with one of the phase's prefixes train (BatchNorm goes with its conv)."""
    for layer in model.layers:
        layer.trainable = any(layer.name == p or layer.name.startswith(p) for p in phase.trainable)
