"""The Keras VGGish keeps the official layer names and shapes, so the AudioSet checkpoint fits it."""

import dataclasses

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


def test_a_grown_low_branch_starts_out_computing_what_the_one_input_model_did():
    import numpy as np

    from app.params import LOW_SPECTRUM
    from model_build.transfer import HEAD_PREFIXES
    from model_build.vggish import add_low_branch, takes_low_spectrum

    small = build_model(75, batch_norm=True)
    rng = np.random.default_rng(0)
    for layer in small.layers:  # not the initial weights: BatchNorm statistics and all
        layer.set_weights([rng.normal(0, 0.05, w.shape).astype(np.float32) + (1.0 if "variance" in v.path else 0.0)
                           for w, v in zip(layer.get_weights(), layer.weights)])
    grown = add_low_branch(small, LOW_SPECTRUM)
    assert not takes_low_spectrum(small) and takes_low_spectrum(grown) and add_low_branch(grown, LOW_SPECTRUM) is grown
    mel = rng.normal(0, 1, (3, 96, 64)).astype(np.float32)
    low = rng.uniform(0, 1, (3, *LOW_SPECTRUM.shape)).astype(np.float32)
    np.testing.assert_allclose(grown.predict({"log_mel": mel, "low_spectrum": low}, verbose=0), small.predict(mel, verbose=0),
                               atol=1e-5)
    branch = [layer.name for layer in grown.layers if layer.name.startswith("low_") and layer.weights]
    assert len(branch) == 5 and all(name.startswith(HEAD_PREFIXES) for name in branch)  # trains from the first phase


def test_a_model_grown_to_more_classes_names_what_it_named_and_nothing_new():
    """Version 10 (A0 to C8) grows from version 9 (B0 to C7): the classes both have keep their weights, the new ones
    start at no probability."""
    import numpy as np

    from app.notes import note_name
    from model_build.vggish import with_classes

    have = [note_name(m) for m in range(40, 50)] + ["none"]  # E2 to C#3
    want = [note_name(m) for m in range(38, 52)] + ["none"]  # D2 to D#3
    model = build_model(len(have), batch_norm=True)
    rng = np.random.default_rng(3)
    for layer in model.layers:
        layer.set_weights([rng.normal(0, 0.05, w.shape).astype(np.float32) + (1.0 if "variance" in v.path else 0.0)
                           for w, v in zip(layer.get_weights(), layer.weights)])
    grown = with_classes(model, have, want)
    assert with_classes(model, have, have) is model and int(grown.output.shape[-1]) == len(want)
    mel = rng.normal(0, 1, (4, 96, 64)).astype(np.float32)
    before, after = model.predict(mel, verbose=0), grown.predict(mel, verbose=0)
    kept = [want.index(label) for label in have]
    np.testing.assert_allclose(after[:, kept], before, atol=1e-6)
    assert after[:, [want.index(label) for label in want if label not in have]].max() < 1e-9
    with pytest.raises(ValueError, match="not among"):
        with_classes(model, have, want[3:])  # E2 would be lost


def test_low_params_come_from_the_model_and_an_input_of_another_shape_is_refused():
    from app.params import LOW_SPECTRUM
    from model_build.vggish import low_params

    assert low_params(build_model(75, low=LOW_SPECTRUM)) == LOW_SPECTRUM and low_params(build_model(75)) is None
    with pytest.raises(ValueError, match="cannot feed"):  # the periodicity channels of an experimental build
        low_params(build_model(75, low=dataclasses.replace(LOW_SPECTRUM, frames=8)))


def test_a_factorised_model_is_the_truncated_svd_of_the_full_one():
    import numpy as np

    from app.params import LOW_SPECTRUM
    from model_build.transfer import HEAD_PREFIXES
    from model_build.vggish import bottleneck_of, factorize

    full = build_model(75, batch_norm=True, low=LOW_SPECTRUM)
    rng = np.random.default_rng(0)
    for layer in full.layers:  # BatchNorm statistics too
        layer.set_weights([rng.normal(0, 0.05, w.shape).astype(np.float32) + (1.0 if "variance" in v.path else 0.0)
                           for w, v in zip(layer.get_weights(), layer.weights)])
    x = {"log_mel": rng.normal(0, 1, (3, 96, 64)).astype(np.float32),
         "low_spectrum": rng.uniform(0, 1, (3, *LOW_SPECTRUM.shape)).astype(np.float32)}
    # At full rank it computes what the full model did.
    np.testing.assert_allclose(factorize(full, 256).predict(x, verbose=0), full.predict(x, verbose=0), atol=1e-5)
    small = factorize(full, 8)
    assert bottleneck_of(full) is None and bottleneck_of(small) == 8
    assert small.count_params() < full.count_params() - 1_000_000
    for name in ("head_hidden", "low_hidden"):
        w = full.get_layer(name).get_weights()[0]
        u, s, vt = np.linalg.svd(w, full_matrices=False)
        product = small.get_layer(name.replace("hidden", "bottleneck")).get_weights()[0] @ small.get_layer(name).get_weights()[0]
        np.testing.assert_allclose(product, (u[:, :8] * s[:8]) @ vt[:8], atol=1e-5)
        np.testing.assert_array_equal(small.get_layer(name).get_weights()[1], full.get_layer(name).get_weights()[1])
    np.testing.assert_array_equal(small.get_layer("conv4_2").get_weights()[0], full.get_layer("conv4_2").get_weights()[0])
    assert all(n.startswith(HEAD_PREFIXES) for n in ("head_bottleneck", "low_bottleneck"))  # they train with the head
    with pytest.raises(ValueError, match="already has a bottleneck"):
        factorize(small, 4)
    with pytest.raises(ValueError, match="from 1 to 256"):
        factorize(full, 300)


def test_float_weights_keep_the_bottleneck(tmp_path):
    import numpy as np

    from app.notes import class_labels
    from model_build.convert import load_float_model, save_float_weights
    from model_build.vggish import bottleneck_of

    model = build_model(len(class_labels()), batch_norm=True, bottleneck=16)
    save_float_weights(model, tmp_path / "m.weights.npz")
    again = load_float_model(tmp_path / "m.weights.npz")
    assert bottleneck_of(again) == 16 and again.count_params() == model.count_params()
    for a, b in zip(again.get_weights(), model.get_weights()):  # stored as float16
        np.testing.assert_array_equal(a, b.astype(np.float16).astype(np.float32))


def test_float_weights_say_which_classes_they_are_and_older_ones_are_b0_to_c7(tmp_path):
    import json

    import numpy as np

    from app.model import NoteModel
    from app.notes import note_name
    from model_build.cli import DEFAULT_WEIGHTS
    from model_build.convert import save_float_weights, saved_labels

    assert saved_labels(DEFAULT_WEIGHTS) == NoteModel().labels  # version 9's file, saved before labels were kept
    labels = [note_name(m) for m in range(40, 50)] + ["none"]
    save_float_weights(build_model(len(labels)), tmp_path / "m.weights.npz", labels)
    assert saved_labels(tmp_path / "m.weights.npz") == labels
    with pytest.raises(ValueError, match="11 labels for a model of 12 classes"):
        save_float_weights(build_model(12), tmp_path / "n.weights.npz", labels)
    with np.load(tmp_path / "m.weights.npz") as z:  # as if saved before labels were kept, with another count
        arrays = {k: z[k] for k in z.files}
    spec = json.loads(str(arrays["__spec__"]))
    spec.pop("labels")
    np.savez(tmp_path / "old.weights.npz", **{**arrays, "__spec__": np.array(json.dumps(spec))})
    with pytest.raises(ValueError, match="no labels saved"):
        saved_labels(tmp_path / "old.weights.npz")
