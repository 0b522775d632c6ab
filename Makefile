# `make run` and `make test` each set up their own virtual environment (.venv) first; `make test` also installs what
# the real-window tests need (tools/install-test-display: Xvfb, openbox, xdotool, … when missing and run as root).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test venv clean screenshot

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

run: venv
	$(PY) main.py

test: venv
	tools/install-test-display $(PY)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q --durations=10

screenshot: venv
	QT_QPA_PLATFORM=offscreen $(PY) main.py gui --screenshot docs/main-window.png

clean:
	rm -rf $(VENV) .pytest_cache
