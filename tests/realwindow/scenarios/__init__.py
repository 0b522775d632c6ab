"""Real-window scenarios: each module has ``run(rw) -> dict`` (tests/realwindow/harness.py)."""
