"""PyTorch + DGL reference port of the published Anomal-E notebook (E-GraphSAGE + Deep Graph Infomax).

It is the yardstick of the JAX implementation: `parity_tests/` hand both the same graph, weights and
corruption permutations and compare the results. Importing it needs the 'reference' extra
(`pip install torch==2.13.0 && pip install -e '.[reference]'`); without torch or DGL the import raises
ImportError saying so.

    g, nfeats, efeats = torch_inputs(flow_graph)
    model = make_model(ModelConfig(), nfeats.shape[1], efeats.shape[1])
    best_state, losses = train(model, g, nfeats, efeats, epochs=100)
    model.load_state_dict(best_state)
    z = embed(model, g, nfeats, efeats)          # [E, 256]
"""

from reference_torch._dgl_compat import INSTALL_HINT
from reference_torch.graph import build_dgl_graph, torch_inputs
from reference_torch.model import DGI, SAGE, Discriminator, SAGELayer, make_model
from reference_torch.checkpoint import load_state_dict_file, model_from_state_dict
from reference_torch.train import embed, train

__all__ = [
    "DGI",
    "INSTALL_HINT",
    "SAGE",
    "Discriminator",
    "SAGELayer",
    "build_dgl_graph",
    "embed",
    "load_state_dict_file",
    "make_model",
    "model_from_state_dict",
    "torch_inputs",
    "train",
]
