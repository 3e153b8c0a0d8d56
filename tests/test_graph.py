"""FlowGraph construction, padding, flow merging and jraph conversion."""

import numpy as np
import pytest

from anomale_jax.graph import bucket_size, flow_scores, from_jraph, make_graph, pad_graph, to_jraph, unpad_edges


def _graph():
    # 4 nodes, node 3 isolated; a self-loop (2->2) and parallel edges (0->1 twice).
    senders = np.array([0, 0, 1, 2, 1])
    receivers = np.array([1, 1, 0, 2, 2])
    feats = np.arange(15, dtype=np.float32).reshape(5, 3)
    return make_graph(senders, receivers, feats, num_nodes=4, edge_flow=np.array([0, 1, 0, 2, 3]))


def test_make_graph_defaults_and_dtypes():
    g = _graph()
    assert g.num_nodes == 4 and g.num_edges == 5
    assert g.node_features.shape == (4, 3) and np.all(g.node_features == 1)
    assert g.senders.dtype == np.int32 and g.edge_features.dtype == np.float32
    assert g.edge_mask.all() and g.node_mask.all()
    assert np.array_equal(make_graph([0], [1], np.ones((1, 2)), 2).edge_flow, [0])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(senders=[0, 5], receivers=[1, 1], edge_features=np.ones((2, 2)), num_nodes=3), "node ids"),
        (dict(senders=[0, 1], receivers=[1], edge_features=np.ones((2, 2)), num_nodes=3), "senders/receivers"),
        (dict(senders=[0, 1], receivers=[1, 0], edge_features=np.ones((3, 2)), num_nodes=3), "edge_features"),
    ],
)
def test_make_graph_rejects_inconsistent_arrays(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_graph(**kwargs)


def test_bucket_size_bounds_padding():
    for n in [1, 7, 8, 9, 100, 1000, 12345, 10**6, 38_000_000]:
        b = bucket_size(n)
        assert b >= n and b >= 8
        assert b <= max(8, int(np.ceil(n * 1.25)) + 1), (n, b)
    # Few distinct buckets over a wide range: jit compiles per bucket, not per size.
    assert len({bucket_size(n) for n in range(1000, 2000)}) <= 5


def test_pad_graph_keeps_real_prefix_and_masks_padding():
    g = _graph()
    p = pad_graph(g)
    assert p.num_edges == bucket_size(5) and p.num_nodes >= 5
    np.testing.assert_array_equal(p.senders[:5], g.senders)
    np.testing.assert_array_equal(p.edge_features[:5], g.edge_features)
    assert p.num_real_edges == 5 and p.num_real_nodes == 4
    # Padded edges touch only a padding node and map to no flow.
    assert np.all(~p.node_mask[p.senders[5:]]) and np.all(~p.node_mask[p.receivers[5:]])
    assert np.all(p.edge_flow[5:] == -1) and np.all(p.edge_features[5:] == 0)
    np.testing.assert_array_equal(unpad_edges(p, np.arange(p.num_edges)), np.arange(5))


def test_pad_graph_rejects_shrinking():
    with pytest.raises(ValueError, match="cannot pad"):
        pad_graph(_graph(), num_nodes=3, num_edges=8)
    with pytest.raises(ValueError, match="padding node"):
        pad_graph(_graph(), num_nodes=4, num_edges=8)


def test_flow_scores_merges_directions():
    scores = np.array([0.1, 0.9, 0.5, 0.3, 0.7])
    flows = np.array([0, 1, 0, 2, 1])
    np.testing.assert_allclose(flow_scores(scores, flows, 3), [0.5, 0.9, 0.3])
    np.testing.assert_allclose(flow_scores(scores, flows, 3, how="mean"), [0.3, 0.8, 0.3])
    with pytest.raises(ValueError, match="flow 3 has no edge"):
        flow_scores(scores, flows, 4)


def test_jraph_round_trip():
    g = _graph()
    gt = to_jraph(g)
    assert int(gt.n_node[0]) == 4 and int(gt.n_edge[0]) == 5
    back = from_jraph(gt, edge_flow=g.edge_flow)
    for a, b in zip(g, back):
        np.testing.assert_array_equal(a, b)
