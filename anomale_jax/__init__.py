"""anomale-jax: Anomal-E (E-GraphSAGE + Deep Graph Infomax) for NetFlow intrusion detection, in JAX."""

__version__ = "0.1.0"

__all__ = ["FlowGraph", "embed_edges", "load_torch_state_dict", "__version__"]

from anomale_jax.graph import FlowGraph


def __getattr__(name):
    # The model API imports jax; keep `import anomale_jax` (and the CLI's --help) light.
    if name in ("embed_edges", "load_torch_state_dict"):
        from anomale_jax import api

        return getattr(api, name)
    raise AttributeError(f"module 'anomale_jax' has no attribute {name!r}")
