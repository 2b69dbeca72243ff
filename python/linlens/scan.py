"""Dataset scans: ``bin/linlens scan`` as a child process, its Parquet parts as DuckDB or pandas."""
from __future__ import annotations

import collections
import json
import os
import re
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any, Deque, Dict, List, Optional, Sequence, Union

import pandas as pd

from . import _progress
from ._server import cli_error
from .errors import LinlensError

PathLike = Union[str, "os.PathLike[str]"]

_TOTAL = re.compile(r"^scan: (\d+) prompts(?:, (\d+) already done)?")
_PART = re.compile(r"^scan: (\d+)/(\d+) prompts")


class ScanResult:
    """A scan's folder (``--out``): ``scan.json`` as :attr:`manifest`, the rows in ``parts/*.parquet``.

    :meth:`relation` gives a DuckDB relation (needs the ``duckdb`` package), :meth:`df` a pandas
    DataFrame (``pd.read_parquet``, which needs ``pyarrow``), :meth:`query` runs DuckDB SQL over
    the table ``results``. Both packages are optional: ``pip install 'linlens[duckdb]'`` or
    ``'linlens[parquet]'``.
    """

    def __init__(self, folder: PathLike, log: Sequence[str] = ()):
        self.folder = Path(folder)
        self.log = list(log)

    @property
    def manifest(self) -> Dict[str, Any]:
        """``scan.json``: the model, the dataset, the options, the columns."""
        return json.loads((self.folder / "scan.json").read_text("utf-8"))

    @property
    def parts(self) -> List[Path]:
        return sorted((self.folder / "parts").glob("part-*.parquet"))

    def relation(self, connection: Any = None) -> Any:
        """The rows as a DuckDB relation over every part (``duckdb`` must be installed)."""
        try:
            import duckdb
        except ImportError:
            raise ImportError("ScanResult.relation needs the duckdb package: pip install duckdb "
                              "(or use .df(), which needs pyarrow)") from None
        con = connection if connection is not None else duckdb.connect()
        glob = str(self.folder / "parts" / "part-*.parquet")
        return con.read_parquet(glob)

    def query(self, sql: str) -> pd.DataFrame:
        """DuckDB SQL over the table ``results`` (every part), answered as a DataFrame."""
        import duckdb  # noqa: F401  (the ImportError names the package)
        con = duckdb.connect()
        self.relation(con).create_view("results")
        return con.execute(sql).df()

    def df(self) -> pd.DataFrame:
        """The rows as one pandas DataFrame, sorted by ``row_index`` (``pd.read_parquet`` of ``parts/``: needs pyarrow)."""
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ImportError("ScanResult.df needs pyarrow to read Parquet: pip install pyarrow "
                              "(or use .relation(), which needs duckdb)") from None
        frame = pd.read_parquet(self.folder / "parts")
        return frame.sort_values("row_index").reset_index(drop=True)

    def __repr__(self) -> str:
        return f"<linlens ScanResult {self.folder} ({len(self.parts)} parts)>"


def run_scan(launcher: str, model: str, dataset: PathLike, out: PathLike, *, analyses: Optional[Sequence[str]] = None,
             k: Optional[int] = None, max_tokens: Optional[int] = None, limit: Optional[int] = None,
             sample: Optional[int] = None, seed: Optional[int] = None, prompt_column: Optional[str] = None,
             shard: Optional[str] = None, resume: bool = False, batch: Optional[int] = None,
             threads: Optional[int] = None, progress: _progress.ProgressOption = True) -> ScanResult:
    """Runs ``launcher scan`` and returns its results; a failure is a :class:`LinlensError` with the command's line."""
    cmd: List[str] = [launcher, "scan", "--model", str(model), "--dataset", str(dataset), "--out", str(out)]
    if analyses is not None:
        cmd += ["--analyses", analyses if isinstance(analyses, str) else ",".join(analyses)]
    for flag, value in (("--k", k), ("--max-tokens", max_tokens), ("--limit", limit), ("--sample", sample),
                        ("--seed", seed), ("--prompt-column", prompt_column), ("--shard", shard),
                        ("--batch", batch), ("--threads", threads)):
        if value is not None:
            cmd += [flag, str(value)]
    if resume:
        cmd.append("--resume")
    bar = _progress.Progress("scan", progress)
    log: Deque[str] = collections.deque(maxlen=200)
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, encoding="utf-8", errors="replace", start_new_session=True)
    state = {"done": 0, "total": 0}

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            line = line.rstrip("\n")
            log.append(line)
            m = _TOTAL.match(line)
            if m:
                state["total"] = int(m.group(1))
                state["done"] = int(m.group(2) or 0)
            m = _PART.match(line)
            if m:
                state["done"], state["total"] = int(m.group(1)), int(m.group(2))
        proc.stderr.close()

    reader = threading.Thread(target=read, daemon=True, name="linlens-scan-stderr")
    reader.start()
    try:
        while proc.poll() is None:
            bar.update("prompts", state["done"], state["total"])
            try:
                proc.wait(0.25)
            except subprocess.TimeoutExpired:
                pass
    except KeyboardInterrupt:
        # SIGINT: the scan removes its temporary part and exits; its committed parts stay for --resume
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        raise
    reader.join(10)
    if proc.returncode != 0:
        raise LinlensError(cli_error(list(log), f"linlens scan exited with status {proc.returncode}"))
    bar.close("prompts", state["done"], state["total"])
    return ScanResult(out, log)
