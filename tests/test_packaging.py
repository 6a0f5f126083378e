"""The package as users get it: what the wheel and the sdist hold, the metadata an index shows,
and one-line messages (not tracebacks) when an extra is missing."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_python(code: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=cwd
    )


@pytest.mark.parametrize("missing", ["click", "rich"])
def test_the_command_without_its_extra_says_so_in_one_line(missing: str) -> None:
    done = run_python(
        f"import sys; sys.modules[{missing!r}] = None\n"
        "from pleasurestock_async._entry import main\nmain()"
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"pleasurestock: the command line needs the 'cli' extra ({missing} is missing): "
        "pip install 'pleasurestock-async[cli]'"
    ]


def test_the_sandbox_without_its_extra_says_which_one() -> None:
    done = run_python(
        "import sys; sys.modules['starlette'] = None\n"
        "try:\n    import pleasurestock_async.sandbox\n"
        "except ImportError as exc:\n    print(exc)\n"
    )
    assert done.returncode == 0, done.stderr
    assert "pip install 'pleasurestock-async[sandbox]'" in done.stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The sdist and the wheel, built as a release would build them."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return sdist, wheel


@pytest.mark.slow  # builds both distributions (about 20 s)
def test_the_distributions_hold_the_license_and_no_ci_or_editor_files(
    built: tuple[Path, Path],
) -> None:
    sdist, wheel = built
    with tarfile.open(sdist) as archive:
        in_sdist = [name.split("/", 1)[1] for name in archive.getnames() if "/" in name]
    with zipfile.ZipFile(wheel) as archive:
        in_wheel = archive.namelist()
        metadata = Parser().parsestr(
            archive.read(next(n for n in in_wheel if n.endswith("dist-info/METADATA"))).decode()
        )
    assert "LICENSE" in in_sdist
    assert any(name.endswith("dist-info/licenses/LICENSE") for name in in_wheel)
    for name in in_sdist + in_wheel:
        parts = name.split("/")
        assert not {".ci", ".github", ".vscode", ".idea", "__pycache__", ".hypothesis"} & set(
            parts
        ), name
        assert parts[-1] not in (".gitignore", ".DS_Store") and not name.endswith(".pyc"), name
    assert {"pleasurestock_async/py.typed", "pleasurestock_async/openapi.json"} <= set(in_wheel)
    assert metadata["License-Expression"] == "MIT"
    assert metadata.get_all("Project-URL")
    classifiers = set(metadata.get_all("Classifier") or [])
    assert {"Typing :: Typed", "Framework :: AnyIO", "Framework :: Trio"} <= classifiers
    assert any(c.startswith("Development Status ::") for c in classifiers)
    assert "tzdata; sys_platform == 'win32'" in (metadata.get_all("Requires-Dist") or [])


@pytest.mark.slow  # builds both distributions (about 20 s)
def test_twine_finds_the_distributions_fit_to_publish(built: tuple[Path, Path]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *map(str, built)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow  # a fresh virtual environment and an install (about 30 s)
def test_a_fresh_install_without_extras_gets_one_line_from_the_command(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    _, wheel = built
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
        check=True,
        timeout=600,
    )
    done = subprocess.run(
        [str(venv / "bin" / "pleasurestock"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "pip install 'pleasurestock-async[cli]'" in done.stderr
