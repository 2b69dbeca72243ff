"""The client against a real server on the tiny fixture models (every analysis in about a second)."""
from __future__ import annotations

import gc
import inspect
import json
import os
import urllib.error
import urllib.request

import numpy as np
import pandas as pd
import pytest

import linlens
from linlens.results import read_export

from conftest import LAUNCHER, THREADS, TINY_MODEL, cli, cli_error_line

PROMPT = "Hello world"

# cheap options per analysis; the result class each returns
CHEAP = {
    "decompose": ({"components": 2, "top": 3}, linlens.Decomposition),
    "layers": ({"components": 2, "top": 3, "layers": [0, 2], "keys": ["layer", "mlp"]}, linlens.Layers),
    "attribute": ({"by_component": True}, linlens.Attribution),
    "steer": ({"target": "Goodbye", "tokens": 3}, linlens.Steering),
    "predict": ({"top": 4}, linlens.Prediction),
    "logit-lens": ({"top": 3}, linlens.LogitLens),
    "concept": ({"concept": "tiny-pairs", "k": 2}, linlens.Concept),
}


def raw_post(lens: linlens.Lens, body: dict) -> dict:
    """POST /api/jobs without the client: the server's own answer."""
    req = urllib.request.Request(lens.url + "api/jobs", data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as answer:
            return json.loads(answer.read())
    except urllib.error.HTTPError as e:
        return json.loads(e.read())


def test_every_listed_analysis_has_a_method_with_its_options(tiny_lens):
    assert set(tiny_lens.analyses) == set(CHEAP)
    for name, spec in tiny_lens.analyses.items():
        method = getattr(tiny_lens, name.replace("-", "_"))
        params = inspect.signature(method).parameters
        keywords = {p for p, v in params.items() if v.kind is inspect.Parameter.KEYWORD_ONLY}
        assert keywords == {o["name"] for o in spec["options"]}, name
        for o in spec["options"]:
            required = params[o["name"]].default is inspect.Parameter.empty
            assert required == o["required"], (name, o["name"])


@pytest.mark.parametrize("analysis", list(CHEAP))
def test_every_analysis_returns_arrays_tables_json_and_report(tiny_lens, analysis):
    options, kind = CHEAP[analysis]
    r = tiny_lens.run(analysis, PROMPT, **options)
    assert type(r) is kind and r.analysis == analysis
    assert r.json["model"]["hidden_size"] == 32
    n = len(r.tokens)
    assert n == 11 and list(r.tokens.columns) == ["position", "token_id", "text"]
    assert set(options) <= set(r.options) and all(r.options[k] == v for k, v in options.items())
    listed = tiny_lens.analyses[analysis]["arrays"]
    assert bool(r.arrays) == listed
    for entry in r.manifest.get("arrays", []):
        a = r.arrays[entry["file"][:-4]]
        assert list(a.shape) == entry["shape"] and a.dtype == np.dtype(entry["dtype"])
    assert r.report_html is not None and "<html" in r.report_html.lower()
    shown = r.report()._repr_html_()
    assert shown.startswith("<iframe srcdoc=\"") and "&lt;html" in shown.lower()
    assert "<table" in r._repr_html_() and analysis in r._repr_html_()


def test_decompose_shapes_and_reconstruction(tiny_lens):
    for precision, dtype in (("fp32", np.float32), ("fp64", np.float64)):
        d = tiny_lens.decompose(PROMPT, precision=precision, components=3)
        n, dim = 11, 32
        assert d.J.shape == (n, dim, dim) and d.J.dtype == dtype
        assert d.x.shape == (n, dim) and d.y.shape == (dim,)
        assert d.singular_values.shape == (n, dim)
        assert d.u.shape == (n, 3, dim) and d.v.shape == (n, 3, dim)
        assert d.bound == linlens.RECONSTRUCTION_BOUND[precision]
        assert d.relative_error <= d.bound
        assert d.reconstruction_error() <= d.bound
        assert len(d.components) == n * 3 and {"position", "k", "sigma", "u_tokens", "v_tokens"} <= set(d.components)
        assert np.allclose(d.components["sigma"].to_numpy().reshape(n, 3), d.singular_values[:, :3], rtol=1e-12)
        assert len(d.combined_components) == 3


def test_arrays_equal_the_command_lines_export_bit_for_bit(tiny_lens, tmp_path):
    cases = [("decompose", ["--components", "2", "--precision", "fp64"], {"components": 2, "precision": "fp64"}),
             ("decompose", ["--components", "3"], {"components": 3}),
             ("layers", ["--layers", "0,2", "--keys", "layer,attn", "--components", "2"],
              {"layers": [0, 2], "keys": ["layer", "attn"], "components": 2}),
             ("logit-lens", ["--top", "3"], {"top": 3})]
    for i, (analysis, flags, options) in enumerate(cases):
        out = tmp_path / f"export{i}"
        cli(analysis, "--model", str(TINY_MODEL), "--prompt", PROMPT, "--threads", str(THREADS), "--quiet",
            "--export", str(out), *flags)
        exported, manifest = read_export(out)
        r = tiny_lens.run(analysis, PROMPT, **options)
        assert sorted(exported) == sorted(r.arrays), analysis
        for name, a in exported.items():
            assert a.dtype == r.arrays[name].dtype and np.array_equal(a, r.arrays[name]), (analysis, name)
        assert manifest == r.manifest


def test_layers_tables_and_spectra(tiny_lens):
    r = tiny_lens.layers(PROMPT, layers=(0, 2), keys="layer,mlp", components=2)
    assert r.layer_indexes == [0, 2] and r.keys == ["layer", "mlp"]
    assert r.spectra("mlp").shape == (2, 32) and r.spectra("layer", "layerwise").shape == (2, 32)
    assert r.jacobian(2, "layer").shape == (11, 32, 32)
    assert len(r.sites) == 4 and (r.sites["cumulative_error"] <= 1e-5).all()
    assert list(r.stable_rank.index) == [0, 2] and list(r.stable_rank.columns) == ["layer", "mlp"]
    assert len(r.components) == 4 * 2 * 2 * 2


def test_attribution_sums_to_the_logit(tiny_lens):
    a = tiny_lens.attribute(PROMPT, by_component=True)
    assert len(a.contributions) == 11
    assert a.contributions["value"].sum() == pytest.approx(a.logit, rel=1e-5)
    assert len(a.components) == 2 * 3 and a.target == a.predicted


def test_steer_and_logit_lens_tables(tiny_lens):
    s = tiny_lens.steer(PROMPT, target="Goodbye", tokens=2, compare=[])
    assert list(s.continuations["kind"]) == ["unsteered", "steered"]
    assert all(len(t) == 2 for t in s.continuations["tokens"])
    lens = tiny_lens.logit_lens(PROMPT, layers=[1, 2], top=2)
    assert list(lens.layers["layer"]) == [1, 2] and lens.logits.shape == (2, 300)


@pytest.mark.parametrize("options", [
    {"components": 0}, {"components": 65}, {"precision": "fp16"}, {"nonlinear": 1}, {"top": "3"},
])
def test_refusals_carry_the_servers_message(tiny_lens, options):
    with pytest.raises(linlens.LinlensError) as caught:
        tiny_lens.decompose(PROMPT, **options)
    answer = raw_post(tiny_lens, {"model": tiny_lens.model, "prompts": [PROMPT], **options})
    assert str(caught.value) == answer["error"] and caught.value.status == answer["status"] == 400


def test_unknown_option_analysis_and_model_as_the_server_says(tiny_lens):
    answer = raw_post(tiny_lens, {"model": tiny_lens.model, "prompts": [PROMPT], "bogus": 1})
    with pytest.raises(linlens.LinlensError, match="unknown field") as caught:
        tiny_lens.run("decompose", PROMPT, bogus=1)
    assert str(caught.value) == answer["error"]
    answer = raw_post(tiny_lens, {"analysis": "nope", "model": tiny_lens.model, "prompts": [PROMPT]})
    with pytest.raises(linlens.LinlensError) as caught:
        tiny_lens.run("nope", PROMPT)
    assert str(caught.value) == answer["error"]
    answer = raw_post(tiny_lens, {"model": "no-such-model", "prompts": [PROMPT]})
    with pytest.raises(linlens.LinlensError) as caught:
        linlens.Lens("no-such-model", url=tiny_lens.url)
    assert str(caught.value) == answer["error"]


def test_a_failed_job_raises_its_line(tiny_lens):
    with pytest.raises(linlens.JobFailed) as caught:
        tiny_lens.layers(PROMPT, layers=[99])
    assert str(caught.value) == "'layers': layer 99 out of range 0..2 (the model has 3 layers)"
    assert tiny_lens.job(caught.value.job_id)["error"] == str(caught.value)
    assert tiny_lens.predict(PROMPT).predicted  # the server goes on


def test_keyboard_interrupt_cancels_the_job(tiny_lens):
    def interrupt(stage, done, total):
        raise KeyboardInterrupt

    tiny_lens.progress = interrupt
    try:
        with pytest.raises(KeyboardInterrupt):
            tiny_lens.layers(PROMPT)
    finally:
        tiny_lens.progress = False
    assert tiny_lens.job(tiny_lens.last_job)["state"] == "cancelled"
    assert tiny_lens.predict(PROMPT).predicted  # nothing left running: the next job is admitted


def test_progress_callback_sees_the_stages(tiny_lens):
    seen = []
    tiny_lens.progress = lambda stage, done, total: seen.append(stage)
    try:
        tiny_lens.decompose(PROMPT, components=1)
    finally:
        tiny_lens.progress = False
    assert seen  # at least the submission's state; a slow machine shows the stages


def test_session_defaults_apply_where_the_analysis_has_them(tmp_path):
    with linlens.Lens(str(TINY_MODEL), precision="fp64", progress=False, threads=THREADS) as lens:
        assert lens.decompose(PROMPT, components=1).J.dtype == np.float64
        assert lens.decompose(PROMPT, components=1, precision="fp32").J.dtype == np.float32
        assert lens.predict(PROMPT).options == {"top": 10}  # predict has no precision
        pid = lens.server.pid
        attached = linlens.Lens(str(TINY_MODEL), url=lens.url, progress=False)
        assert attached.predict(PROMPT, top=2).prediction.shape[0] == 2
        attached.close()
        assert lens.server.alive()  # closing an attached Lens leaves the server running
    assert not lens.server.alive()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_dropping_the_last_reference_stops_the_server():
    lens = linlens.Lens(str(TINY_MODEL), progress=False)
    process = lens.server._proc
    assert process.poll() is None
    del lens
    gc.collect()
    assert process.poll() is not None


def test_a_server_that_cannot_start_reports_the_command_lines_line(tmp_path):
    missing = str(tmp_path / "missing.gguf")
    with pytest.raises(linlens.LinlensError) as caught:
        linlens.Lens(missing, progress=False)
    done = cli("serve", "--port", "0", "--model", missing, check=False)
    assert done.returncode == 2 and str(caught.value) == cli_error_line(done)


def test_save_writes_what_export_writes(tiny_lens, tmp_path):
    d = tiny_lens.decompose(PROMPT, components=2)
    folder = d.save(tmp_path / "saved")
    arrays, manifest = read_export(folder)
    assert manifest == d.manifest and all(np.array_equal(arrays[k], d.arrays[k]) for k in d.arrays)
    assert json.loads((folder / "result.json").read_text()) == d.json
    assert d.report().save(tmp_path / "r.html").read_text() == d.report_html


def test_scan_reads_as_duckdb_and_pandas(tiny_lens, tmp_path):
    dataset = tmp_path / "prompts.jsonl"
    rows = [{"prompt": "Hello world", "label": "a"}, {"prompt": "The cat", "label": "b"},
            {"prompt": "   ", "label": "c"}, {"prompt": "Once upon", "label": "d"}]
    dataset.write_text("".join(json.dumps(r) + "\n" for r in rows))
    scan = tiny_lens.scan(dataset, tmp_path / "scan", analyses=["predict", "attribute"], threads=1)
    df = scan.df()
    assert isinstance(df, pd.DataFrame) and list(df["row_index"]) == [0, 1, 2, 3]
    assert list(df["label"]) == ["a", "b", "c", "d"]
    assert df["error"].isna().tolist() == [True, True, False, True]
    assert (df.loc[df["error"].isna(), "attribution_error"] < 1e-5).all()
    assert scan.relation().count("*").fetchall()[0][0] == 4
    top = scan.query("SELECT predicted_token FROM results WHERE row_index = 0")["predicted_token"][0]
    assert top == tiny_lens.predict("Hello world").predicted
    assert scan.manifest["schema_version"] >= 1
    with pytest.raises(linlens.LinlensError) as caught:  # a non-empty --out, refused as on the command line
        tiny_lens.scan(dataset, tmp_path / "scan", threads=1)
    done = cli("scan", "--model", str(TINY_MODEL), "--dataset", str(dataset), "--out", str(tmp_path / "scan"),
               "--threads", "1", check=False)
    assert done.returncode == 2 and str(caught.value) == cli_error_line(done)


def test_an_interrupted_scan_stops_and_resumes(tiny_lens, tmp_path):
    dataset = tmp_path / "prompts.txt"
    dataset.write_text("".join(f"Prompt number {i}\n" for i in range(6)))
    out = tmp_path / "scan"

    def interrupt(stage, done, total):
        raise KeyboardInterrupt

    tiny_lens.progress = interrupt
    try:
        with pytest.raises(KeyboardInterrupt):
            tiny_lens.scan(dataset, out, batch=2, threads=1)
    finally:
        tiny_lens.progress = False
    assert not list(out.glob("parts/.*.tmp"))  # the scan removed its temporary part on the way out
    scan = tiny_lens.scan(dataset, out, batch=2, threads=1, resume=True)
    assert list(scan.df()["row_index"]) == list(range(6))


def test_the_text_bar():
    from linlens import _progress
    assert _progress.line("decompose", "jacobian", 150, 600, 4.2) == \
        "decompose [######..................]  25%  jacobian 150/600  4 s"
    assert _progress.line("predict", "done", 0, 0, 75, finished=True) == \
        "predict [########################] 100%  done  1 min 15 s"


def test_a_chat_prompt_sends_the_chat_fields(tiny_lens):
    body = tiny_lens.request("predict", linlens.Chat(PROMPT, system="Be brief."))
    assert body["prompts"] == [PROMPT] and body["chat"] is True and body["system"] == "Be brief."
    assert "system" not in tiny_lens.request("predict", linlens.Chat(PROMPT)) and "chat" not in tiny_lens.request("predict", PROMPT)
    # the tiny model has no chat template: the job fails with the server's one line
    with pytest.raises(linlens.JobFailed, match="has no chat template"):
        tiny_lens.predict(linlens.Chat(PROMPT))
