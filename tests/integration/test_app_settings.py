"""A bad setting stops gunicorn at start with one line that names it: no traceback, no crash-looping workers."""

import subprocess
import sys
from pathlib import Path

import pytest

APP_DIR = Path(__file__).resolve().parents[2] / "app"


@pytest.mark.parametrize("name, value", [("TRACE_SAMPLE_RATE", "2"), ("SENTRY_DSN", "sentry.example.com/1"),
                                         ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318")])
def test_gunicorn_refuses_to_start_with_a_bad_setting_and_names_it(tmp_path, name, value):
    result = subprocess.run(
        [str(Path(sys.executable).with_name("gunicorn")), "-c", "gunicorn.conf.py", "stackapp.wsgi:app"],
        cwd=APP_DIR, capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "BIND": "127.0.0.1:0", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "m"),
             name: value},
    )
    assert result.returncode != 0
    [line] = [line for line in result.stderr.splitlines() if "configuration error" in line]
    assert line.startswith(f"configuration error: {name}={value!r}: ")
    assert "Traceback" not in result.stderr
    assert "Booting worker" not in result.stderr
