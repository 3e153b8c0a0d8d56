"""Graph construction: node/edge counts on real samples, equality with networkx MultiGraph.to_directed(),
edge modes, flow alignment and the no-IP refusal."""

from __future__ import annotations

from collections import Counter

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from anomale_jax.config import DataConfig
from anomale_jax.data.graph_build import build_graph, build_graph_arrays, edge_index, host_ids
from anomale_jax.data.netflow import load_netflow
from anomale_jax.data.preprocess import Split, prepare
from anomale_jax.errors import InputError
from anomale_jax.graph import flow_scores

UNSW = "nf-unsw-nb15-v2-sample72.csv"
BOT = "nf-bot-iot-v2-sample250k.csv.gz"
CSE = "nf-cse-cic-ids2018-v2-noip-sample10k.csv"


def _endpoints(table, rows=None):
    frame = table.frame if rows is None else table.frame[rows]
    features = frame.select(table.feature_columns).to_numpy()
    return frame["IPV4_SRC_ADDR"].to_numpy(), frame["IPV4_DST_ADDR"].to_numpy(), features


def _networkx_triples(src, dst) -> tuple[Counter, list]:
    """The notebook's graph: from_pandas_edgelist into a MultiGraph, then to_directed()."""
    frame = pd.DataFrame({"src": src, "dst": dst, "flow": np.arange(len(src))})
    g = nx.from_pandas_edgelist(frame, "src", "dst", ["flow"], create_using=nx.MultiGraph()).to_directed()
    return Counter((u, v, d["flow"]) for u, v, d in g.edges(data=True)), list(g.nodes)


def _our_triples(graph, hosts) -> Counter:
    return Counter(zip(hosts[graph.senders].tolist(), hosts[graph.receivers].tolist(), graph.edge_flow.tolist()))


def test_unsw_sample_counts(shared_data):
    table = load_netflow(shared_data / UNSW)
    src, dst, features = _endpoints(table)
    raw = pd.read_csv(shared_data / UNSW)
    self_loops = int((raw["IPV4_SRC_ADDR"] == raw["IPV4_DST_ADDR"]).sum())
    hosts = set(raw["IPV4_SRC_ADDR"]) | set(raw["IPV4_DST_ADDR"])
    graph = build_graph_arrays(src, dst, features)
    assert len(hosts) == 27 and graph.num_nodes == 27
    assert graph.num_edges == 2 * 72 - self_loops
    assert graph.node_features.shape == (27, 39) and graph.node_features.dtype == np.float32
    assert np.all(graph.node_features == 1)
    assert graph.edge_features.shape == (graph.num_edges, 39) and graph.edge_features.dtype == np.float32
    directed = build_graph_arrays(src, dst, features, edge_mode="directed")
    assert directed.num_edges == 72 and directed.num_nodes == 27


@pytest.mark.parametrize("name, rows", [(UNSW, None), (BOT, slice(0, 20_000))])
def test_matches_networkx_multigraph_to_directed(shared_data, name, rows):
    table = load_netflow(shared_data / name)
    src, dst, features = _endpoints(table, rows)
    pairs = Counter(zip(src.tolist(), dst.tolist()))
    assert max(pairs.values()) > 1  # parallel flows between the same hosts are kept apart
    if rows is None:  # the real samples hold no self-loop flow; make some from real rows
        src = src.copy()
        src[[3, 10, 40]] = dst[[3, 10, 40]]
    graph = build_graph_arrays(src, dst, features)
    _, _, hosts = host_ids(src, dst)
    want, nx_nodes = _networkx_triples(src, dst)
    assert _our_triples(graph, hosts) == want
    # Node ids follow networkx's (first-appearance) node order, so node i is the notebook's DGL node i.
    assert hosts.tolist() == nx_nodes
    # Every edge carries its own flow's features.
    np.testing.assert_array_equal(graph.edge_features, features[graph.edge_flow].astype(np.float32))


def test_edge_order_and_flow_alignment():
    src = np.array(["a", "b", "a", "c", "a"], dtype=object)
    dst = np.array(["b", "b", "b", "a", "c"], dtype=object)
    s, d, hosts = host_ids(src, dst)
    assert hosts.tolist() == ["a", "b", "c"]
    senders, receivers, flow = edge_index(s, d, "paper")
    # Forward edges first in flow order, then reverses of the non-self-loop flows (flow 1 is b->b).
    np.testing.assert_array_equal(flow, [0, 1, 2, 3, 4, 0, 2, 3, 4])
    np.testing.assert_array_equal(senders, [0, 1, 0, 2, 0, 1, 1, 0, 2])
    np.testing.assert_array_equal(receivers, [1, 1, 1, 0, 2, 0, 0, 2, 0])
    # Per-edge scores merge back to one score per flow.
    scores = flow_scores(flow.astype(float) * 10, flow, num_flows=5)
    np.testing.assert_array_equal(scores, [0, 10, 20, 30, 40])
    senders, receivers, flow = edge_index(s, d, "directed")
    np.testing.assert_array_equal(senders, s)
    np.testing.assert_array_equal(flow, np.arange(5))


def test_build_graph_from_prepared_split(shared_data):
    table = load_netflow(shared_data / UNSW)
    prepared = prepare(table, DataConfig(protocol="clean"))
    split = prepared.train
    graph = build_graph(split)
    assert graph.edge_features.shape[1] == len(prepared.feature_names)
    np.testing.assert_array_equal(np.bincount(graph.edge_flow, minlength=split.num_flows)[split.src != split.dst], 2)
    edge_labels = split.label[graph.edge_flow]
    assert edge_labels.sum() == 2 * split.label[split.src != split.dst].sum() + split.label[split.src == split.dst].sum()
    # Node feature width can be chosen.
    assert build_graph(split, node_feature_dim=5).node_features.shape == (graph.num_nodes, 5)


def test_no_ip_file_refuses_graph_building(shared_data):
    table = load_netflow(shared_data / CSE)
    prepared = prepare(table, DataConfig(protocol="clean"))
    assert prepared.train.src is None
    with pytest.raises(InputError) as info:
        build_graph(prepared.train)
    message = str(info.value)
    assert message.startswith(str(shared_data / CSE))
    assert "no IPV4_SRC_ADDR/IPV4_DST_ADDR columns, so no host graph can be built" in message
    assert "raw-feature baselines still work" in message


def test_bad_edge_mode_and_empty_input():
    with pytest.raises(InputError, match="edge_mode"):
        edge_index(np.zeros(1), np.zeros(1), "undirected")
    empty = build_graph_arrays(np.array([], dtype=object), np.array([], dtype=object), np.zeros((0, 4)))
    assert empty.num_nodes == 0 and empty.num_edges == 0 and empty.node_features.shape == (0, 4)


def test_integer_endpoints_and_determinism():
    rng = np.random.default_rng(0)
    src, dst = rng.integers(0, 50, 1000), rng.integers(0, 50, 1000)
    assert (src == dst).sum() > 5
    features = rng.random((1000, 3), dtype=np.float32)
    a, b = build_graph_arrays(src, dst, features), build_graph_arrays(src.copy(), dst.copy(), features)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    _, _, hosts = host_ids(src, dst)
    assert _our_triples(a, hosts) == _networkx_triples(src, dst)[0]
    assert a.num_edges == 2 * 1000 - (src == dst).sum()
    split = Split(features, np.zeros(1000, np.int8), np.array(["Benign"] * 1000, object), None, None, np.arange(1000))
    with pytest.raises(InputError, match="no host graph"):
        build_graph(split)
