"""What goes into a build: sound sources, instrument ranges, the validation split, sizes.

Validation holds out whole General MIDI programs (in every soundfont) and whole
synthesizer families, so its accuracy is measured on timbres the model never trained on.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

FLUIDR3_SF2 = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")  # Debian fluid-soundfont-gm
MUSESCORE_SF3 = Path("/usr/share/sounds/sf3/MuseScore_General.sf3")  # Debian musescore-general-soundfont
# Source kind (the prefix of a note's source, "<kind>:<program>") -> soundfont file.
SOUNDFONTS = {"fluidr3": FLUIDR3_SF2, "musescore": MUSESCORE_SF3}


@dataclasses.dataclass(frozen=True)
class Program:
    number: int  # General MIDI program, 0-based
    name: str
    midi_lo: int
    midi_hi: int


# General MIDI programs over each instrument's playable range (clipped to the model's classes later).
PROGRAMS: tuple[Program, ...] = (
    Program(0, "acoustic grand piano", 21, 108),
    Program(1, "bright acoustic piano", 21, 108),
    Program(2, "electric grand piano", 28, 100),
    Program(4, "electric piano 1", 28, 100),
    Program(5, "electric piano 2", 28, 100),
    Program(6, "harpsichord", 29, 89),
    Program(7, "clavinet", 29, 89),
    Program(8, "celesta", 60, 108),
    Program(9, "glockenspiel", 79, 108),
    Program(10, "music box", 60, 108),
    Program(11, "vibraphone", 53, 89),
    Program(12, "marimba", 45, 96),
    Program(16, "drawbar organ", 24, 96),
    Program(19, "church organ", 24, 96),
    Program(21, "accordion", 41, 89),
    Program(22, "harmonica", 48, 84),
    Program(24, "nylon guitar", 40, 83),
    Program(25, "steel guitar", 40, 86),
    Program(26, "jazz guitar", 40, 86),
    Program(27, "clean electric guitar", 40, 86),
    Program(28, "muted electric guitar", 40, 81),
    Program(29, "overdriven guitar", 40, 86),
    Program(30, "distortion guitar", 40, 86),
    Program(32, "acoustic bass", 28, 60),
    Program(33, "electric bass (finger)", 23, 67),
    Program(34, "electric bass (pick)", 23, 67),
    Program(35, "fretless bass", 23, 67),
    Program(36, "slap bass 1", 28, 67),
    Program(38, "synth bass 1", 21, 67),
    Program(39, "synth bass 2", 21, 67),
    Program(40, "violin", 55, 96),
    Program(41, "viola", 48, 88),
    Program(42, "cello", 36, 76),
    Program(43, "contrabass", 28, 60),
    Program(45, "pizzicato strings", 28, 91),
    Program(46, "orchestral harp", 23, 104),
    Program(48, "string ensemble 1", 28, 96),
    Program(52, "choir aahs", 40, 81),
    Program(53, "voice oohs", 40, 81),
    Program(56, "trumpet", 54, 84),
    Program(57, "trombone", 40, 72),
    Program(58, "tuba", 28, 58),
    Program(60, "french horn", 41, 77),
    Program(61, "brass section", 36, 84),
    Program(64, "soprano sax", 56, 87),
    Program(65, "alto sax", 49, 81),
    Program(66, "tenor sax", 44, 76),
    Program(67, "baritone sax", 36, 69),
    Program(68, "oboe", 58, 91),
    Program(70, "bassoon", 34, 75),
    Program(71, "clarinet", 50, 91),
    Program(72, "piccolo", 74, 108),
    Program(73, "flute", 60, 96),
    Program(74, "recorder", 60, 96),
    Program(80, "square lead", 21, 108),
    Program(81, "sawtooth lead", 21, 108),
)

# Training leaves out every note whose render has a partial at f0/2 or f0/4 (f0: the key's) within this
# many dB of its strongest harmonic of f0, or above it: such a sound repeats an octave or two below its key, so
# the key's label would teach the model to name tones above their period. benchmarks/audit_programs.py lists
# them: drawbar organ (16) at every note in both soundfonts (16' and 32'-like ranks, +3 to +13 dB) and MuseScore's
# grand piano at its top six notes (MIDI 103-108), whose strings fade within 0.2 s under resonances an octave or two
# below as loud. Validation notes are never dropped. (Before issue 27 the audit looked for each partial within 3 Hz
# of where it would be, missed the stretched top octaves of pianos and harps, and left out the harp above MIDI 88.)
SUB_OCTAVE_LIMIT_DB = -6.0

# No-note noise (white, pink, brown, hum, clicks) in the validation splits: RMS levels from -90 dBFS up to this.
# Training goes louder (BuildConfig.no_note_loudest_db): a model that never heard more named pink noise at -10 dBFS
# a note.
VALIDATION_NO_NOTE_LOUDEST_DB = -15.0

# One program held out from most families, chosen so that every register is covered.
VALIDATION_PROGRAMS = frozenset({1, 19, 26, 34, 41, 53, 57, 65, 73})
VALIDATION_FAMILIES = frozenset({"formant", "organ"})


@dataclasses.dataclass(frozen=True)
class BuildConfig:
    """Sizes, seeds and settings of one build: the corpus the shipped model is made from (its history, and the
    commits that rebuild earlier models, are in docs/model-history.md). `quick()` is the tiny variant the tests use.
    A setting out of its range raises ValueError."""

    seed: int = 1234
    soundfonts: tuple[str, ...] = ("fluidr3", "musescore")  # keys of SOUNDFONTS
    velocities: tuple[int, ...] = (50, 80, 110)
    note_hold_s: float = 1.6  # note-on to note-off in renders
    note_total_s: float = 2.2  # render length, release included
    synth_notes_per_midi: int = 10  # per family, validation families included
    synth_families: tuple[str, ...] | None = None  # None: every family in model_build.synth.FAMILIES
    low_register_boost: float = 2.0  # training draws the classes A0..D#2 this many times as often as the rest
    # Training no-note noise (white, pink, brown, hum, clicks, also starting after silence) at RMS levels from
    # no_note_quietest_db up to no_note_loudest_db. Loud, so that a fan or a hot preamp is not a note; from 10 dB
    # under the app's -60 dBFS gate (app.engine.Settings.gate_dbfs), not from -90, since the app runs no model
    # below the gate: the noise it does hear is drawn more often.
    no_note_loudest_db: float = -6.0
    no_note_quietest_db: float = -70.0
    validation_patches: int = 6000  # clean; as many again with reverb and noise at 10 dB SNR
    train_patches_per_epoch: int = 16000
    draw_seed: int | None = None  # seeds the training patches' draws (None: `seed`); the bank and validation keep `seed`
    epochs: int = 12
    batch_size: int = 32
    learning_rate: float = 1e-3
    note_stride: int = 1  # render every n-th note of each range
    programs: tuple[int, ...] | None = None  # None: all of PROGRAMS
    drop_sub_octave_notes: bool = True  # leave out training renders that sound below their key (SUB_OCTAVE_LIMIT_DB)
    representative_patches: int = 300
    batch_norm: bool = True  # BatchNorm after each trunk conv (not in the original VGGish): trains ~2x faster
    embedding_stack: bool = False  # the official 4096-4096-128 stack before the head (~75M more weights)
    low_spectrum: bool = False  # a second input, the low register's fine spectrum (app.params.LOW_SPECTRUM)
    bottleneck: int | None = None  # the hidden dense layers through this many linear units (vggish.factorize); None: none
    augment: bool = True  # training patches through model_build.augment (rooms, microphones, noise, ...)
    room_p: float = 0.6  # training: the share of patches in a synthetic room ...
    noise_p: float = 0.7  # ... and with noise (model_build.augment.Probabilities) ...
    snr_db: tuple[float, float] = (0.0, 30.0)  # ... at an SNR drawn from this range
    shift_cents: float = 30.0  # training pitch shifts: up to this many cents ...
    # ... but synthesized notes, detuned up to 49 cents already, by whole semitones only: no shift carries a note
    # past its label's half-semitone
    shift_synth_cents: bool = False
    room_impulse_responses: int = 200  # synthetic rooms per split (training and noisy validation differ)
    transfer_head_epochs: int = 2  # from pretrained weights: epochs of the head alone, trunk frozen ...
    transfer_block_epochs: int = 1  # ... then per trunk block unfrozen, top down (the top transfer_blocks of them) ...
    transfer_blocks: int = 4  # 0: the head alone trains, the trunk stays as it came
    transfer_final_epochs: int = 3  # ... the last phase, everything training
    transfer_decay: float = 0.7  # each phase's learning rate is this times the last one's
    average_epochs: int = 1  # after the last epoch, also score the mean of the last this many epochs' weights and
    # keep it as the best model if it beats every epoch (stochastic weight averaging); 1: no average
    init_mix: float = 0.0  # from --init: that mean moves this share of the way back to the starting weights (WiSE-FT)
    distill: float = 0.0  # from --init: the init model's probabilities make up this share of each training target
    finetune_patches_per_epoch: int = 2000  # fine-tuning on a user's clips: short epochs (~1.5 min each here)
    finetune_validation_patches: int = 1500
    # ... and the head, then the top two trunk blocks (conv4, conv3) only: with AVX2 float kernels, conv2's and
    # conv1's epochs took half of a 10 min run (docs/live-input.md), and a few clips are no reason to move them
    finetune_blocks: int = 2

    def __post_init__(self):
        checks = (
            (0.0 < self.learning_rate < 1.0, f"the learning rate is a rate between 0 and 1 (got {self.learning_rate})"),
            (0.0 <= self.init_mix < 1.0, f"the share mixed back to the starting weights is below 1 (got {self.init_mix})"),
            (0.0 <= self.distill <= 1.0, f"the distillation share is between 0 and 1 (got {self.distill})"),
            (self.bottleneck is None or self.bottleneck >= 1, f"a bottleneck is at least 1 wide (got {self.bottleneck})"),
            (self.transfer_head_epochs >= 1, f"the head phase takes at least 1 epoch (got {self.transfer_head_epochs})"),
            (0 <= self.transfer_blocks <= 4, f"the trunk has 4 blocks to unfreeze (got {self.transfer_blocks})"),
            (self.average_epochs >= 1, f"an average is of at least 1 epoch (got {self.average_epochs})"),
            (self.epochs >= 1, f"a build trains at least 1 epoch (got {self.epochs})"),
        )
        for ok, why in checks:
            if not ok:
                raise ValueError(why)

    # The settings `pitchrec-build data` reads (the note bank and the validation splits); the rest are training's.
    DATA_FIELDS = ("seed", "soundfonts", "velocities", "note_hold_s", "note_total_s", "synth_notes_per_midi",
                   "synth_families", "validation_patches", "note_stride", "programs", "drop_sub_octave_notes",
                   "room_impulse_responses")

    def data_settings(self) -> dict:
        """The settings the data step reads, for its manifest: a data build run alone records no training setting
        (the training state records those: train.py)."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k in self.DATA_FIELDS}

    @property
    def low_params(self):
        """The settings of the model's low-spectrum input, or None for a one-input model."""
        from app.params import LOW_SPECTRUM

        return LOW_SPECTRUM if self.low_spectrum else None

    @classmethod
    def quick(cls) -> "BuildConfig":
        return cls(
            velocities=(90,),
            synth_notes_per_midi=1,
            validation_patches=64,
            train_patches_per_epoch=96,
            epochs=1,
            batch_size=16,
            note_stride=6,
            programs=(24, 26, 33, 34, 73),
            representative_patches=16,
            room_impulse_responses=4,
            transfer_head_epochs=1,
            finetune_patches_per_epoch=96,
            finetune_validation_patches=64,
        )
