"""A small synthetic training graph shared by the training tests (built once per session)."""

from __future__ import annotations

import numpy as np
import pytest

from anomale_jax.config import DataConfig


@pytest.fixture(scope="session")
def synthetic_csv(tmp_path_factory):
    """A 1,500-flow synthetic NF-v2 file (the project's default traffic, small)."""
    from anomale_jax.data.synthetic import SyntheticConfig, generate_flows, write_flows

    path = tmp_path_factory.mktemp("synthetic") / "flows.csv"
    write_flows(generate_flows(SyntheticConfig(num_flows=1500, seed=0)), path)
    return path


@pytest.fixture(scope="session")
def synthetic_graph(synthetic_csv):
    """The clean-protocol training graph of `synthetic_csv` (numpy FlowGraph)."""
    from anomale_jax.data.graph_build import build_graph
    from anomale_jax.data.netflow import load_netflow
    from anomale_jax.data.preprocess import prepare

    prepared = prepare(load_netflow(synthetic_csv), DataConfig(protocol="clean"))
    graph = build_graph(prepared.train, "paper")
    assert graph.num_real_edges > 1000 and graph.edge_features.dtype == np.float32
    return graph
