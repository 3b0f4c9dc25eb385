# Two entry points, each setting up what it needs first (Debian packages, then .venv):
#   make run    the window (with a screen); without one, the terminal tools on the bundled example
#   make test   the test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Qt's runtime libraries: offscreen (tests) needs the first line, a real window on X11 the second too.
QT_PACKAGES := libegl1 libgl1 libfontconfig1 libxkbcommon0 libglib2.0-0 libdbus-1-3 \
	libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xkb1 libx11-xcb1
# End-to-end tests: a PulseAudio null sink as the microphone, Xvfb as the screen.
E2E_PACKAGES := pulseaudio pulseaudio-utils libasound2-plugins xvfb xauth xdotool
APT_PACKAGES := libportaudio2 libsndfile1 fluidsynth fluid-soundfont-gm musescore-general-soundfont $(QT_PACKAGES) $(E2E_PACKAGES)
EXAMPLE ?= assets/examples/guitar-open-strings.flac

.PHONY: run test test-fast system-deps benchmark model clean

system-deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	$(PYTHON) -c "import venv, ensurepip" 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  sudo=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing; \
	fi

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.app: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.dev: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e '.[train,dev]'
	touch $@ $(VENV)/.app

run: system-deps $(VENV)/.app
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ]; then $(VENV)/bin/pitchrec gui; else \
	  echo "no screen: showing the model and analysing $(EXAMPLE); live in a terminal: $(VENV)/bin/pitchrec listen"; \
	  $(VENV)/bin/pitchrec info && $(VENV)/bin/pitchrec analyze $(EXAMPLE); fi

test: system-deps $(VENV)/.dev
	$(PY) -m pytest

test-fast: system-deps $(VENV)/.dev
	$(PY) -m pytest -m "not slow"

benchmark: system-deps $(VENV)/.dev
	$(PY) benchmarks/bench_model.py

# Rebuild the shipped model, version 11: the corpus of model_build.config.BuildConfig (A0 to C8), both inputs, the
# head's dense layers factorised at rank 32 (under 5 MB), by transfer from version 10's float weights, training draws
# seeded 10, the mean of the last three epochs scored beside them and the best kept (~75 min on 2 cores); resumes
# if interrupted. Earlier versions are rebuilt at the commits docs/model-history.md names.
model: system-deps $(VENV)/.dev
	$(VENV)/bin/pitchrec-build all --low-spectrum --init assets/pretrained/pitchrec-v10.weights.npz --bottleneck 32 \
		--draw-seed 10 --average-epochs 3 --version 11

clean:
	rm -rf $(VENV) build dist .pytest_cache
