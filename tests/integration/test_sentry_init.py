"""sentry-init.sh run end to end: real bash, git and Docker Compose; STAND-INS for the rest.

No Docker images can run here, so `docker` is tests/peers/docker_stand_in.py (records each call, answers as
the real CLI does) and getsentry/self-hosted is tests/fixtures/self-hosted-stand-in (a local git repository
tagged with the pinned version). What this proves: the steps, their order, their idempotence, the .env they
write and each prerequisite's error. What it cannot: that Sentry's own commands behave as recorded.
"""

from __future__ import annotations

import os
import re
import socket
import stat
from pathlib import Path

from tests.peers import build

STEPS = ["Check prerequisites", "Fetch getsentry/self-hosted", "Run Sentry's installer", "Set Sentry's URL prefix",
         "Create the admin user", "Create the project, its DSN and Grafana's token", "Write .env"]


def read_env(path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#"))


def test_sentry_init_runs_every_step_in_order_and_writes_env(workspace):
    result = workspace.sentry_init("--admin-email", "ops@example.com")
    assert result.returncode == 0, result.stdout + result.stderr
    headings = re.findall(r"^\[(\d)/7\] (.+)$", result.stdout, re.M)
    assert [int(n) for n, _ in headings] == list(range(1, 8))
    assert all(title.startswith(step) for (_, title), step in zip(headings, STEPS))
    assert result.stdout.count("done in") == 7

    calls = [" ".join(argv) for argv in workspace.calls()]
    order = [next(i for i, c in enumerate(calls) if pattern in c) for pattern in
             ("info", "compose version --short", "{{.MemTotal}}", "ps -q", "createuser", "web exec", "config --quiet")]
    assert order == sorted(order), calls
    assert "--email ops@example.com" in calls[order[4]] and "--superuser --no-input" in calls[order[4]]

    installer = (workspace.state / "installer.log").read_text().splitlines()
    assert len(installer) == 1
    args, project, custom = installer[0].split("|")
    assert args == "--skip-user-creation --no-report-self-hosted-issues --apply-automatic-config-updates"
    assert "COMPOSE_PROJECT_NAME=observability-stack" in custom and "COMPOSE_PROFILES=feature-complete" in custom
    assert f"SENTRY_BIND=127.0.0.1:{workspace.env['SENTRY_PORT']}" in custom

    config = (workspace.root / "sentry" / "self-hosted" / "sentry" / "config.yml").read_text()
    assert f"system.url-prefix: 'http://localhost:{workspace.env['SENTRY_PORT']}'" in config

    env_file = workspace.root / ".env"
    env = read_env(env_file)
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    for key, value in build.read_versions().items():
        assert env[key] == value
    key = "5f1c2a3b4d5e6f708192a3b4c5d6e7f8"  # what the stand-in's `sentry exec` reports
    assert env["SENTRY_DSN"] == f"http://{key}@nginx/2"
    assert env["SENTRY_DSN_PUBLIC"] == f"http://{key}@localhost:{workspace.env['SENTRY_PORT']}/2"
    assert env["SENTRY_OTLP_TRACES_URL"] == "http://nginx/api/2/integration/otlp/v1/traces/"
    assert env["SENTRY_PUBLIC_KEY"] == key
    assert env["GRAFANA_SENTRY_TOKEN"].startswith("sntryu_")
    assert re.fullmatch(r"[A-Za-z0-9]{32}", env["GRAFANA_ADMIN_PASSWORD"])
    assert env["COMPOSE_PROFILES"] == "feature-complete"
    assert env["OTELCOL_TRACES_EXPORTERS"] == "[otlp_http/sentry, span_metrics]"


def test_the_generated_admin_password_is_printed_once_and_stored_nowhere(workspace):
    result = workspace.sentry_init()
    [password] = re.findall(r"Sentry admin password \(shown this once, stored nowhere\): (\S+)", result.stdout)
    assert result.stdout.count(password) == 1
    createuser = next(argv for argv in workspace.calls() if "createuser" in argv)
    assert createuser[createuser.index("--password") + 1] == password
    assert password not in (workspace.root / ".env").read_text()


def test_a_second_run_changes_nothing_and_says_so(workspace):
    first = workspace.sentry_init()
    assert first.returncode == 0, first.stderr
    env_before = (workspace.root / ".env").read_bytes()
    calls_before = len(workspace.calls())

    second = workspace.sentry_init()
    assert second.returncode == 0, second.stderr
    assert (workspace.root / ".env").read_bytes() == env_before
    for words in ("already at", "already installed", "password unchanged", "Grafana's API token: kept",
                  "GRAFANA_ADMIN_PASSWORD: kept", "versions: already match versions.env", "already http://"):
        assert words in second.stdout, words
    assert "shown this once" not in second.stdout
    new_calls = [" ".join(argv) for argv in workspace.calls()[calls_before:]]
    assert not any("createuser" in call for call in new_calls)
    assert any("WANT_TOKEN=0" in call for call in new_calls)
    assert len((workspace.state / "installer.log").read_text().splitlines()) == 1


def test_a_changed_version_in_versions_env_reaches_env_on_the_next_run(workspace):
    assert workspace.sentry_init().returncode == 0
    versions = workspace.root / "versions.env"
    versions.write_text(versions.read_text().replace("LOKI_VERSION=", "LOKI_VERSION=9.9.9\n#"))
    result = workspace.sentry_init()
    assert result.returncode == 0, result.stderr
    assert "versions: copied from versions.env" in result.stdout
    assert read_env(workspace.root / ".env")["LOKI_VERSION"] == "9.9.9"


def test_errors_only_profile_sends_traces_to_span_metrics_only(workspace):
    result = workspace.sentry_init("--profile", "errors-only", DOCKER_STAND_IN_MEM_BYTES=str(8 * 1024**3))
    assert result.returncode == 0, result.stderr
    env = read_env(workspace.root / ".env")
    assert env["COMPOSE_PROFILES"] == "errors-only"
    assert env["OTELCOL_TRACES_EXPORTERS"] == "[span_metrics]"


def test_running_against_a_stack_that_is_up_skips_the_port_check(workspace):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", int(workspace.env["APP_PORT"])))
        busy.listen()
        result = workspace.sentry_init(DOCKER_STAND_IN_RUNNING="1")
    assert result.returncode == 0, result.stderr
    assert "the ports in use are its own" in result.stdout


def fails_with(workspace, *words, args=(), **env):
    result = workspace.sentry_init(*args, **env)
    assert result.returncode != 0
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("sentry-init: error: ")
    for word in words:
        assert word in message, message
    assert not (workspace.root / ".env").exists(), "a failed prerequisite must not write .env"
    return message


def test_no_docker_daemon_is_a_clear_error(workspace):
    fails_with(workspace, "cannot reach the Docker daemon", DOCKER_STAND_IN_DAEMON="down")


def test_an_old_compose_is_refused_with_the_version_needed(workspace):
    fails_with(workspace, "Docker Compose 2.20.3 is too old", "2.32.2", DOCKER_STAND_IN_COMPOSE_VERSION="v2.20.3")


def test_too_little_memory_for_feature_complete_points_to_errors_only(workspace):
    fails_with(workspace, "feature-complete", "--profile errors-only", DOCKER_STAND_IN_MEM_BYTES=str(8 * 1024**3))


def test_too_little_memory_for_errors_only_is_refused(workspace):
    fails_with(workspace, "errors-only", "7000 MB", args=("--profile", "errors-only"),
               DOCKER_STAND_IN_MEM_BYTES=str(4 * 1024**3))


def test_a_port_in_use_is_named_with_its_setting(workspace):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", int(workspace.env["GRAFANA_PORT"])))
        busy.listen()
        fails_with(workspace, f"port {workspace.env['GRAFANA_PORT']}", "GRAFANA_PORT")


def test_a_bad_setting_is_named(workspace):
    fails_with(workspace, "SENTRY_PROFILE=everything", args=("--profile", "everything"))
    fails_with(workspace, "unknown option --colour", args=("--colour",))


def test_missing_docker_is_a_clear_error(workspace, tmp_path):
    # Every program on PATH but docker (which may sit in /usr/bin, beside bash and git).
    without_docker = tmp_path / "path-without-docker"
    without_docker.mkdir()
    for directory in workspace.env["PATH"].split(os.pathsep):
        for program in (Path(directory).iterdir() if Path(directory).is_dir() else ()):
            if not program.name.startswith("docker") and not (without_docker / program.name).exists():
                (without_docker / program.name).symlink_to(program)
    fails_with(workspace, "docker is not installed", PATH=str(without_docker))


def test_env_example_lists_exactly_what_sentry_init_writes(workspace):
    assert workspace.sentry_init().returncode == 0
    written = set(read_env(workspace.root / ".env"))
    documented = set(read_env(workspace.root / ".env.example")) | set(build.read_versions())
    assert written == documented
