"""Bugsink: a real, self-hosted, Sentry-protocol error tracker, standing in for self-hosted Sentry in tests.

Self-hosted Sentry needs Docker and 50+ containers, which this machine cannot run. Bugsink speaks the same
ingest protocol (envelopes, DSN auth) as Sentry, so the app's sentry-sdk delivers real events to a real server
and the tests read them back through Bugsink's API. It stores errors only (no transactions, no logs); the
collector's OTLP traces to Sentry are checked with tests/peers/sentry_otlp.py instead.

Bugsink lives in its own virtualenv (its Django pins are not the app's), made once per lock file.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

from .build import CACHE
from .process import Service, free_port

LOCK = Path(__file__).with_name("bugsink-requirements.txt")


def bugsink_venv() -> Path:
    digest = hashlib.sha256(LOCK.read_bytes()).hexdigest()[:10]
    venv = CACHE / f"bugsink-{digest}"
    if (venv / ".installed").exists():
        return venv
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", "-r", str(LOCK)],
                   check=True)
    (venv / ".installed").write_text(LOCK.read_text())
    return venv


class BugsinkApi:
    """Bugsink's API (/api/canonical/0), for a server started here or one in a container."""

    def __init__(self, url: str, token: str):
        self.url, self.token = url, token
        self._team_id: str | None = None

    def api(self, method: str, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(
            f"{self.url}/api/canonical/0/{path}", method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"{}")

    def create_project(self, name: str) -> dict:
        """A new project; the answer has its `id` and `dsn`."""
        if self._team_id is None:
            self._team_id = self.api("POST", "teams/", {"name": "stack-tests"})["id"]
        project = self.api("POST", "projects/", {"team": self._team_id, "name": name})
        return self.api("GET", f"projects/{project['id']}/")

    def event_summaries(self, project_id: str) -> list[dict]:
        """Every stored event of a project, without its payload (cheap enough to poll)."""
        return [summary for issue in self.api("GET", f"issues/?project={project_id}")["results"]
                for summary in self.api("GET", f"events/?issue={issue['id']}")["results"]]

    def events(self, project_id: str) -> list[dict]:
        """Every stored event of a project, each with its full Sentry event payload under `data`."""
        return [self.api("GET", f"events/{summary['id']}/") for summary in self.event_summaries(project_id)]


class Bugsink(BugsinkApi):
    """A Bugsink server on 127.0.0.1, on SQLite in `workdir`."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.port = free_port()
        super().__init__(f"http://127.0.0.1:{self.port}", token="")
        self.venv = bugsink_venv()
        self.service: Service | None = None

    def _manage(self, *args: str, env: dict[str, str] | None = None) -> str:
        out = subprocess.run([str(self.venv / "bin" / "bugsink-manage"), *args], cwd=self.workdir,
                             env={**os.environ, **(env or {})}, capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"bugsink-manage {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
        return out.stdout

    def start(self) -> "Bugsink":
        self.workdir.mkdir(parents=True, exist_ok=True)
        # The `local` template digests events as they arrive, so an event is readable once the SDK got its 200.
        subprocess.run([str(self.venv / "bin" / "bugsink-create-conf"), "--template=local", f"--port={self.port}",
                        "--host=127.0.0.1", "--output-file", "bugsink_conf.py"],
                       cwd=self.workdir, check=True, capture_output=True)
        self._manage("migrate", "--no-input")
        self._manage("migrate", "snappea", "--database=snappea", "--no-input")
        self._manage("createsuperuser", "--noinput", env={
            "DJANGO_SUPERUSER_USERNAME": "admin", "DJANGO_SUPERUSER_EMAIL": "admin@example.com",
            "DJANGO_SUPERUSER_PASSWORD": os.urandom(12).hex()})
        self.token = self._manage("create_auth_token").strip().splitlines()[-1]
        self.service = Service(
            "bugsink",
            [str(self.venv / "bin" / "gunicorn"), "bugsink.wsgi", "--bind", f"127.0.0.1:{self.port}",
             "--workers", "1", "--threads", "4", "--access-logfile", "-"],
            self.workdir / "bugsink.log", env={"PYTHONPATH": str(self.workdir)}, cwd=self.workdir,
        ).start()
        self.service.wait_for_http(f"{self.url}/health/ready")
        return self

    def stop(self) -> None:
        if self.service:
            self.service.stop()
