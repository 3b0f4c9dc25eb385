"""The Keras VGGish keeps the official layer names and shapes, so the AudioSet checkpoint fits it."""

import pytest

keras = pytest.importorskip("keras")

from model_build.vggish import CHECKPOINT_NAMES, build_model  # noqa: E402

OFFICIAL_SHAPES = {  # vggish_model.ckpt: <scope>/weights
    "conv1": (3, 3, 1, 64),
    "conv2": (3, 3, 64, 128),
    "conv3_1": (3, 3, 128, 256),
    "conv3_2": (3, 3, 256, 256),
    "conv4_1": (3, 3, 256, 512),
    "conv4_2": (3, 3, 512, 512),
    "fc1_1": (12288, 4096),
    "fc1_2": (4096, 4096),
    "fc2": (4096, 128),
}


def test_trunk_layers_have_official_names_and_shapes():
    model = build_model(75)
    for name, shape in OFFICIAL_SHAPES.items():
        if name.startswith("fc"):
            continue
        kernel, bias = model.get_layer(name).get_weights()
        assert kernel.shape == shape and bias.shape == (shape[-1],)
    assert model.get_layer("pool4").output.shape[1:] == (6, 4, 512)
    assert model.output.shape[1:] == (75,)
    assert set(CHECKPOINT_NAMES) == set(OFFICIAL_SHAPES)


def test_embedding_stack_is_an_option_with_official_shapes():
    model = build_model(75, embedding_stack=True)
    for name in ("fc1_1", "fc1_2", "fc2"):
        assert model.get_layer(name).get_weights()[0].shape == OFFICIAL_SHAPES[name]
    assert model.count_params() > 70_000_000
    assert build_model(75).count_params() < 6_000_000
