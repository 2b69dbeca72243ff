"""The notebook's handle on a Linear Lens server: one method per analysis."""
from __future__ import annotations

import numbers
import os
import time
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

from . import _progress
from ._http import Api
from ._server import ServerProcess, find_launcher, wait_until
from .errors import JobFailed, LinlensError
from .results import (Attribution, Concept, Decomposition, Layers, LogitLens, Prediction, Result, Steering,
                      read_npz, result_type)
from .scan import ScanResult, run_scan

# the request's own fields (linlens.serve.JobRequest.FIELDS); the analysis's options come after them
_REQUEST_FIELDS = ("analysis", "model", "prompts", "chat", "system")
_FINISHED = ("done", "failed", "cancelled")

PathLike = Union[str, "os.PathLike[str]"]


class Chat:
    """A prompt to put in the model's chat template (the command line's ``--chat``): one user turn,
    after a system turn when ``system`` is given, followed by the generation prompt. Pass it where
    a method takes a prompt; the result's ``formatted_prompt`` is the text the template wrote.

    >>> lens.decompose(Chat("What is the capital of France?", system="Answer in one word."))
    """

    def __init__(self, prompt: str, system: Optional[str] = None):
        self.prompt = prompt
        self.system = system

    def __repr__(self) -> str:
        return f"Chat({self.prompt!r}" + (f", system={self.system!r})" if self.system is not None else ")")


Prompt = Union[str, Chat]


class Lens:
    """A Linear Lens server for one model: started here (``bin/linlens serve`` on a free loopback
    port) or attached to (``url=``), with one method per analysis.

    >>> with Lens("gemma-3-270m") as lens:
    ...     d = lens.decompose("The bridge out of Marin is the", components=3)
    ...     d.J.shape, d.relative_error <= d.bound

    ``model``: a catalog name (fetched on first use), a cached model's name, a ``.gguf`` file or a
    Hugging Face folder. ``precision`` and ``mlp_path`` are this session's defaults for every
    analysis that has them (each call may override them). ``threads`` is the server's
    ``--threads`` (pin it for bit-for-bit comparisons with the command line), ``max_tokens`` its
    ``--max-tokens``, ``java_opts`` its ``LINLENS_JAVA_OPTS``. ``progress``: a bar while a job
    runs (True), nothing (False), or a callable taking ``(stage, done, total)``. ``launcher``:
    the ``bin/linlens`` to run (default: ``$LINLENS_HOME/bin/linlens``, a checkout above the
    current folder, or ``linlens`` on the PATH).

    The server is stopped by :meth:`close`, at the end of a ``with`` block, or when Python exits.
    A job interrupted with Ctrl-C (KeyboardInterrupt, a notebook's stop button) is cancelled.
    Every refusal or failure is a :class:`LinlensError` with the server's one-line message.
    """

    def __init__(self, model: PathLike = "gemma-3-270m", precision: Optional[str] = None,
                 mlp_path: Optional[str] = None, *, url: Optional[str] = None, threads: Optional[int] = None,
                 max_tokens: Optional[int] = None, java_opts: Optional[str] = None,
                 launcher: Optional[str] = None, progress: _progress.ProgressOption = True,
                 startup_timeout: float = 900.0, poll_interval: float = 0.1):
        self.progress = progress
        self.poll_interval = poll_interval
        self.defaults: Dict[str, Any] = {k: v for k, v in (("precision", precision), ("mlp_path", mlp_path)) if v is not None}
        self._model_arg = str(model)
        self._launcher: Optional[str] = None
        self.server: Optional[ServerProcess] = None
        if url is None:
            self._launcher = find_launcher(launcher)
            self.server = ServerProcess(self._launcher, [self._model_arg], threads=threads, max_tokens=max_tokens,
                                        java_opts=java_opts, startup_timeout=startup_timeout)
            url = self.server.url
        elif launcher is not None:
            self._launcher = find_launcher(launcher)
        self.threads = threads
        #: the id of the job submitted last (for :meth:`job` and :meth:`cancel`)
        self.last_job: Optional[str] = None
        self.url = url
        self.api = Api(url)
        try:
            self.analyses: Dict[str, Dict[str, Any]] = {a["name"]: a for a in self.api.get_json("api/analyses")["analyses"]}
            self.model = self._served_name(self._model_arg)
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ life cycle

    def close(self) -> None:
        """Stops the server this Lens started (an attached one keeps running)."""
        if self.server is not None:
            self.server.stop()

    def __enter__(self) -> "Lens":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        how = f"pid {self.server.pid}" if self.server else "attached"
        return f"<linlens Lens {self.model!r} at {self.url} ({how})>"

    def models(self) -> List[Dict[str, Any]]:
        """The server's models: name, path, loaded."""
        return self.api.get_json("api/models")["models"]

    def _served_name(self, model: str) -> str:
        """The server's name for ``model`` (given by name, or as a path it offers)."""
        offered = self.models()
        for m in offered:
            if m["name"] == model:
                return m["name"]
        wanted = {os.path.abspath(model), os.path.realpath(model)}
        for m in offered:
            if m["path"] in wanted or os.path.realpath(m["path"]) in wanted:
                return m["name"]
        raise LinlensError(f"unknown model '{model}' (available: {', '.join(m['name'] for m in offered)})")

    # ------------------------------------------------------------------ any analysis

    def options(self, analysis: str) -> List[Dict[str, Any]]:
        """The analysis's options as ``GET /api/analyses`` lists them (name, kind, description, default, min, max)."""
        return self._spec(analysis)["options"]

    def _spec(self, analysis: str) -> Dict[str, Any]:
        spec = self.analyses.get(analysis)
        if spec is None:
            raise LinlensError(f"unknown analysis '{analysis}' (known: {', '.join(self.analyses)})", 400)
        return spec

    def request(self, analysis: str, prompt: Optional[Prompt] = None, **options: Any) -> Dict[str, Any]:
        """The ``POST /api/jobs`` body: options checked against the server's listing, None left out,
        this session's defaults added where the analysis has them, values made JSON (numpy
        scalars, tuples, ranges, comma-separated lists). A :class:`Chat` prompt adds ``chat``
        (and ``system``)."""
        spec = self._spec(analysis)
        kinds = {o["name"]: o["kind"] for o in spec["options"]}
        for name in options:
            if name not in kinds:
                raise LinlensError(f"unknown field '{name}' (known: {', '.join(_REQUEST_FIELDS + tuple(kinds))})", 400)
        given = {k: v for k, v in options.items() if v is not None}
        for name, value in self.defaults.items():
            if name in kinds:
                given.setdefault(name, value)
        chat = prompt if isinstance(prompt, Chat) else None
        if chat is not None:
            prompt = chat.prompt
        body: Dict[str, Any] = {"analysis": analysis, "model": self.model,
                                "prompts": [spec["default_prompt"] if prompt is None else prompt]}
        if chat is not None:
            body["chat"] = True
            if chat.system is not None:
                body["system"] = chat.system
        for name, value in given.items():
            body[name] = _json_value(kinds[name], value)
        return body

    def run(self, analysis: str, prompt: Optional[Prompt] = None, **options: Any) -> Result:
        """Runs any analysis of ``GET /api/analyses`` on ``prompt`` (its default prompt when None)."""
        body = self.request(analysis, prompt, **options)
        status = self.api.post_json("api/jobs", body)
        self.last_job = status["id"]
        status = self._wait(status)
        return self._fetch(status)

    def _wait(self, status: Dict[str, Any]) -> Dict[str, Any]:
        job = status["id"]
        bar = _progress.Progress(status["analysis"], self.progress)
        try:
            while status["state"] not in _FINISHED:
                stage = status["stage"]
                if status["state"] == "queued" and status.get("queue_position"):
                    stage = f"queued (position {status['queue_position']})"
                bar.update(stage, status["done"], status["total"])
                time.sleep(self.poll_interval)
                status = self.api.get_json(f"api/jobs/{job}")
        except KeyboardInterrupt:
            self.cancel(job)
            raise
        bar.close(status["stage"], status["done"], status["total"])
        if status["state"] == "failed":
            raise JobFailed(status["error"] or "failed", job)
        if status["state"] == "cancelled":
            raise LinlensError(f"job {job} was cancelled")
        return status

    def cancel(self, job: str, wait: float = 60.0) -> Dict[str, Any]:
        """Cancels a job (``DELETE /api/jobs/ID``) and waits until it has stopped (a running one stops at its next step)."""
        status = self.api.delete_json(f"api/jobs/{job}")
        box = [status]

        def finished() -> bool:
            box[0] = self.api.get_json(f"api/jobs/{job}")
            return box[0]["state"] in _FINISHED

        try:
            wait_until(finished, wait, 0.05)
        except KeyboardInterrupt:
            pass  # a second interrupt: stop waiting; the server still cancels it
        return box[0]

    def job(self, job: str) -> Dict[str, Any]:
        """A job's status (``GET /api/jobs/ID``)."""
        return self.api.get_json(f"api/jobs/{job}")

    def _fetch(self, status: Dict[str, Any]) -> Result:
        job, analysis = status["id"], status["analysis"]
        downloads = status["results"][0]["downloads"]
        base = f"api/jobs/{job}/results/0/"
        document = self.api.get_json(base + "result.json")
        arrays, manifest = read_npz(self.api.get_bytes(base + "arrays.npz")) if "arrays.npz" in downloads else ({}, {})
        report = self.api.get_bytes(base + "report.html").decode("utf-8") if "report.html" in downloads else None
        return result_type(analysis)(analysis, document, arrays, manifest, report, status["options"], job)

    # ------------------------------------------------------------------ the analyses

    def decompose(self, prompt: Optional[Prompt] = None, *, precision: Optional[str] = None,
                  mlp_path: Optional[str] = None, components: Optional[int] = None, top: Optional[int] = None,
                  nonlinear: Optional[bool] = None, matrix_free: Optional[bool] = None,
                  k: Optional[int] = None, concept: Optional[str] = None) -> Decomposition:
        """The detached Jacobians J_t of the prompt (``.J``: (n, d, d)), the check y = Σ J_t x_t
        (``.relative_error`` against ``.bound``), every J_t's SVD (``.singular_values``, ``.u``,
        ``.v``) and the decoded singular vectors (``.components``). ``precision`` fp32|fp64,
        ``mlp_path`` up|gate, ``components`` pairs decoded per position (1..64), ``top`` tokens per
        vector (1..50), ``nonlinear`` also the ordinary Jacobian, ``matrix_free`` never form J
        (no arrays, no report) with top ``k``; ``concept`` (a concept's name) also its logit split over
        the positions and its share of the top singular subspaces (``.json["concept"]``)."""
        return self.run("decompose", prompt, precision=precision, mlp_path=mlp_path, components=components,
                        top=top, nonlinear=nonlinear, matrix_free=matrix_free, k=k, concept=concept)  # type: ignore[return-value]

    def layers(self, prompt: Optional[Prompt] = None, *, layers: Optional[Union[int, Sequence[int]]] = None,
               keys: Optional[Union[str, Sequence[str]]] = None, precision: Optional[str] = None,
               mlp_path: Optional[str] = None, components: Optional[int] = None, top: Optional[int] = None,
               matrix_free: Optional[bool] = None, k: Optional[int] = None, concept: Optional[str] = None) -> Layers:
        """Layer by layer (0-based ``layers``, default about 8 spread over the depth; ``keys`` among
        layer, attn, mlp): each site's cumulative and layer-wise Jacobians (``.jacobian(L, key)``),
        tokens-combined spectra (``.spectra(key)``: (layers, d)), stable ranks and decoded tokens
        (``.sites``, ``.components``); ``concept`` also the concept's logit and spectral share at every
        site (``.sites[i]["concept"]``). Cost grows with layers × keys: pick few for a quick look."""
        return self.run("layers", prompt, layers=layers, keys=keys, precision=precision, mlp_path=mlp_path,
                        components=components, top=top, matrix_free=matrix_free, k=k, concept=concept)  # type: ignore[return-value]

    def attribute(self, prompt: Optional[Prompt] = None, *, token: Optional[str] = None,
                  token_id: Optional[int] = None, versus: Optional[str] = None, versus_id: Optional[int] = None,
                  by_component: Optional[bool] = None, precision: Optional[str] = None,
                  mlp_path: Optional[str] = None) -> Attribution:
        """The exact contribution of each input position to a token's logit (default: the
        predicted token; ``token`` text of one token or ``token_id``), or to its difference with
        ``versus``/``versus_id``; ``by_component`` also splits it by layer and attn/mlp
        (``.contributions``, ``.components``)."""
        return self.run("attribute", prompt, token=token, token_id=token_id, versus=versus, versus_id=versus_id,
                        by_component=by_component, precision=precision, mlp_path=mlp_path)  # type: ignore[return-value]

    def steer(self, prompt: Optional[Prompt] = None, *, target: str, layer: Optional[int] = None,
              strength: Optional[float] = None, compare: Optional[Sequence[float]] = None,
              tokens: Optional[int] = None, mlp_path: Optional[str] = None) -> Steering:
        """Continues ``target`` with the prompt's leading direction added at ``layer`` (default
        about two thirds of the depth) at ``strength`` λ (and each of ``compare``; ``[]`` for
        none), ``tokens`` tokens (1..64), beside the unsteered continuation (``.continuations``)."""
        return self.run("steer", prompt, target=target, layer=layer, strength=strength, compare=compare,
                        tokens=tokens, mlp_path=mlp_path)  # type: ignore[return-value]

    def predict(self, prompt: Optional[Prompt] = None, *, top: Optional[int] = None) -> Prediction:
        """The next-token distribution's ``top`` tokens (``.prediction``)."""
        return self.run("predict", prompt, top=top)  # type: ignore[return-value]

    def logit_lens(self, prompt: Optional[Prompt] = None, *, top: Optional[int] = None,
                   layers: Optional[Union[int, Sequence[int]]] = None) -> LogitLens:
        """Each layer's residual stream read through the final norm and unembedding (``.layers``,
        arrays ``hidden``, ``normed``, ``logits``: (layers, vocabulary))."""
        return self.run("logit-lens", prompt, top=top, layers=layers)  # type: ignore[return-value]

    def concept(self, prompt: Optional[Prompt] = None, *, concept: Optional[str] = None, k: Optional[int] = None,
                last_only: Optional[bool] = None, emergence: Optional[bool] = None, fraction: Optional[float] = None,
                precision: Optional[str] = None, mlp_path: Optional[str] = None) -> Concept:
        """A concept (``concept``: a built-in or made name, see ``linlens concepts list``) for the
        prompt: its logit wᵀy split exactly over positions (``.positions``) and over layers ×
        attention/MLP (``.layers``), the spectral share of J's top-``k`` subspace in the concept's
        (``last_only``: the last position's alone, n times cheaper; with ``emergence``, per layer),
        and the baselines (logit lens, gradient × input, probability)."""
        return self.run("concept", prompt, concept=concept, k=k, last_only=last_only, emergence=emergence, fraction=fraction,
                        precision=precision, mlp_path=mlp_path)  # type: ignore[return-value]

    # ------------------------------------------------------------------ dataset scans

    def scan(self, dataset: PathLike, out: PathLike, *, analyses: Optional[Sequence[str]] = None,
             k: Optional[int] = None, max_tokens: Optional[int] = None, limit: Optional[int] = None,
             sample: Optional[int] = None, seed: Optional[int] = None, prompt_column: Optional[str] = None,
             shard: Optional[str] = None, resume: bool = False, batch: Optional[int] = None,
             threads: Optional[int] = None) -> ScanResult:
        """Runs ``linlens scan`` on this Lens's model over ``dataset`` into ``out`` (the command
        line's options; see the README's "Dataset scans") and returns its results (a DuckDB
        relation with ``.relation()``, a DataFrame with ``.df()``). The scan runs as its own
        process (the server has no scan endpoint); Ctrl-C stops it, ``resume=True`` continues it."""
        launcher = self._launcher or find_launcher(None)
        model_path = self._model_arg
        for m in self.models():
            if m["name"] == self.model:
                model_path = m["path"]
        return run_scan(launcher, model_path, dataset, out, analyses=analyses, k=k, max_tokens=max_tokens,
                        limit=limit, sample=sample, seed=seed, prompt_column=prompt_column, shard=shard,
                        resume=resume, batch=batch, threads=self.threads if threads is None else threads,
                        progress=self.progress)


def _json_value(kind: str, value: Any) -> Any:
    """A Python value as the API's JSON for an option of that kind (the server checks ranges and meaning)."""
    if kind in ("int", "optional_int"):
        return _int(value)
    if kind == "double":
        return float(value) if isinstance(value, numbers.Real) and not isinstance(value, bool) else value
    if kind == "flag":
        return bool(value) if _is_bool(value) else value
    if kind == "int_list":
        items = _items(value)
        return [_int(int(v)) if isinstance(v, str) and v.lstrip("-").isdigit() else _int(v) for v in items] \
            if items is not None else value
    if kind == "double_list":
        items = _items(value)
        return [float(v) if isinstance(v, numbers.Real) and not isinstance(v, bool) else v for v in items] \
            if items is not None else value
    if kind == "site_list":
        items = _items(value)
        return [str(v) for v in items] if items is not None else value
    if kind in ("text", "precision", "mlp_path"):
        return value if isinstance(value, str) else str(value)
    return value


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool) or type(value).__name__ == "bool_"  # numpy.bool_


def _int(value: Any) -> Any:
    if isinstance(value, numbers.Integral) and not _is_bool(value):
        return int(value)
    return value  # the server names the problem


def _items(value: Any) -> Optional[List[Any]]:
    """A list option given as one value, a comma-separated string, or any iterable (tuple, range, array)."""
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()] if value.strip() else []
    if isinstance(value, numbers.Number):
        return [value]
    if isinstance(value, Iterable):
        return list(value)
    return None
