"""First contact, as a newcomer meets the project: `make run` exactly as the README says, on
moved ports (only ``YUANZHU_BIND_PORT``, ``YUANZHU_TEMPORAL_PORT`` and
``YUANZHU_TEMPORAL_UI_PORT`` set), twice side by side, and the README's "Try it" walk run line
by line against one of them, each answer compared with the README's ``# →`` line. The README
cannot drift from what the system does without this test failing."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.factories import application
from tests.stack import call, free_port, login, wait_until

pytestmark = pytest.mark.smoke

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
README_BASE = "http://127.0.0.1:8000"


class MakeRun:
    """`make run` in its own process group, as a terminal would run it; stopped with Ctrl-C
    (SIGINT to the group)."""

    def __init__(self, data_dir: Path) -> None:
        self.api_port, self.t_port, self.ui_port = free_port(), free_port(), free_port()
        self.base = f"http://127.0.0.1:{self.api_port}"
        # A newcomer's shell: none of our variables, not inside another make.
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("YUANZHU_") and k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")
        }
        env.update(
            YUANZHU_DATA_DIR=str(data_dir),
            YUANZHU_BIND_PORT=str(self.api_port),
            YUANZHU_TEMPORAL_PORT=str(self.t_port),
            YUANZHU_TEMPORAL_UI_PORT=str(self.ui_port),
        )
        self.log = data_dir.parent / f"{data_dir.name}.log"
        with open(self.log, "ab") as log:  # the child keeps its own copy
            self.proc = subprocess.Popen(
                ["make", "--no-print-directory", "-C", str(ROOT), "run"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log.read_text()

    def wait_running(self) -> None:
        def up() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"make run exited:\n{self.output()}")
            return "Press Ctrl-C" in self.output()

        wait_until(up, 150, f"make run on {self.base}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            self.proc.wait(60)


@pytest.fixture(scope="module")
def two_systems(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MakeRun, MakeRun]]:
    tmp = tmp_path_factory.mktemp("first-contact")
    first, second = MakeRun(tmp / "one"), MakeRun(tmp / "two")
    try:
        first.wait_running()
        second.wait_running()
        yield first, second
    finally:
        first.stop()
        second.stop()


def test_make_run_follows_the_moved_ports_side_by_side(
    two_systems: tuple[MakeRun, MakeRun],
) -> None:
    for system in two_systems:
        printed = system.output()
        assert f"{system.base}/" in printed and f"{system.base}/docs" in printed
        assert f"Temporal UI        http://127.0.0.1:{system.ui_port}" in printed
        assert call("GET", f"{system.base}/healthz")[0] == 200
        status, _ = call("GET", f"http://127.0.0.1:{system.ui_port}/")
        assert status == 200  # the embedded server's UI listens where the link points
    # Both work: a case submitted to each gets its first task from that system's own worker.
    for system in two_systems:
        status, created = call(
            "POST", f"{system.base}/api/v1/applications", application("jilin-2022")
        )
        assert status == 201, created
        token = login(system.base, "jl_officer")
        url = f"{system.base}/api/v1/tasks?case_id={created['case_id']}"
        wait_until(
            lambda url=url, token=token: call("GET", url, token=token)[1]["items"],
            60,
            "the first task",
        )
    # At most one of them can have the worker's usual metrics port (9464; another test's system
    # may hold it too): the other says so and goes on without.
    said = [s.output().count("worker metrics off") for s in two_systems]
    assert said.count(0) <= 1, said


@dataclass
class Step:
    heading: str  # the numbered comment it stands under ("# 3. 待办 A moment later …")
    command: str
    expected: str | None  # the README's "# →" line, without the arrow


def readme_walk() -> list[Step]:
    text = README.read_text(encoding="utf-8")
    block = text.split("<!-- try-it", 1)[1].split("<!-- /try-it -->", 1)[0]
    body = block.split("```sh\n", 1)[1].rsplit("```", 1)[0]
    steps: list[Step] = []
    heading, pending = "", []
    for line in body.splitlines():
        if line.startswith("# →"):
            steps.append(Step(heading, "\n".join(pending), line.removeprefix("# →").strip()))
            pending = []
        elif re.match(r"# \d+\.", line):
            heading = line
        elif line.startswith("#") or (not line.strip() and not pending):
            continue
        elif not line.strip():
            steps.append(Step(heading, "\n".join(pending), None))
            pending = []
        else:
            pending.append(line)
    if pending:
        steps.append(Step(heading, "\n".join(pending), None))
    return steps


def _pattern(expected: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in expected.split("…")), re.S)


def _found(data: Any, key: str, want: Any) -> bool:
    """Whether some object inside ``data`` has ``key`` with the value ``want`` ("…" in a
    string stands for anything)."""
    if isinstance(data, dict):
        if key in data:
            have = data[key]
            if isinstance(want, str) and isinstance(have, str):
                if _pattern(want).fullmatch(have):
                    return True
            elif have == want:
                return True
        return any(_found(v, key, want) for v in data.values())
    if isinstance(data, list):
        return any(_found(v, key, want) for v in data)
    return False


def answers(expected: str, output: str) -> bool:
    """The output says what the README's line says: for JSON, every ``"key": value`` the line
    shows is in the answer; otherwise the whole output matches the line."""
    if not expected.startswith("{"):
        return bool(_pattern(expected).fullmatch(output.strip()))
    try:
        data = json.loads(output)
    except ValueError:
        return False
    pairs = re.findall(r'"(\w+)": ("(?:[^"\\]|\\.)*"|-?\d+|true|false|null)', expected)
    assert pairs, f"the README's line shows no field to check: {expected}"
    return all(_found(data, key, json.loads(value)) for key, value in pairs)


class Shell:
    """One bash that keeps the walk's variables between steps, as the reader's terminal does."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            ["bash", "--norc", "--noprofile"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        assert self.proc.stdout is not None
        self.fd = self.proc.stdout.fileno()
        self.count = 0

    def run(self, command: str, timeout: float = 30) -> str:
        """The command's output (stdout and stderr), once bash has run it."""
        assert self.proc.stdin is not None
        self.count += 1
        marker = f"@@end of step {self.count}@@".encode()
        self.proc.stdin.write(f"{command}\nprintf '\\n%s\\n' '{marker.decode()}'\n".encode())
        self.proc.stdin.flush()
        # Unbuffered reads straight from the pipe, so that select() sees all that is left.
        output = b""
        deadline = time.monotonic() + timeout
        while b"\n" + marker + b"\n" not in output:
            ready, _, _ = select.select([self.fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise AssertionError(f"the step did not finish in {timeout} s:\n{command}")
            chunk = os.read(self.fd, 65536)
            if not chunk:
                raise AssertionError(f"bash exited during:\n{command}\n{output.decode()}")
            output += chunk
        return output.split(b"\n" + marker, 1)[0].decode().strip()

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def test_readme_walk_does_what_it_says(two_systems: tuple[MakeRun, MakeRun]) -> None:
    system = two_systems[0]
    steps = readme_walk()
    assert sum(s.expected is not None for s in steps) >= 6, "the walk lost its expected answers"
    shell = Shell()
    try:
        for step in steps:
            command = step.command.replace(f"B={README_BASE}", f"B={system.base}")
            output = shell.run(command)
            if step.expected is None:
                continue
            # "A moment later": the workflow answers the request, then moves on by itself; a
            # reader who looks again sees it, and so does this test (for at most 30 s).
            deadline = time.monotonic() + (30 if "moment later" in step.heading else 0)
            while not answers(step.expected, output) and time.monotonic() < deadline:
                time.sleep(0.5)
                output = shell.run(command)
            assert answers(step.expected, output), (
                f"README step {step.heading!r}\n{step.command}\n"
                f"said:  {step.expected}\ngave:  {output}"
            )
    finally:
        shell.close()
    # The case's Temporal link follows the moved UI port too.
    token = call(
        "POST",
        f"{system.base}/api/v1/auth/token",
        form={"username": "wf_reviewer", "password": "yuanzhu-demo"},
    )[1]["access_token"]
    cases = call("GET", f"{system.base}/api/v1/cases?limit=1", token=token)[1]
    case = call("GET", f"{system.base}/api/v1/cases/{cases['items'][0]['id']}", token=token)[1]
    assert case["workflow_url"].startswith(f"http://127.0.0.1:{system.ui_port}/namespaces/")
