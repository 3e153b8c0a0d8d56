"""The torch reference on its own: published structure, the notebook's math, training and the DGL shim.

The reference is checked against an independent float64 numpy statement of ANOMALE.md steps 9-10 and
against the notebook's own layout (the [N, 1, F] dummy axis), so the JAX parity tests compare against
something that is itself right.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from anomale_jax.config import ModelConfig
from anomale_jax.graph import pad_graph
from parity_tests.helpers import (
    PRETRAINED,
    REPO_ROOT,
    assert_max_abs,
    reference_torch_or_skip,
    require_file,
    tricky_graph,
)

rt = reference_torch_or_skip()
import torch  # noqa: E402  (after the guarded import above)

PUBLISHED = ModelConfig()
TWO_LAYER = ModelConfig(node_dims=(24, 16), edge_dim=40, activation="tanh")
WIDE_HEAD = ModelConfig(node_dims=(20,), edge_dim=24, edge_head_uses_edge_features=True, activation="elu")


# ----------------------------------------------------------------------------- numpy statement of the math
def np_activation(name, x):
    return {
        "relu": lambda v: np.maximum(v, 0.0),
        "tanh": np.tanh,
        "elu": lambda v: np.where(v > 0, v, np.expm1(np.minimum(v, 0.0))),
        "identity": lambda v: v,
    }[name](x)


def np_encode(sd, config, senders, receivers, x, h):
    """ANOMALE.md step 9 in float64 numpy, looping over edges for the mean (no scatter library)."""
    n = x.shape[0]
    total = np.zeros((n, h.shape[1]))
    count = np.zeros(n)
    for e, v in enumerate(receivers):
        total[v] += h[e]
        count[v] += 1
    h_neigh = total / np.maximum(count, 1)[:, None]  # zeros where no edge arrives
    node = x
    for i in range(config.num_layers):
        w, b = sd[f"encoder.layers.{i}.W_apply.weight"], sd[f"encoder.layers.{i}.W_apply.bias"]
        node = np_activation(config.activation, np.concatenate([node, h_neigh], 1) @ w.T + b)
    last = config.num_layers - 1
    w, b = sd[f"encoder.layers.{last}.W_edge.weight"], sd[f"encoder.layers.{last}.W_edge.bias"]
    parts = [node[senders], node[receivers]] + ([h] if config.edge_head_uses_edge_features else [])
    return node, np.concatenate(parts, 1) @ w.T + b


def np_bce_with_logits(logits, target):
    return float(np.mean(np.maximum(logits, 0) - logits * target + np.log1p(np.exp(-np.abs(logits)))))


def np_dgi_loss(sd, config, senders, receivers, x, h, perm):
    """ANOMALE.md step 10 in float64 numpy."""
    _, pos = np_encode(sd, config, senders, receivers, x, h)
    _, neg = np_encode(sd, config, senders, receivers, x, h[perm])
    s = 1.0 / (1.0 + np.exp(-pos.mean(0)))
    w = sd["discriminator.weight"]
    return np_bce_with_logits(pos @ (w @ s), 1.0) + np_bce_with_logits(neg @ (w @ s), 0.0)


def numpy_state(model):
    return {k: v.detach().double().numpy() for k, v in model.state_dict().items()}


def graph_arrays(fg):
    return (np.asarray(fg.senders), np.asarray(fg.receivers), np.asarray(fg.node_features, np.float64),
            np.asarray(fg.edge_features, np.float64))


# ----------------------------------------------------------------------------- structure and names
def test_published_parameter_names_and_shapes():
    model = rt.make_model(PUBLISHED, 39, 39)
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert shapes == {
        "encoder.layers.0.W_apply.weight": (128, 78),
        "encoder.layers.0.W_apply.bias": (128,),
        "encoder.layers.0.W_edge.weight": (256, 256),
        "encoder.layers.0.W_edge.bias": (256,),
        "discriminator.weight": (256, 256),
    }


def test_two_layer_sizes_come_from_config():
    model = rt.make_model(TWO_LAYER, 7, 39)
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    # Every layer averages the original 39 edge features; only the last one has W_edge.
    assert shapes == {
        "encoder.layers.0.W_apply.weight": (24, 7 + 39),
        "encoder.layers.0.W_apply.bias": (24,),
        "encoder.layers.1.W_apply.weight": (16, 24 + 39),
        "encoder.layers.1.W_apply.bias": (16,),
        "encoder.layers.1.W_edge.weight": (40, 2 * 16),
        "encoder.layers.1.W_edge.bias": (40,),
        "discriminator.weight": (40, 40),
    }


def test_published_initialisers():
    torch.manual_seed(0)
    model = rt.make_model(PUBLISHED, 39, 39)
    sd = model.state_dict()
    # xavier_uniform with ReLU gain: bound sqrt(2) * sqrt(6 / (78 + 128)); torch default Linear: 1/sqrt(fan_in).
    xavier = np.sqrt(2.0) * np.sqrt(6.0 / (78 + 128))
    w = sd["encoder.layers.0.W_apply.weight"].numpy()
    assert np.abs(w).max() <= xavier and np.abs(w).max() > 0.95 * xavier
    assert np.abs(sd["encoder.layers.0.W_apply.bias"].numpy()).max() <= 1 / np.sqrt(78)
    edge_w = sd["encoder.layers.0.W_edge.weight"].numpy()
    assert np.abs(edge_w).max() <= 1 / 16 and np.abs(edge_w).max() > 0.95 / 16
    disc = sd["discriminator.weight"].numpy()
    assert np.abs(disc).max() <= 1 / 16 and np.abs(disc).max() > 0.95 / 16


def test_unknown_activation_is_rejected():
    with pytest.raises(ValueError, match="activation"):
        rt.make_model(ModelConfig(activation="swish"), 39, 39)


def test_upstream_checkpoint_loads_unchanged():
    sd = rt.load_state_dict_file(require_file(PRETRAINED))
    assert all(v.device.type == "cpu" for v in sd.values())
    model = rt.make_model(PUBLISHED, 39, 39)
    result = model.load_state_dict(sd, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    for k, v in model.state_dict().items():
        assert torch.equal(v, sd[k]), k
    inferred = rt.model_from_state_dict(sd)
    assert inferred.config == PUBLISHED
    for k, v in inferred.state_dict().items():
        assert torch.equal(v, sd[k]), k


@pytest.mark.parametrize("config", [TWO_LAYER, WIDE_HEAD], ids=["two_layer", "wide_head"])
def test_model_from_state_dict_reads_other_sizes(config):
    model = rt.make_model(config, 39, 39)
    again = rt.model_from_state_dict(model.state_dict(), activation=config.activation)
    assert again.config == config


# ----------------------------------------------------------------------------- graph
def test_dgl_graph_keeps_real_edges_in_order():
    fg = tricky_graph()
    padded = pad_graph(fg)
    assert padded.num_edges > fg.num_edges and padded.num_nodes > fg.num_nodes
    g, nfeats, efeats = rt.torch_inputs(padded)
    src, dst = g.edges()
    assert g.num_nodes() == fg.num_nodes and g.num_edges() == fg.num_edges
    np.testing.assert_array_equal(src.numpy(), fg.senders)
    np.testing.assert_array_equal(dst.numpy(), fg.receivers)
    np.testing.assert_array_equal(efeats.numpy(), fg.edge_features)
    np.testing.assert_array_equal(nfeats.numpy(), fg.node_features)
    # Isolated node 9 exists in the DGL graph although no edge names it.
    assert g.in_degrees(9) == 0 and g.out_degrees(9) == 0


# ----------------------------------------------------------------------------- math
@pytest.mark.parametrize("config", [PUBLISHED, TWO_LAYER, WIDE_HEAD], ids=["published", "two_layer", "wide_head"])
def test_encoder_matches_numpy_float64(config):
    fg = tricky_graph()
    torch.manual_seed(1)
    model = rt.make_model(config, 39, 39, dtype=torch.float64)
    g, nfeats, efeats = rt.torch_inputs(fg, dtype=torch.float64)
    node, edge = model.encoder(g, nfeats, efeats)
    want_node, want_edge = np_encode(numpy_state(model), config, *graph_arrays(fg))
    assert_max_abs(node, want_node, 1e-12, "node embeddings")
    assert_max_abs(edge, want_edge, 1e-12, "edge embeddings")
    # Isolated nodes see a zero neighbourhood mean: h = act(W_apply [x || 0]).
    w, b = numpy_state(model)["encoder.layers.0.W_apply.weight"], numpy_state(model)["encoder.layers.0.W_apply.bias"]
    if config.num_layers == 1:
        assert_max_abs(node[9], np_activation(config.activation, w[:, :39] @ np.ones(39) + b), 1e-12, "isolated")


@pytest.mark.parametrize("config", [PUBLISHED, TWO_LAYER], ids=["published", "two_layer"])
def test_dgi_loss_matches_numpy_float64(config):
    fg = tricky_graph(seed=3)
    torch.manual_seed(2)
    model = rt.make_model(config, 39, 39, dtype=torch.float64)
    g, nfeats, efeats = rt.torch_inputs(fg, dtype=torch.float64)
    perm = np.random.default_rng(0).permutation(fg.num_edges)
    loss = model(g, nfeats, efeats, perm=torch.as_tensor(perm))
    want = np_dgi_loss(numpy_state(model), config, *graph_arrays(fg), perm)
    assert abs(float(loss.detach()) - want) <= 1e-12 * abs(want), (float(loss.detach()), want)


def test_default_permutation_is_random_and_seeded():
    fg = tricky_graph()
    model = rt.make_model(PUBLISHED, 39, 39, dtype=torch.float64)
    g, nfeats, efeats = rt.torch_inputs(fg, dtype=torch.float64)
    losses = []
    for seed in (0, 0, 1):
        torch.manual_seed(seed)
        losses.append(model(g, nfeats, efeats).item())
    assert losses[0] == losses[1]
    assert losses[0] != losses[2]
    # The default draws torch.randperm(E) after seeding, so injecting that permutation reproduces it.
    torch.manual_seed(1)
    assert model(g, nfeats, efeats, perm=torch.randperm(fg.num_edges)).item() == losses[2]


def test_notebook_layout_with_dummy_axis_gives_the_same_values():
    """Re-states the notebook's forward pass ([N, 1, F] tensors, `.sum(1)` at the end) with the same weights."""
    fn = rt.model.fn
    fg = tricky_graph(seed=5)
    torch.manual_seed(3)
    model = rt.make_model(PUBLISHED, 39, 39)
    layer = model.encoder.layers[0]
    g, nfeats, efeats = rt.torch_inputs(fg)
    perm = torch.randperm(fg.num_edges)

    def notebook_encoder(nf, ef):  # nf [N, 1, F], ef [E, 1, F]
        with g.local_scope():
            g.ndata["h"], g.edata["h"] = nf, ef
            g.update_all(lambda edges: {"m": edges.data["h"]}, fn.mean("m", "h_neigh"))
            g.ndata["h"] = torch.relu(layer.W_apply(torch.cat([g.ndata["h"], g.ndata["h_neigh"]], 2)))
            u, v = g.edges()
            edge = layer.W_edge(torch.cat((g.srcdata["h"][u], g.dstdata["h"][v]), 2))
            return g.ndata["h"].sum(1), edge.sum(1)

    nf3, ef3 = nfeats[:, None, :], efeats[:, None, :]
    node_nb, edge_nb = notebook_encoder(nf3, ef3)
    node, edge = model.encoder(g, nfeats, efeats)
    assert torch.equal(node, node_nb) and torch.equal(edge, edge_nb)

    pos, neg = edge_nb, notebook_encoder(nf3, ef3[perm])[1]
    summary = torch.sigmoid(pos.mean(dim=0))
    bce = torch.nn.BCEWithLogitsLoss()
    w = model.discriminator.weight
    lp, ln = torch.matmul(pos, torch.matmul(w, summary)), torch.matmul(neg, torch.matmul(w, summary))
    notebook_loss = bce(lp, torch.ones_like(lp)) + bce(ln, torch.zeros_like(ln))
    assert_max_abs(model(g, nfeats, efeats, perm=perm), notebook_loss, 1e-6, "loss")


# ----------------------------------------------------------------------------- training and embedding
def test_train_keeps_the_lowest_loss_weights_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    fg = tricky_graph(seed=7)
    g, nfeats, efeats = rt.torch_inputs(fg, dtype=torch.float64)
    rng = np.random.default_rng(4)
    perms = [rng.permutation(fg.num_edges) for _ in range(30)]
    torch.manual_seed(4)
    model = rt.make_model(TWO_LAYER, 39, 39, dtype=torch.float64)
    init = {k: v.clone() for k, v in model.state_dict().items()}
    best, losses = rt.train(model, g, nfeats, efeats, epochs=30, lr=1e-2, perms=perms)
    assert len(losses) == 30 and all(np.isfinite(losses))
    assert min(losses[-5:]) < losses[0]  # it learns
    assert list(tmp_path.iterdir()) == []
    # The kept weights are the ones that produced the lowest loss, with that epoch's permutation.
    best_epoch = int(np.argmin(losses))
    check = rt.make_model(TWO_LAYER, 39, 39, dtype=torch.float64)
    check.load_state_dict(best)
    assert check(g, nfeats, efeats, perm=perms[best_epoch]).item() == pytest.approx(losses[best_epoch], rel=1e-12)
    # Same init and permutations -> same trajectory (a callable works like a sequence).
    model.load_state_dict(init)
    _, again = rt.train(model, g, nfeats, efeats, epochs=30, lr=1e-2, perms=lambda epoch: perms[epoch])
    assert again == losses


def test_train_rejects_a_wrong_permutation():
    fg = tricky_graph()
    g, nfeats, efeats = rt.torch_inputs(fg)
    with pytest.raises(ValueError, match="permutation of epoch 0"):
        rt.train(rt.make_model(PUBLISHED, 39, 39), g, nfeats, efeats, epochs=1, perms=[np.arange(3)])


def test_embed_is_the_encoder_output():
    fg = tricky_graph()
    g, nfeats, efeats = rt.torch_inputs(fg)
    model = rt.make_model(PUBLISHED, 39, 39)
    z = rt.embed(model, g, nfeats, efeats)
    assert isinstance(z, np.ndarray) and z.shape == (fg.num_edges, 256) and z.dtype == np.float32
    np.testing.assert_array_equal(z, model.encoder(g, nfeats, efeats)[1].detach().numpy())


# ----------------------------------------------------------------------------- import guard and DGL shim
def _run_python(code: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=env, cwd=REPO_ROOT, timeout=120)


@pytest.mark.parametrize("missing", ["torch", "dgl"])
def test_missing_framework_names_the_extra(missing):
    proc = _run_python(f"""
        import sys
        sys.modules[{missing!r}] = None  # makes `import {missing}` raise ImportError
        try:
            import reference_torch
        except ImportError as err:
            print("IMPORT-ERROR:", err)
        """)
    assert "IMPORT-ERROR:" in proc.stdout, proc.stderr
    assert "pip install torch==2.13.0 && pip install -e '.[reference]'" in proc.stdout


def test_dgl_fallback_import_path_works_through_the_shim():
    """DGL's fallback (`from setuptools.extern.packaging import version`) resolves when its first import fails.

    Without the shim this very import raises ModuleNotFoundError: No module named 'setuptools.extern'
    (setuptools >= 71).
    """
    proc = _run_python("""
        import builtins
        real_import = builtins.__import__

        def import_hiding_packaging_from_dgl(name, globals=None, locals=None, fromlist=(), level=0):
            # Only dgl.utils is refused `packaging`, so it takes its fallback branch.
            if name == "packaging" and (globals or {}).get("__name__") == "dgl.utils":
                raise ImportError("packaging hidden from dgl.utils by the test")
            return real_import(name, globals, locals, fromlist, level)

        builtins.__import__ = import_hiding_packaging_from_dgl
        import packaging.version
        import reference_torch._dgl_compat as compat
        import dgl.utils
        print("FALLBACK-IS-PACKAGING:", dgl.utils.version is packaging.version)
        print("VENDORED:", compat._setuptools_vendors_packaging())
        print("WORKS:", dgl.utils.version.Version("1.2") < dgl.utils.version.Version("1.10"))
        """)
    assert proc.returncode == 0, proc.stderr
    assert "WORKS: True" in proc.stdout, proc.stdout
    # With setuptools >= 71 the shim's alias is what the fallback found; an old setuptools keeps its own copy.
    assert "VENDORED: True" in proc.stdout or "FALLBACK-IS-PACKAGING: True" in proc.stdout, proc.stdout
