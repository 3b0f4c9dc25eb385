"""Pitchrec: live note recognition and tuning. Never imports TensorFlow or librosa."""

__version__ = "0.1.0"
