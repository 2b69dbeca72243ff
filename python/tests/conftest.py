"""Fixtures: the checkout, its launcher, the tiny fixture models and the demo model, and real servers."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Iterator, List

import pytest

import linlens

ROOT = Path(os.environ.get("LINLENS_HOME") or Path(__file__).resolve().parents[2]).resolve()
LAUNCHER = ROOT / "bin" / "linlens"
TINY = ROOT / "src" / "test" / "resources" / "reference" / "tiny"
# the tiny Llama 3 (d=32, 3 layers, vocabulary 300): every analysis in about a second
TINY_MODEL = TINY / "llama3" / "model.gguf"
MODELS = Path(os.environ.get("LINLENS_MODELS") or Path.home() / ".cache" / "linlens" / "models")
DEMO_MODEL = MODELS / "gemma-3-270m.gguf"
# one BLAS thread count for the server and the command line: bit-for-bit comparisons need the same
THREADS = 2

os.environ.setdefault("LINLENS_HOME", str(ROOT))

# the servers' made concepts: a contrast-pair concept, which needs no word of the tiny vocabulary
CONCEPTS = Path(os.environ.get("PYTEST_CONCEPTS_DIR") or ROOT / "target" / "pytest-concepts")
CONCEPTS.mkdir(parents=True, exist_ok=True)
(CONCEPTS / "tiny-pairs.json").write_text('{"name": "tiny-pairs", "contrast_pairs": [["Hello world", "Goodbye world"]], "rank": 1}\n')
os.environ["LINLENS_CONCEPTS"] = str(CONCEPTS)


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Runs bin/linlens with ``args``; stdout and stderr as text."""
    done = subprocess.run([str(LAUNCHER), *args], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=900)
    if check and done.returncode != 0:
        raise AssertionError(f"bin/linlens {' '.join(args)} exited {done.returncode}: {done.stderr.strip()}")
    return done


def cli_error_line(done: subprocess.CompletedProcess) -> str:
    """The command line's one-line error, without its ``linlens: `` prefix."""
    lines: List[str] = [l for l in done.stderr.splitlines() if l.startswith("linlens: ")]
    assert lines, f"no error line in: {done.stderr!r}"
    return lines[-1][len("linlens: "):]


@pytest.fixture(scope="session")
def tiny_lens() -> Iterator[linlens.Lens]:
    assert TINY_MODEL.is_file(), f"tiny fixture missing: {TINY_MODEL}"
    with linlens.Lens(str(TINY_MODEL), threads=THREADS, progress=False) as lens:
        yield lens


@pytest.fixture(scope="module")
def demo_lens() -> Iterator[linlens.Lens]:
    # never a skip: bin/pytest-client fetches the demo model first
    assert DEMO_MODEL.is_file(), f"demo model missing: {DEMO_MODEL} (bin/linlens models fetch gemma-3-270m)"
    with linlens.Lens(str(DEMO_MODEL), threads=THREADS, progress=False) as lens:
        yield lens
