"""The README's commands are the ones CI runs."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    return re.findall(r"```sh\n(.+?)\n```", text)[:2]


def test_readme_starts_with_serve_then_test_command() -> None:
    serve, test = readme_commands()
    # in a virtual environment: many systems' Python refuses a global pip install
    venv, activate, install, *rest = serve.split(" && ")
    assert venv.startswith("python3 -m venv ") and activate.startswith(". ")
    assert activate.endswith("/bin/activate") and venv.split()[-1] in activate
    assert install == "pip install -e ." and "mediasrv serve" in rest[-1]
    assert test.endswith("python -m pytest")


def test_ci_runs_the_readme_test_command() -> None:
    _, test = readme_commands()
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert test in ci
