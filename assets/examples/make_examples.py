"""Makes the example files beside this script (needs the `train` extra for the synthesizer):

    python assets/examples/make_examples.py

guitar-open-strings.flac: a guitar's six open strings, E2 A2 D3 G3 B3 E4, 1.2 s each,
plucked by model_build's synthesizer at 44.1 kHz.
"""

from pathlib import Path

import numpy as np
import soundfile

from app.notes import midi_from_name
from model_build.synth import synthesize

RATE = 44100


def main() -> None:
    rng = np.random.default_rng(7)
    notes = [synthesize(rng, "pluck", midi_from_name(n), 1.2, RATE)[0] for n in ("E2", "A2", "D3", "G3", "B3", "E4")]
    audio = np.concatenate([np.zeros(RATE // 4, np.float32), *notes]) * 0.5
    soundfile.write(Path(__file__).with_name("guitar-open-strings.flac"), audio, RATE, subtype="PCM_16")


if __name__ == "__main__":
    main()
