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
"""

from __future__ import annotations

import keras
from keras import layers

from app.params import VGGISH, FrontEndParams

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
) -> keras.Model:
    """(batch, patch_frames, mel_bands) log-mel -> (batch, num_classes) softmax, output named "probs"."""
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
    x = layers.Dense(hidden, activation="relu", kernel_initializer="he_normal", name="head_hidden")(x)
    x = layers.Dropout(dropout, name="head_dropout2")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probs")(x)
    return keras.Model(inputs, outputs, name="pitchrec_vggish")
