"""The client on the demo model (Gemma 3 270M): the paper's setting, with cheap options."""
from __future__ import annotations

import numpy as np
import pytest

import linlens
from linlens.results import read_export

from conftest import DEMO_MODEL, THREADS, cli

PROMPT = "The bridge out of Marin is the"


def test_decompose_equals_the_command_lines_export_bit_for_bit(demo_lens, tmp_path):
    d = demo_lens.decompose(PROMPT, components=2, top=3)
    n, dim = len(d.tokens), d.json["model"]["hidden_size"]
    assert (n, dim) == (8, 640)
    assert d.J.shape == (n, dim, dim) and d.J.dtype == np.float32
    assert d.singular_values.shape == (n, dim) and d.u.shape == (n, 2, dim) and d.v.shape == (n, 2, dim)
    assert d.relative_error <= d.bound == 1e-5
    assert d.reconstruction_error() <= d.bound
    assert d.predicted == " only"
    out = tmp_path / "export"
    cli("decompose", "--model", str(DEMO_MODEL), "--prompt", PROMPT, "--components", "2", "--top", "3",
        "--threads", str(THREADS), "--quiet", "--export", str(out))
    exported, manifest = read_export(out)
    assert sorted(exported) == sorted(d.arrays)
    for name, a in exported.items():
        assert a.dtype == d.arrays[name].dtype and np.array_equal(a, d.arrays[name]), name
    assert manifest == d.manifest


def test_layers_on_one_layer(demo_lens):
    r = demo_lens.layers(PROMPT, layers=[17], keys=["layer"], components=2, top=3)
    assert r.layer_indexes == [17] and r.spectra("layer").shape == (1, 640)
    assert r.jacobian(17).shape == (8, 640, 640)
    assert r.sites["cumulative_error"].iloc[0] <= 1e-5
    # the last layer's cumulative J is decompose's J: the same top token
    assert r.sites["top_u_tokens"].iloc[0][0] == " only"


def test_attribution_sums_to_the_logit(demo_lens):
    a = demo_lens.attribute(PROMPT)
    assert a.target == " only" and len(a.contributions) == 8
    assert a.contributions["value"].sum() == pytest.approx(a.logit, rel=1e-4)
    assert a.relative_error <= 1e-5
