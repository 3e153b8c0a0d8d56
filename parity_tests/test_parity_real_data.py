"""Real data and real weights: the 72-row NF-UNSW-NB15-v2 sample and the pretrained upstream checkpoint.

The sample is preprocessed with the paper protocol over all 72 rows (sample_frac=1.0: the published 10%
would leave 7 flows) and turned into the train and test graphs. Checks:
- our graph construction equals the notebook's (networkx MultiGraph -> to_directed -> dgl.from_networkx);
- the pretrained state dict loads unchanged in both implementations and round-trips through JAX;
- both embed the sample identically, also when the torch side uses the notebook-built DGL graph.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from anomale_jax.config import DataConfig, ModelConfig
from anomale_jax.graph import pad_graph
from parity_tests.helpers import (
    PRETRAINED,
    UNSW_SAMPLE,
    assert_max_abs,
    assert_rel,
    reference_torch_or_skip,
    require_file,
)

rt = reference_torch_or_skip()
import jax.numpy as jnp  # noqa: E402
import networkx as nx  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

import anomale_jax  # noqa: E402
from anomale_jax.data.graph_build import build_graph, host_ids  # noqa: E402
from anomale_jax.data.netflow import load_netflow  # noqa: E402
from anomale_jax.data.preprocess import prepare  # noqa: E402
from anomale_jax.model.torch_io import model_config_from_state_dict, params_to_state_dict  # noqa: E402
from anomale_jax.train import step  # noqa: E402

SPLITS = ("train", "test")


@pytest.fixture(scope="module")
def sample():
    """{split: (Split, FlowGraph)} of the 72-row UNSW sample under the paper protocol."""
    data = prepare(load_netflow(require_file(UNSW_SAMPLE)), DataConfig(protocol="paper", sample_frac=1.0))
    return {name: (split, build_graph(split, "paper")) for name, split in (("train", data.train), ("test", data.test))}


@pytest.fixture(scope="module")
def pretrained():
    """(state dict, torch model, JAX params) of the upstream checkpoint."""
    state = rt.load_state_dict_file(require_file(PRETRAINED))
    model = rt.make_model(ModelConfig(), 39, 39)
    model.load_state_dict(state, strict=True)
    params = anomale_jax.load_torch_state_dict(PRETRAINED)
    return state, model, params


def notebook_graph(split):
    """The notebook's construction, step for step: MultiGraph of flows, to_directed, dgl.from_networkx."""
    frame = pd.DataFrame({"IPV4_SRC_ADDR": split.src, "IPV4_DST_ADDR": split.dst})
    frame["h"] = list(split.features)
    graph = nx.from_pandas_edgelist(frame, "IPV4_SRC_ADDR", "IPV4_DST_ADDR", ["h"], create_using=nx.MultiGraph())
    names = np.asarray(sorted(graph.nodes))  # dgl.from_networkx relabels nodes in sorted order
    with warnings.catch_warnings():
        # DGL stacks the per-edge arrays itself, exactly as in the notebook, and warns that this is slow.
        warnings.filterwarnings("ignore", "Creating a tensor from a list of numpy.ndarrays")
        g = rt.graph.dgl.from_networkx(graph.to_directed(), edge_attrs=["h"])
    return g, names


def _edge_keys(src_names, dst_names, feats):
    """Sort order of edges by (source name, destination name, features): a canonical edge order."""
    columns = [feats[:, j] for j in reversed(range(feats.shape[1]))] + [np.asarray(dst_names), np.asarray(src_names)]
    return np.lexsort(columns)


@pytest.mark.parametrize("split_name", SPLITS)
def test_graph_equals_the_notebook_construction(sample, split_name):
    split, fg = sample[split_name]
    g, nb_names = notebook_graph(split)
    _, _, hosts = host_ids(split.src, split.dst)
    assert g.num_nodes() == fg.num_nodes and g.num_edges() == fg.num_edges
    assert sorted(hosts) == list(nb_names)
    # Same multiset of (source host, destination host, features); only the edge order differs.
    src, dst = (t.numpy() for t in g.edges(order="eid"))
    nb_feats = g.edata["h"].numpy()
    ours = _edge_keys(hosts[fg.senders], hosts[fg.receivers], fg.edge_features)
    theirs = _edge_keys(nb_names[src], nb_names[dst], nb_feats)
    np.testing.assert_array_equal(hosts[fg.senders][ours], nb_names[src][theirs])
    np.testing.assert_array_equal(hosts[fg.receivers][ours], nb_names[dst][theirs])
    np.testing.assert_array_equal(fg.edge_features[ours], nb_feats[theirs])


def test_pretrained_checkpoint_loads_in_both(pretrained):
    state, model, params = pretrained
    assert model_config_from_state_dict(state) == ModelConfig()
    assert rt.model_from_state_dict(state).config == ModelConfig()
    # JAX holds exactly the upstream numbers, and gives them back in the upstream layout.
    back = params_to_state_dict(params)
    assert set(back) == set(state)
    for name, value in state.items():
        np.testing.assert_array_equal(back[name], value.numpy(), err_msg=name)
    reloaded = rt.make_model(ModelConfig(), 39, 39)
    reloaded.load_state_dict({k: torch.as_tensor(v) for k, v in back.items()}, strict=True)
    for name, value in reloaded.state_dict().items():
        assert torch.equal(value, state[name]), name


@pytest.mark.parametrize("split_name", SPLITS)
def test_pretrained_embeddings_agree(sample, pretrained, split_name):
    _, fg = sample[split_name]
    _, model, params = pretrained
    want = rt.embed(model, *rt.torch_inputs(fg))  # [E, 256], entries up to ~0.44
    assert np.isfinite(want).all() and np.abs(want).max() > 0
    # The public JAX API on plain arrays, and the jitted embed on a padded graph.
    got = anomale_jax.embed_edges(params, fg.senders, fg.receivers, fg.edge_features, fg.num_nodes)
    assert_max_abs(got, want, 1e-5, "embed_edges vs torch")
    padded = pad_graph(fg)
    got_jit = np.asarray(step.embed(params, padded, ModelConfig()))[: fg.num_edges]
    assert_max_abs(got_jit, want, 1e-5, "jitted embed (padded) vs torch")


@pytest.mark.parametrize("split_name", SPLITS)
def test_pretrained_embeddings_match_the_notebook_graph(sample, pretrained, split_name):
    """The reference on the notebook-built DGL graph vs JAX on our FlowGraph, edges matched by their keys."""
    split, fg = sample[split_name]
    _, model, params = pretrained
    g, nb_names = notebook_graph(split)
    nb_feats = g.edata["h"]
    nfeats = torch.ones(g.num_nodes(), nb_feats.shape[1])  # the notebook's all-ones node features
    theirs_z = rt.embed(model, g, nfeats, nb_feats)
    ours_z = np.asarray(anomale_jax.embed_edges(params, fg.senders, fg.receivers, fg.edge_features, fg.num_nodes))
    _, _, hosts = host_ids(split.src, split.dst)
    src, dst = (t.numpy() for t in g.edges(order="eid"))
    ours = _edge_keys(hosts[fg.senders], hosts[fg.receivers], fg.edge_features)
    theirs = _edge_keys(nb_names[src], nb_names[dst], nb_feats.numpy())
    assert_max_abs(ours_z[ours], theirs_z[theirs], 1e-5, "embeddings, notebook graph vs ours")


def test_pretrained_dgi_loss_agrees(sample, pretrained):
    _, fg = sample["train"]
    _, model, params = pretrained
    perm = np.random.default_rng(61).permutation(fg.num_edges)
    g, nfeats, efeats = rt.torch_inputs(fg)
    with torch.no_grad():
        want = float(model(g, nfeats, efeats, perm=torch.as_tensor(perm)))
    for fast_path in (False, True):
        config = ModelConfig(fast_path=fast_path)
        loss, _ = step.loss_and_grads(params, fg, jnp.asarray(perm, jnp.int32), config)
        assert_rel(loss, want, 1e-5, f"DGI loss with the pretrained weights (fast_path={fast_path})")
