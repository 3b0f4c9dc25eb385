"""VGGish in Keras, with the official layer names and shapes, and a note-classification head.

The trunk matches the AudioSet release (tensorflow/models research/audioset/vggish):
3x3 SAME ReLU convolutions conv1 (64), conv2 (128), conv3_1/conv3_2 (256),
conv4_1/conv4_2 (512), each group followed by a 2x2 max-pool, then optionally
the fc1_1/fc1_2 (4096) and fc2 (128) embedding stack. `CHECKPOINT_NAMES` maps
each Keras layer to the TF1 variable scope of the official checkpoint, so those
weights can be loaded into it.

By default each trunk convolution is followed by BatchNorm (layers `<conv>_bn`), which
the original lacks: trained from scratch on 2 cores it reaches in one epoch what the
plain stack reaches in three, and int8 conversion folds it into the convolution, so
inference costs nothing more. The convolutions keep their names, shapes and biases,
so checkpoint weights still load into them.

The shipped default head skips the 4096-wide stack (about 70% of the official
model's weights): a 1x1 convolution squeezes the 6x4x512 map to 6x4x`squeeze`
features, which keep their time and frequency position, then one dense layer and
a softmax over the note classes.

With `low` (LowSpectrumParams; models from version 4), a second input, the fine low-register
spectrum of app.features.low_spectrum, goes through a small branch of its own (1-D convolutions
along log frequency, layers `low_*`) whose features join the head's just before the softmax:
the log-mel patch cannot resolve the harmonics of notes below E2, this input can.
`add_low_branch` grows a one-input model into a two-input one that starts out computing exactly
what the first did.

With `bottleneck` r, each of the two hidden dense layers takes its input through a
linear r-wide layer first (`head_bottleneck`, `low_bottleneck`): a rank-r factorisation of the widest
matrices (3968x256 and 1536x256), which hold nearly a quarter of the weights and kept the int8 model above 5 MB.
`factorize` turns a full model into one by truncated SVD, the start that fine-tuning repairs.
"""

from __future__ import annotations


import keras
from keras import layers

import numpy as np

from app.params import LOW_SPECTRUM, VGGISH, FrontEndParams, LowSpectrumParams

# Keras layer name -> variable scope in the official vggish_model.ckpt.
CHECKPOINT_NAMES = {
    "conv1": "vggish/conv1",
    "conv2": "vggish/conv2",
    "conv3_1": "vggish/conv3/conv3_1",
    "conv3_2": "vggish/conv3/conv3_2",
    "conv4_1": "vggish/conv4/conv4_1",
    "conv4_2": "vggish/conv4/conv4_2",
    "fc1_1": "vggish/fc1/fc1_1",
    "fc1_2": "vggish/fc1/fc1_2",
    "fc2": "vggish/fc2",
}
TRUNK_BLOCKS = (("conv1",), ("conv2",), ("conv3_1", "conv3_2"), ("conv4_1", "conv4_2"))
EMBEDDING_LAYERS = ("fc1_1", "fc1_2", "fc2")


def build_model(
    num_classes: int,
    params: FrontEndParams = VGGISH,
    embedding_stack: bool = False,
    squeeze: int = 64,
    hidden: int = 256,
    dropout: float = 0.3,
    batch_norm: bool = False,
    low: LowSpectrumParams | None = None,
    bottleneck: int | None = None,
) -> keras.Model:
    """(batch, patch_frames, mel_bands) log-mel [and (batch, bins, frames) low spectrum] -> (batch, num_classes)
    softmax, output named "probs"."""
    inputs = keras.Input(shape=params.patch_shape, name="log_mel")
    x = layers.Reshape((*params.patch_shape, 1), name="add_channel")(inputs)
    for i, block in enumerate(TRUNK_BLOCKS, start=1):
        for name in block:
            width = {1: 64, 2: 128, 3: 256, 4: 512}[i]
            if batch_norm:
                # The conv keeps its official name, shape and bias; BN and ReLU are layers of their own.
                x = layers.Conv2D(width, 3, padding="same", kernel_initializer="he_normal", name=name)(x)
                x = layers.BatchNormalization(name=f"{name}_bn")(x)
                x = layers.ReLU(name=f"{name}_relu")(x)
            else:
                x = layers.Conv2D(width, 3, padding="same", activation="relu", kernel_initializer="he_normal", name=name)(x)
        x = layers.MaxPool2D(2, padding="same", name=f"pool{i}")(x)
    if embedding_stack:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(4096, activation="relu", name="fc1_1")(x)
        x = layers.Dense(4096, activation="relu", name="fc1_2")(x)
        x = layers.Dense(128, name="fc2")(x)  # the embedding: no activation, as in VGGish
        x = layers.ReLU(name="embedding_relu")(x)
    else:
        x = layers.Conv2D(squeeze, 1, activation="relu", kernel_initializer="he_normal", name="head_squeeze")(x)
        x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(dropout, name="head_dropout")(x)
    if bottleneck:
        x = layers.Dense(bottleneck, use_bias=False, name="head_bottleneck")(x)
    x = layers.Dense(hidden, activation="relu", kernel_initializer="he_normal", name="head_hidden")(x)
    x = layers.Dropout(dropout, name="head_dropout2")(x)
    if low is None:
        outputs = layers.Dense(num_classes, activation="softmax", name="probs")(x)
        return keras.Model(inputs, outputs, name="pitchrec_vggish")
    low_input = keras.Input(shape=low.shape, name="low_spectrum")
    y = low_input
    for i, (width, kernel, pool) in enumerate(LOW_BRANCH, start=1):
        y = layers.Conv1D(width, kernel, padding="same", activation="relu", kernel_initializer="he_normal",
                          name=f"low_conv{i}")(y)
        if pool:
            y = layers.MaxPool1D(2, name=f"low_pool{i}")(y)
    y = layers.Flatten(name="low_flatten")(y)
    y = layers.Dropout(dropout, name="low_dropout")(y)
    if bottleneck:
        y = layers.Dense(bottleneck, use_bias=False, name="low_bottleneck")(y)
    y = layers.Dense(hidden, activation="relu", kernel_initializer="he_normal", name="low_hidden")(y)
    y = layers.Dropout(dropout, name="low_dropout2")(y)
    x = layers.Concatenate(name="head_join")([x, y])
    outputs = layers.Dense(num_classes, activation="softmax", name="probs")(x)
    return keras.Model([inputs, low_input], outputs, name="pitchrec_vggish_low")


# The low branch: (filters, kernel along log frequency in quarter semitones, max-pool after) per 1-D convolution.
LOW_BRANCH = ((48, 7, False), (48, 7, True), (64, 7, True), (64, 5, False))


def takes_low_spectrum(model) -> bool:
    return any(t.name.startswith("low_spectrum") for t in model.inputs)


def low_params(model) -> LowSpectrumParams | None:
    """The settings of a model's low-spectrum input (None for a one-input model). ValueError for an input of another
    shape (the periodicity channels some experimental builds had)."""
    if not takes_low_spectrum(model):
        return None
    shape = tuple(int(d) for d in next(t for t in model.inputs if t.name.startswith("low_spectrum")).shape[1:])
    if shape != LOW_SPECTRUM.shape:
        raise ValueError(f"this model's low-spectrum input is {shape}, not {LOW_SPECTRUM.shape}: an experimental build "
                         "this version cannot feed")
    return LOW_SPECTRUM


def bottleneck_of(model) -> int | None:
    """The width of a model's bottleneck layers, or None for a model without."""
    names = {layer.name for layer in model.layers}
    return model.get_layer("head_bottleneck").units if "head_bottleneck" in names else None


def _architecture(model) -> dict:
    """build_model's keyword arguments that rebuild `model`'s layers (all but `low`)."""
    names = {layer.name for layer in model.layers}
    return {"embedding_stack": "fc1_1" in names,
            "squeeze": model.get_layer("head_squeeze").filters if "head_squeeze" in names else 64,
            "hidden": model.get_layer("head_hidden").units, "batch_norm": any(n.endswith("_bn") for n in names),
            "bottleneck": bottleneck_of(model)}


def factorize(model: keras.Model, rank: int) -> keras.Model:
    """A copy of a model without bottleneck, with one of width `rank`: every other layer's weights carried over, and each
    hidden dense kernel W (n x 256) replaced by its best rank-`rank` approximation U_r S_r V_r^T (truncated SVD), split
    as the bottleneck's kernel U_r S_r and the hidden layer's V_r^T. At full rank the copy computes what the model did."""
    if bottleneck_of(model) is not None:
        raise ValueError(f"this model already has a bottleneck ({bottleneck_of(model)} wide)")
    names = {layer.name for layer in model.layers}
    full_rank = min(min(model.get_layer(n).get_weights()[0].shape) for n in ("head_hidden", "low_hidden") if n in names)
    if not 0 < rank <= full_rank:
        raise ValueError(f"a bottleneck takes a width from 1 to {full_rank} (got {rank})")
    small = build_model(int(model.output.shape[-1]), **{**_architecture(model), "bottleneck": rank}, low=low_params(model))
    for layer in model.layers:
        if layer.weights and layer.name not in ("head_hidden", "low_hidden"):
            small.get_layer(layer.name).set_weights(layer.get_weights())
    for name in ("head_hidden", "low_hidden"):
        if name not in names:
            continue
        kernel, bias = model.get_layer(name).get_weights()
        u, s, vt = np.linalg.svd(kernel.astype(np.float64), full_matrices=False)
        small.get_layer(name.replace("hidden", "bottleneck")).set_weights([(u[:, :rank] * s[:rank]).astype(np.float32)])
        small.get_layer(name).set_weights([vt[:rank].astype(np.float32), bias])
    return small


def add_low_branch(model: keras.Model, low: LowSpectrumParams) -> keras.Model:
    """A two-input copy of a one-input model: every layer's weights carried over, the low branch newly initialised,
    and the softmax's weights from the low branch zero, so the new model's output equals the old one's."""
    if takes_low_spectrum(model):
        return model
    grown = build_model(int(model.output.shape[-1]), **_architecture(model), low=low)
    for layer in model.layers:
        if layer.weights and layer.name != "probs":
            grown.get_layer(layer.name).set_weights(layer.get_weights())
    kernel, bias = model.get_layer("probs").get_weights()
    new_kernel = np.zeros(grown.get_layer("probs").get_weights()[0].shape, np.float32)
    new_kernel[: len(kernel)] = kernel
    grown.get_layer("probs").set_weights([new_kernel, bias])
    return grown


NEW_CLASS_BIAS = -30.0  # a class a model grows starts this far below the others' logits: e^-30, so it changes nothing


def with_classes(model: keras.Model, have: list[str], want: list[str]) -> keras.Model:
    """A copy of `model`, whose classes are the labels `have`, with the classes `want` (app.notes.class_labels() of
    another range): every layer's weights carried over, each class in both moved to its place, a new class given
    zero weights and a bias NEW_CLASS_BIAS below the rest, so the copy names what the model named, with the same
    probabilities to within e^-30. Version 10 (A0 to C8) grows from version 9 (B0 to C7) this way. A class of
    `have` missing from `want` is a ValueError; the same labels return the model as it is."""
    if list(have) == list(want):
        return model
    lost = [label for label in have if label not in want]
    if lost:
        raise ValueError(f"the model's classes {lost} are not among the ones asked for")
    if int(model.output.shape[-1]) != len(have):
        raise ValueError(f"the model has {int(model.output.shape[-1])} classes, not the {len(have)} labels given")
    grown = build_model(len(want), **_architecture(model), low=low_params(model))
    for layer in model.layers:
        if layer.weights and layer.name != "probs":
            grown.get_layer(layer.name).set_weights(layer.get_weights())
    kernel, bias = model.get_layer("probs").get_weights()
    new_kernel = np.zeros((kernel.shape[0], len(want)), np.float32)
    new_bias = np.full(len(want), float(bias.min()) + NEW_CLASS_BIAS, np.float32)
    for i, label in enumerate(have):
        j = want.index(label)
        new_kernel[:, j], new_bias[j] = kernel[:, i], bias[i]
    grown.get_layer("probs").set_weights([new_kernel, new_bias])
    return grown
