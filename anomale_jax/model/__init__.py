"""E-GraphSAGE encoder and Deep Graph Infomax objective (ANOMALE.md steps 9-10)."""

from anomale_jax.model.dgi import (
    corrupt,
    dgi_loss,
    dgi_loss_direct,
    dgi_loss_fast,
    init_params,
    permutation_by_sort,
    permutation_on_host,
    readout,
    real_edge_permutation,
)
from anomale_jax.model.egraphsage import encode, mean_incoming

__all__ = ["corrupt", "dgi_loss", "dgi_loss_direct", "dgi_loss_fast", "encode", "init_params", "mean_incoming",
           "permutation_by_sort", "permutation_on_host", "readout", "real_edge_permutation"]
