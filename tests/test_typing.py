"""The public API's annotations type-check a user's training script (mypy, when installed)."""
import os
import subprocess
import sys

import pytest

pytest.importorskip("mypy", reason="mypy is not installed (pip install mypy)")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _mypy(tmp_path, *targets):
    # dlcore is followed silently, as mypy treats an installed py.typed package: the script's
    # own errors are reported, the library's bodies are checked by `mypy` at the repository root.
    cmd = [sys.executable, "-m", "mypy", "--config-file", os.path.join(ROOT, "pyproject.toml"),
           "--follow-imports=silent", "--cache-dir", str(tmp_path / "mypy_cache"),
           "--no-error-summary", *targets]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_user_script_type_checks(tmp_path):
    res = _mypy(tmp_path, os.path.join(ROOT, "tests", "typing_user_script.py"))
    assert res.returncode == 0, res.stdout + res.stderr


def test_type_errors_in_user_code_are_caught(tmp_path):
    # the same checker sees wrong argument types (and the None of a blocking collective) through the
    # annotations (so the test above can fail)
    bad = tmp_path / "bad_user_script.py"
    bad.write_text("import dlcore\nimport dlcore.nn as nn\nimport dlcore.optim as optim\n"
                   "x = dlcore.randn(2, 3)\n"
                   "conv = nn.Conv2d('one', 8, 3)\n"
                   "opt = optim.Adam(nn.Linear(3, 4).parameters(), lr='fast')\n"
                   "n: int = x + 1\n"
                   "import dlcore.distributed as dist\n"
                   "dist.all_reduce(x).wait()\n"
                   "from dlcore.train import fit\n"
                   "fit(nn.Linear(3, 4), nn.MSELoss(), opt, [], epochs='3')\n")
    res = _mypy(tmp_path, str(bad))
    assert res.returncode == 1, res.stdout + res.stderr
    for line, what in ((5, '"Conv2d"'), (6, '"lr" to "Adam"'), (7, '"Tensor", variable has type "int"'),
                       (9, '"None" has no attribute "wait"'), (11, '"epochs" to "fit"')):
        assert any(f":{line}: error:" in e and what in e for e in res.stdout.splitlines()), res.stdout
