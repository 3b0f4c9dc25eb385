"""The desktop window (PySide6 + pyqtgraph).

Where a sample goes: sound card -> app.audio (callback copies into a ring) ->
app.engine.AnalysisWorker (log-mel patch, model, fine pitch, fusion) -> Latest
channel -> MainWindow's 30 fps timer -> the views here:

  main_window.py   composes everything; timers; QSettings; device switching
  spectrogram.py   scrolling log-frequency spectrogram from 25 Hz with note names and the pitch
  needle.py        cents needle, -50..+50, an in-tune zone (±0.5 to ±5 cents), damping
  strobe.py        strobe view: bands drifting at a speed proportional to the cents, still in tune
  history.py       pitch trace of the last ~10 s
  settings_panel.py  device, channel, A4, gate, preset, temperament or Scala scale, root, sweetener,
                   transposition, sharps/flats, needle or strobe
  clips_panel.py   record labelled clips; play, relabel, delete them
"""
