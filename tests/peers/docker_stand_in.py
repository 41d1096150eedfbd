#!/usr/bin/env python3
"""A STAND-IN for the `docker` CLI, for testing sentry-init.sh on a machine with no Docker images.

It records every call (argv, stdin, working directory) to $DOCKER_STAND_IN_DIR/calls.jsonl and answers
the calls sentry-init.sh makes the way the real commands do. `docker compose config` is handed to the real
Docker Compose binary ($DOCKER_STAND_IN_COMPOSE), which needs no daemon. Failures are chosen with
environment variables, so each prerequisite check can be made to fail:

  DOCKER_STAND_IN_DAEMON=down            `docker info` fails as with no daemon
  DOCKER_STAND_IN_COMPOSE_VERSION=X.Y.Z  what `docker compose version --short` prints (default 2.40.3)
  DOCKER_STAND_IN_MEM_BYTES, _CPUS       what `docker info` reports (default 16 GiB, 8 CPUs)
  DOCKER_STAND_IN_RUNNING=1              `docker ps` lists a container of the stack
"""

import json
import os
import sys
from pathlib import Path

STATE = Path(os.environ["DOCKER_STAND_IN_DIR"])
PUBLIC_KEY = "5f1c2a3b4d5e6f708192a3b4c5d6e7f8"
PROJECT_ID = "2"


def main(argv: list[str]) -> int:
    stdin = "" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
    with (STATE / "calls.jsonl").open("a") as log:
        log.write(json.dumps({"argv": argv, "cwd": os.getcwd(), "stdin": stdin[:200]}) + "\n")

    if argv[:1] == ["info"]:
        if os.environ.get("DOCKER_STAND_IN_DAEMON") == "down":
            print("Cannot connect to the Docker daemon at unix:///var/run/docker.sock.", file=sys.stderr)
            return 1
        if "{{.MemTotal}}" in argv:
            print(os.environ.get("DOCKER_STAND_IN_MEM_BYTES", str(16 * 1024**3)))
        elif "{{.NCPU}}" in argv:
            print(os.environ.get("DOCKER_STAND_IN_CPUS", "8"))
        return 0
    if argv[:1] == ["ps"]:
        if os.environ.get("DOCKER_STAND_IN_RUNNING") == "1":
            print("3f2a1b0c9d8e")
        return 0
    if argv[:1] == ["compose"]:
        return compose(argv[1:], stdin)
    print(f"stand-in docker: unexpected call: docker {' '.join(argv)}", file=sys.stderr)
    return 1


def compose(args: list[str], stdin: str) -> int:
    if args[:2] == ["version", "--short"]:
        print(os.environ.get("DOCKER_STAND_IN_COMPOSE_VERSION", "2.40.3"))
        return 0
    if "config" in args:
        os.execv(os.environ["DOCKER_STAND_IN_COMPOSE"], ["docker-compose", *args])
    if "run" in args and "web" in args:
        command = args[args.index("web") + 1:]
        if command[:1] == ["createuser"]:
            print(f"User created: {command[command.index('--email') + 1]}")
            return 0
        if command == ["exec"]:
            if "ProjectKey" not in stdin:
                print("stand-in docker: `sentry exec` got no project script", file=sys.stderr)
                return 1
            print(f"SENTRY_PROJECT_ID={PROJECT_ID}\nSENTRY_PUBLIC_KEY={PUBLIC_KEY}")
            if "WANT_TOKEN=1" in args:
                print("GRAFANA_SENTRY_TOKEN=sntryu_0123456789abcdef0123456789abcdef0123456789abcdef")
            return 0
    print(f"stand-in docker: unexpected call: docker compose {' '.join(args)}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
