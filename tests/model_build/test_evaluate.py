import numpy as np
import pytest

from app.notes import class_labels, label_index, note_name
from model_build.evaluate import class_map, metrics


def test_metrics_count_octave_errors_and_no_note_precision():
    a4, a5, a3, b4 = (label_index(m) for m in (69, 81, 57, 71))
    none = label_index(None)
    y_true = np.array([a4, a4, a4, a4, none, none, b4, b4])
    y_pred = np.array([a4, a5, a3, none, none, a4, b4, b4 + 1])
    m = metrics(y_true, y_pred)
    assert m["note_accuracy"] == pytest.approx(2 / 6)
    assert m["octave_error_rate"] == pytest.approx(2 / 6)
    assert m["semitone_error_rate"] == pytest.approx(1 / 6)
    assert m["no_note_precision"] == pytest.approx(1 / 2)
    assert m["no_note_recall"] == pytest.approx(1 / 2)
    assert m["false_note_rate"] == pytest.approx(1 / 2)
    assert m["per_class"]["A4"] == {"accuracy": 0.25, "patches": 4}


def test_a_narrower_models_classes_map_onto_the_builds():
    assert list(class_map(class_labels())) == list(range(len(class_labels())))  # the build's own: as they are
    narrow = [note_name(m) for m in range(40, 50)] + ["none"]  # E2 to C#3, and no note
    assert list(class_map(narrow)) == [label_index(m) for m in range(40, 50)] + [label_index(None)]
