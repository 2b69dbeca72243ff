"""What an analysis returns: numpy arrays, pandas tables, the raw JSON document and the HTML report."""
from __future__ import annotations

import html
import io
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple, Type, Union

import numpy as np
import pandas as pd

#: |Σ J_i x_i + c − y| / |y| that rounding alone stays under (linlens.linear.Precision.reconstructionBound).
RECONSTRUCTION_BOUND: Dict[str, float] = {"fp32": 1e-5, "fp64": 1e-12}


def read_npz(data: bytes) -> Tuple[Dict[str, np.ndarray], Dict[str, Any]]:
    """The arrays (``NAME.npy`` entries, by NAME) and the manifest of a job's ``arrays.npz``."""
    arrays: Dict[str, np.ndarray] = {}
    manifest: Dict[str, Any] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for name in z.namelist():
            if name.endswith(".npy"):
                arrays[name[:-4]] = np.load(io.BytesIO(z.read(name)), allow_pickle=False)
            elif name == "manifest.json":
                manifest = json.loads(z.read(name))
    return arrays, manifest


def read_export(folder: Union[str, os.PathLike]) -> Tuple[Dict[str, np.ndarray], Dict[str, Any]]:
    """The arrays and manifest of a command line ``--export DIR`` folder (the same as the .npz's)."""
    folder = Path(folder)
    arrays = {p.stem: np.load(p, allow_pickle=False) for p in sorted(folder.glob("*.npy"))}
    manifest_file = folder / "manifest.json"
    manifest = json.loads(manifest_file.read_text("utf-8")) if manifest_file.exists() else {}
    return arrays, manifest


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


class Report:
    """A self-contained HTML report; shown inline in Jupyter in an iframe (its scripts keep to themselves)."""

    def __init__(self, html_text: str, height: int = 720):
        self.html = html_text
        self.height = height

    def _repr_html_(self) -> str:
        # srcdoc keeps the report's styles, scripts and content security policy apart from the notebook's
        return (f'<iframe srcdoc="{html.escape(self.html, quote=True)}" style="width:100%;height:{self.height}px;'
                f'border:1px solid #ddd" sandbox="allow-scripts allow-downloads"></iframe>')

    def save(self, path: Union[str, os.PathLike]) -> Path:
        """Writes the report (atomically) to ``path``; it opens offline in any browser."""
        p = Path(path)
        _write_atomically(p, self.html.encode("utf-8"))
        return p

    def __repr__(self) -> str:
        return f"<linlens Report: {len(self.html)} characters of HTML>"


class Result:
    """One prompt's result of one analysis.

    ``json``: the ``--json`` document (``result.json``); ``arrays``: the ``--export`` arrays by
    name (``arrays.npz``; empty for an analysis without arrays); ``manifest``: what the arrays
    are (shapes, meanings); ``options``: every option's value as the server ran it.
    """

    analysis: str = ""

    def __init__(self, analysis: str, document: Dict[str, Any], arrays: Optional[Dict[str, np.ndarray]] = None,
                 manifest: Optional[Dict[str, Any]] = None, report_html: Optional[str] = None,
                 options: Optional[Dict[str, Any]] = None, job_id: Optional[str] = None):
        self.analysis = analysis
        self.json = document
        self.arrays: Dict[str, np.ndarray] = dict(arrays or {})
        self.manifest: Dict[str, Any] = dict(manifest or {})
        self.report_html = report_html
        self.options: Dict[str, Any] = dict(options or {})
        self.job_id = job_id

    # ------------------------------------------------------------------ common parts

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    @property
    def prompt(self) -> str:
        return self.json.get("prompt", self.json.get("source_prompt", ""))

    @property
    def model(self) -> Dict[str, Any]:
        """The model's architecture, family, hidden size, layers, vocabulary size and source."""
        return self.json.get("model", {})

    @property
    def tokens(self) -> pd.DataFrame:
        """The prompt's tokens: position, token_id, text."""
        toks = self.json.get("tokens", self.json.get("source_tokens", []))
        return pd.DataFrame({"position": range(len(toks)), "token_id": [t["id"] for t in toks],
                             "text": [t["text"] for t in toks]})

    @property
    def prediction(self) -> pd.DataFrame:
        """The next-token distribution's top: rank, token_id, text, probability, logit."""
        p = self.json.get("prediction", self.json.get("source_prediction"))
        if not p:
            return pd.DataFrame(columns=["rank", "token_id", "text", "probability", "logit"])
        df = pd.DataFrame(p["top"])[["token_id", "text", "probability", "logit"]]
        df.insert(0, "rank", range(1, len(df) + 1))
        return df

    @property
    def predicted(self) -> Optional[str]:
        """The most likely next token's text."""
        p = self.json.get("prediction", self.json.get("source_prediction"))
        return p["text"] if p else None

    def report(self, height: int = 720) -> Report:
        """The HTML report, shown inline when it is a cell's value (``display(result.report())`` elsewhere)."""
        if self.report_html is None:
            raise ValueError(f"this {self.analysis} result has no report")
        return Report(self.report_html, height)

    def save(self, folder: Union[str, os.PathLike]) -> Path:
        """Writes ``result.json``, the arrays (``NAME.npy`` and ``manifest.json``, as ``--export``) and ``report.html``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        _write_atomically(folder / "result.json", json.dumps(self.json, indent=2).encode("utf-8"))
        for name, a in self.arrays.items():
            buf = io.BytesIO()
            np.save(buf, a, allow_pickle=False)
            _write_atomically(folder / f"{name}.npy", buf.getvalue())
        if self.manifest:
            _write_atomically(folder / "manifest.json", json.dumps(self.manifest, indent=2).encode("utf-8"))
        if self.report_html is not None:
            _write_atomically(folder / "report.html", self.report_html.encode("utf-8"))
        return folder

    def summary(self) -> Dict[str, Any]:
        """The headline numbers, for the compact display."""
        return {}

    def _repr_html_(self) -> str:
        rows: List[Tuple[str, str]] = [("analysis", self.analysis)]
        model = self.model
        if model:
            rows.append(("model", f"{model.get('family', '')} · d={model.get('hidden_size')} · "
                                  f"{model.get('layers')} layers · {Path(str(model.get('source', ''))).name}"))
        rows.append(("prompt", repr(self.prompt)))
        if self.predicted is not None:
            p = self.json.get("prediction", self.json.get("source_prediction"))
            rows.append(("prediction", f"{p['text']!r} p={p['probability']:.3f}"))
        rows += [(k, _fmt(v)) for k, v in self.summary().items()]
        if self.arrays:
            shown = ", ".join(f"{k} {tuple(v.shape)}" for k, v in list(self.arrays.items())[:6])
            more = len(self.arrays) - 6
            rows.append(("arrays", shown + (f", … {more} more" if more > 0 else "")))
        body = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style='text-align:left'>"
                       f"{html.escape(v)}</td></tr>" for k, v in rows)
        return f"<table class='linlens-result'>{body}</table>"

    def __repr__(self) -> str:
        return f"<linlens {type(self).__name__} of {self.prompt!r}: {', '.join(f'{k}={_fmt(v)}' for k, v in self.summary().items())}>"


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def _components(rows: List[Dict[str, Any]], **fixed: Any) -> List[Dict[str, Any]]:
    out = []
    for k, c in enumerate(rows, start=1):
        row = dict(fixed)
        row.update(k=k, sigma=c["sigma"], u_tokens=c["u_tokens"], v_tokens=c["v_tokens"],
                   u_token_ids=c["u_token_ids"], v_token_ids=c["v_token_ids"])
        if "v_position_weights" in c:
            row["v_position_weights"] = c["v_position_weights"]
        out.append(row)
    return out


class Decomposition(Result):
    """``decompose``: the detached Jacobians ``J`` (n, d, d), their SVDs and the reconstruction check."""

    @property
    def J(self) -> np.ndarray:
        """J_t for every position t, (n, d, d), row = output feature: ``y = Σ_t J[t] @ x[t]`` (+ c)."""
        return self.arrays["jacobian"]

    @property
    def x(self) -> np.ndarray:
        """The input embeddings (n, d)."""
        return self.arrays["x"]

    @property
    def y(self) -> np.ndarray:
        """The output embedding (d,): the final-normed hidden state at the last position."""
        return self.arrays["y"]

    @property
    def reconstructed(self) -> np.ndarray:
        return self.arrays["reconstructed"]

    @property
    def singular_values(self) -> np.ndarray:
        """Every position's singular values (n, d), descending."""
        return self.arrays["singular_values"]

    @property
    def u(self) -> np.ndarray:
        """The leading left singular vectors (n, components, d), oriented u·y > 0."""
        return self.arrays["u"]

    @property
    def v(self) -> np.ndarray:
        """The matching right singular vectors (n, components, d)."""
        return self.arrays["v"]

    @property
    def combined_singular_values(self) -> np.ndarray:
        """Singular values of the tokens-combined [J_0 … J_n−1] (d × n·d)."""
        return self.arrays["combined_singular_values"]

    @property
    def precision(self) -> str:
        return self.json["reconstruction"]["precision"]

    @property
    def relative_error(self) -> float:
        """|Σ J_i x_i + c − y| / |y| as the server computed it."""
        return self.json["reconstruction"]["relative_error"]

    @property
    def bound(self) -> float:
        """The relative error that rounding alone stays under at this precision."""
        return RECONSTRUCTION_BOUND[self.precision]

    def reconstruction_error(self) -> float:
        """|Σ J_t x_t − y| / |y| recomputed here from the arrays, in float64.

        For a model with biases (``constant_norm`` > 0 in ``json["reconstruction"]``) the map is
        affine, ``y = Σ J_t x_t + c``, and ``c`` is not among the arrays: the error is then that of
        the server's ``reconstructed`` (which includes ``c``).
        """
        y = self.y.astype(np.float64)
        if self.json["reconstruction"].get("constant_norm", 0.0):
            s = self.reconstructed.astype(np.float64)
        else:
            s = np.einsum("tij,tj->i", self.J.astype(np.float64), self.x.astype(np.float64))
        return float(np.linalg.norm(s - y) / np.linalg.norm(y))

    @property
    def positions(self) -> pd.DataFrame:
        """Per position: token, stable rank, σ₁."""
        return pd.DataFrame([{"position": s["position"], "token": s["token"], "stable_rank": s.get("stable_rank"),
                              "sigma_1": s["singular_values"][0]} for s in self.json["svd"]])

    @property
    def components(self) -> pd.DataFrame:
        """The decoded singular pairs of every J_t: position, token, k, sigma, u_tokens, v_tokens (and ids)."""
        rows: List[Dict[str, Any]] = []
        for s in self.json["svd"]:
            rows += _components(s["components"], position=s["position"], token=s["token"])
        return pd.DataFrame(rows)

    @property
    def combined_components(self) -> pd.DataFrame:
        """The decoded singular pairs of the tokens-combined J, with each v_k's weight at each position."""
        return pd.DataFrame(_components(self.json["svd_combined"]["components"]))

    def summary(self) -> Dict[str, Any]:
        s: Dict[str, Any] = {"relative error": self.relative_error, "precision": self.precision,
                             "bound": self.bound}
        if "stable_rank" in self.json.get("svd_combined", {}):
            s["stable rank (all tokens)"] = self.json["svd_combined"]["stable_rank"]
        return s


class Layers(Result):
    """``layers``: per layer and site, the cumulative and layer-wise Jacobians, their spectra and decoded tokens."""

    @property
    def layer_indexes(self) -> List[int]:
        return list(self.json["layers"])

    @property
    def keys(self) -> List[str]:
        return list(self.json["keys"])

    def jacobian(self, layer: int, key: str = "layer", kind: str = "cumulative") -> np.ndarray:
        """The site's J_t for every position (n, d, d): ``cumulative`` (w.r.t. the embeddings) or ``layerwise``."""
        return self.arrays[f"L{layer}_{key}_{kind}"]

    def spectrum(self, layer: int, key: str = "layer", kind: str = "cumulative") -> np.ndarray:
        """Singular values of the site's tokens-combined J."""
        return self.arrays[f"L{layer}_{key}_{kind}_combined_singular_values"]

    def spectra(self, key: str = "layer", kind: str = "cumulative") -> np.ndarray:
        """The tokens-combined singular values of every analysed layer at one site, (layers, d)."""
        return np.stack([self.spectrum(layer, key, kind) for layer in self.layer_indexes])

    @property
    def sites(self) -> pd.DataFrame:
        """One row per (layer, key): reconstruction errors, stable ranks, the top u token, projection on the final u."""
        rows = []
        for s in self.json["sites"]:
            cum, lw = s["cumulative"], s["layerwise"]
            top = cum["tokens_combined"]["components"]
            rows.append({"layer": s["layer"], "key": s["key"], "hook": s["hook"],
                         "cumulative_error": cum["relative_error"], "layerwise_error": lw["relative_error"],
                         "cumulative_stable_rank": cum["tokens_combined"].get("stable_rank"),
                         "layerwise_stable_rank": lw["tokens_combined"].get("stable_rank"),
                         "last_position_stable_rank": cum["last_position"].get("stable_rank"),
                         "top_u_tokens": top[0]["u_tokens"] if top else [],
                         "projection_on_final": s.get("projection_on_final")})
        return pd.DataFrame(rows)

    @property
    def stable_rank(self) -> pd.DataFrame:
        """Stable rank of the cumulative tokens-combined J by layer (rows) and key (columns)."""
        return pd.DataFrame(self.json["stable_rank"], index=pd.Index(self.layer_indexes, name="layer"))

    @property
    def components(self) -> pd.DataFrame:
        """Every decoded singular pair: layer, key, kind (cumulative/layerwise), scope (last_position/tokens_combined), k, ..."""
        rows: List[Dict[str, Any]] = []
        for s in self.json["sites"]:
            for kind in ("cumulative", "layerwise"):
                for scope in ("last_position", "tokens_combined"):
                    rows += _components(s[kind][scope]["components"], layer=s["layer"], key=s["key"], kind=kind,
                                        scope=scope)
        return pd.DataFrame(rows)

    def summary(self) -> Dict[str, Any]:
        errors = [e for s in self.json["sites"] for e in (s["cumulative"]["relative_error"], s["layerwise"]["relative_error"])]
        return {"layers": self.layer_indexes, "keys": ",".join(self.keys), "largest relative error": max(errors)}


class Attribution(Result):
    """``attribute``: each input position's exact contribution to one token's logit (or a logit difference)."""

    @property
    def contributions(self) -> pd.DataFrame:
        """position, token_id, token, value: the contributions w_tᵀ J_i x_i; they sum to the logit (+ constant)."""
        return pd.DataFrame(self.json["attribution"]["contributions"])

    @property
    def components(self) -> pd.DataFrame:
        """With ``by_component``: layer, key (attn/mlp), total, constant, per_position (empty otherwise)."""
        return pd.DataFrame(self.json["attribution"].get("components") or [],
                            columns=["layer", "key", "total", "per_position", "constant"])

    @property
    def target(self) -> str:
        return self.json["attribution"]["text"]

    @property
    def logit(self) -> float:
        return self.json["attribution"]["logit"]

    @property
    def relative_error(self) -> float:
        """|Σ contributions + constant − logit| / |logit|."""
        return self.json["attribution"]["relative_error"]

    def summary(self) -> Dict[str, Any]:
        a = self.json["attribution"]
        return {"token": repr(a["text"]), "logit": a["logit"], "sum": a["sum"], "relative error": a["relative_error"]}


class Steering(Result):
    """``steer``: the continuation of the prompt with the target's direction added at one layer, beside the plain one."""

    @property
    def continuations(self) -> pd.DataFrame:
        """kind (unsteered/steered/compare), strength, text, tokens, token_ids."""
        rows = [dict(kind="unsteered", strength=0.0, **self.json["unsteered"]),
                dict(kind="steered", strength=self.json["strength"], **self.json["steered"])]
        rows += [dict(kind="compare", **c) for c in self.json.get("comparison") or []]
        return pd.DataFrame(rows, columns=["kind", "strength", "text", "tokens", "token_ids"])

    @property
    def steered_text(self) -> str:
        return self.json["steered"]["text"]

    def summary(self) -> Dict[str, Any]:
        return {"target": repr(self.json["target_prompt"]), "layer": self.json["layer"], "λ": self.json["strength"],
                "steered": repr(self.json["steered"]["text"]), "unsteered": repr(self.json["unsteered"]["text"])}


class Prediction(Result):
    """``predict``: the forward pass's next-token distribution (``prediction`` holds its top)."""

    def summary(self) -> Dict[str, Any]:
        return {"listed": len(self.json["prediction"]["top"])}


class LogitLens(Result):
    """``logit-lens``: each layer's residual stream read through the final norm and the unembedding."""

    @property
    def layers(self) -> pd.DataFrame:
        """layer, hook, predicted_rank/probability/logit (of the model's final prediction), top tokens and probabilities."""
        return pd.DataFrame([{"layer": r["layer"], "hook": r["hook"], "predicted_rank": r["predicted_rank"],
                              "predicted_probability": r["predicted_probability"],
                              "predicted_logit": r["predicted_logit"],
                              "top_tokens": [t["text"] for t in r["top"]],
                              "top_probabilities": [t["probability"] for t in r["top"]]}
                             for r in self.json["layers"]])

    @property
    def logits(self) -> np.ndarray:
        """The lens logits (layers, vocabulary)."""
        return self.arrays["logits"]

    def summary(self) -> Dict[str, Any]:
        return {"layers read": len(self.json["layers"]), "last layer error": self.json.get("last_layer_error")}


class Concept(Result):
    """``concept``: a concept's logit split exactly over positions and layers, its spectral shares, the baselines."""

    @property
    def logit(self) -> float:
        """wᵀy: the concept's readout of the output embedding."""
        return float(self.json["logit"])

    @property
    def positions(self) -> pd.DataFrame:
        """position, token_id, token, exact (wᵀJ_i x_i, summing with the constant to ``logit``), grad_x_input (baseline)."""
        g = self.json["baselines"]["grad_x_input"]
        return pd.DataFrame([{**p, "exact": p["value"], "grad_x_input": g[i]}
                             for i, p in enumerate(self.json["attribution"]["positions"])]).drop(columns="value")

    @property
    def layers(self) -> pd.DataFrame:
        """layer, attn, mlp (exact parts at the last position), logit_lens (baseline), share (with emergence)."""
        shares = (self.json.get("spectral") or {}).get("layer_shares")
        lens = self.json["baselines"]["logit_lens"]
        return pd.DataFrame([{**l, "logit_lens": lens[i], **({"share": shares[i]} if shares else {})}
                             for i, l in enumerate(self.json["attribution"]["layers"])])

    def summary(self) -> Dict[str, Any]:
        s = self.json.get("spectral") or {}
        return {"concept": self.json["concept"]["name"], "logit": self.logit,
                "relative error": self.json["attribution"]["relative_error"],
                "share (last position)": (s.get("last_position") or {}).get("share"),
                "probability": self.json["baselines"]["probability"]}


RESULT_TYPES: Mapping[str, Type[Result]] = {
    "decompose": Decomposition, "layers": Layers, "attribute": Attribution, "steer": Steering,
    "predict": Prediction, "logit-lens": LogitLens, "concept": Concept,
}


def result_type(analysis: str) -> Type[Result]:
    """The class for an analysis's result (plain :class:`Result` for one this client does not know)."""
    return RESULT_TYPES.get(analysis, Result)
