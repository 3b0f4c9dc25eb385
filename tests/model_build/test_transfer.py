"""Transfer learning: the official checkpoint's variables land in the right layers; a frozen trunk stays put."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from app.notes import class_labels  # noqa: E402
from model_build.cli import main  # noqa: E402
from model_build.transfer import Phase, import_checkpoint, read_checkpoint, schedule, set_trainable  # noqa: E402
from model_build.vggish import CHECKPOINT_NAMES, TRUNK_BLOCKS, build_model  # noqa: E402

from .test_vggish import OFFICIAL_SHAPES  # noqa: E402


def write_official_checkpoint(prefix, with_embedding=True, seed=0):
    """A TF1 name-based checkpoint with the official VGGish variable names and shapes, random values."""
    rng = np.random.default_rng(seed)
    values = {}
    for layer, scope in CHECKPOINT_NAMES.items():
        if layer.startswith("fc") and not with_embedding:
            continue
        shape = OFFICIAL_SHAPES[layer]
        values[f"{scope}/weights"] = rng.standard_normal(shape).astype(np.float32) * 0.01
        values[f"{scope}/biases"] = rng.standard_normal(shape[-1]).astype(np.float32)
    values["global_step"] = np.array(123, np.int64)
    variables = {name: tf.Variable(v, name=name.replace("/", "_")) for name, v in values.items()}
    tf.compat.v1.train.Saver(var_list=variables).save(None, str(prefix))
    return values


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    prefix = tmp_path_factory.mktemp("ckpt") / "vggish_model.ckpt"
    return prefix, write_official_checkpoint(prefix)


def test_every_checkpoint_value_lands_in_its_layer(checkpoint):
    prefix, values = checkpoint
    read = read_checkpoint(prefix)
    assert set(read) == set(values)
    model = build_model(len(class_labels()), embedding_stack=True)
    report = import_checkpoint(model, read)
    assert set(report.mapped) == set(CHECKPOINT_NAMES) and not report.missing
    assert report.unused == ["global_step"]
    for layer, scope in CHECKPOINT_NAMES.items():
        kernel, bias = model.get_layer(layer).get_weights()
        np.testing.assert_array_equal(kernel, values[f"{scope}/weights"])
        np.testing.assert_array_equal(bias, values[f"{scope}/biases"])


def test_trunk_only_model_reports_the_embedding_stack_as_unused(checkpoint):
    prefix, _ = checkpoint
    model = build_model(len(class_labels()))
    report = import_checkpoint(model, read_checkpoint(prefix))
    assert set(report.mapped) == {name for block in TRUNK_BLOCKS for name in block}
    assert {"vggish/fc1/fc1_1/weights", "vggish/fc2/biases", "global_step"} <= set(report.unused)


def test_wrong_shapes_and_unreadable_files_are_clear_errors(tmp_path, checkpoint):
    prefix, _ = checkpoint
    read = read_checkpoint(prefix)
    read["vggish/conv2/weights"] = np.zeros((3, 3, 1, 128), np.float32)
    with pytest.raises(ValueError, match="conv2"):
        import_checkpoint(build_model(75), read)
    (tmp_path / "junk.ckpt.index").write_bytes(b"not a checkpoint")
    with pytest.raises(FileNotFoundError, match="not a readable"):
        read_checkpoint(tmp_path / "junk.ckpt")


def test_import_vggish_command_writes_a_model(tmp_path, checkpoint):
    import keras

    prefix, values = checkpoint
    out = tmp_path / "pretrained.keras"
    assert main(["import-vggish", str(prefix), "--out", str(out)]) == 0
    model = keras.models.load_model(out)
    np.testing.assert_array_equal(model.get_layer("conv4_2").get_weights()[0], values["vggish/conv4/conv4_2/weights"])


def test_schedule_unfreezes_top_down_at_falling_rates():
    phases = schedule(1e-3, head_epochs=2, block_epochs=1)
    assert [p.name for p in phases] == ["head", "+conv4_1+conv4_2", "+conv3_1+conv3_2", "+conv2", "+conv1"]
    rates = [p.learning_rate for p in phases]
    assert rates == sorted(rates, reverse=True) and len(set(rates)) == len(rates)
    model = build_model(75, batch_norm=True)
    set_trainable(model, phases[1])
    trainable = {layer.name for layer in model.layers if layer.trainable and layer.weights}
    assert trainable == {"conv4_1", "conv4_1_bn", "conv4_2", "conv4_2_bn", "head_squeeze", "head_hidden", "probs"}


def test_schedule_gives_the_last_phase_its_own_length():
    phases = schedule(1e-3, head_epochs=2, block_epochs=1, decay=0.7, final_epochs=3)
    assert [p.epochs for p in phases] == [2, 1, 1, 1, 3]
    assert phases[-1].learning_rate == pytest.approx(1e-3 * 0.7**4)


def test_schedule_can_unfreeze_only_the_top_blocks():
    assert [p.name for p in schedule(1e-3, 4, 1, blocks=0)] == ["head"]
    assert [p.epochs for p in schedule(1e-3, 4, 1, blocks=0, final_epochs=3)] == [4]
    top = schedule(1e-3, 2, 1, final_epochs=3, blocks=1)
    assert [p.name for p in top] == ["head", "+conv4_1+conv4_2"] and top[-1].epochs == 3
    with pytest.raises(ValueError, match="0 to 4"):
        schedule(1e-3, 2, 1, blocks=5)


def test_frozen_trunk_does_not_change_in_the_head_phase():
    import keras

    model = build_model(75, batch_norm=True)
    set_trainable(model, Phase("head", ("head_", "probs"), 1e-3, 1))
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    trunk = {layer.name: [w.copy() for w in layer.get_weights()] for layer in model.layers if layer.name.startswith("conv")}
    head = [w.copy() for w in model.get_layer("probs").get_weights()]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 96, 64)).astype(np.float32)
    y = rng.integers(0, 75, 16)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    for name, before in trunk.items():  # BatchNorm's moving statistics included
        for b, a in zip(before, model.get_layer(name).get_weights()):
            np.testing.assert_array_equal(a, b, err_msg=name)
    assert any(not np.array_equal(b, a) for b, a in zip(head, model.get_layer("probs").get_weights()))
