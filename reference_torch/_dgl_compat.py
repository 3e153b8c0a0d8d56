"""The one place that imports torch and DGL for the reference.

DGL 1.1.3 (`dgl/utils/__init__.py`) imports `packaging.version` and, when that fails, falls back to
`setuptools.extern.packaging`, a vendored copy that setuptools removed in version 71. We must not pin an old
setuptools, so before `import dgl` we make `setuptools.extern.packaging` resolve to the real `packaging`
package, but only when this setuptools no longer ships it. The alias lives in `sys.modules` alone: setuptools
itself is neither imported nor modified.

Every other module of `reference_torch` imports `torch`, `dgl` and `fn` (dgl.function) from here.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import types

INSTALL_HINT = (
    "the PyTorch/DGL reference needs the 'reference' extra: "
    "pip install torch==2.13.0 && pip install -e '.[reference]'"
)


def _setuptools_vendors_packaging() -> bool:
    """True when the installed setuptools still has `setuptools/extern/` (setuptools < 71)."""
    # find_spec on a top-level name locates the package without importing it.
    spec = importlib.util.find_spec("setuptools")
    if spec is None or not spec.submodule_search_locations:
        return False
    return any(os.path.isdir(os.path.join(p, "extern")) for p in spec.submodule_search_locations)


def _alias_setuptools_extern_packaging() -> None:
    """Registers `setuptools.extern.packaging[.version]` -> `packaging[.version]` when it is missing."""
    if "setuptools.extern.packaging" in sys.modules or _setuptools_vendors_packaging():
        return
    import packaging
    import packaging.version

    # A bare namespace for `setuptools.extern`; `from setuptools.extern.packaging import version` is served
    # from sys.modules without importing setuptools itself.
    extern = sys.modules.get("setuptools.extern") or types.ModuleType("setuptools.extern")
    extern.packaging = packaging
    sys.modules["setuptools.extern"] = extern
    sys.modules["setuptools.extern.packaging"] = packaging
    sys.modules["setuptools.extern.packaging.version"] = packaging.version


try:
    import torch
except ImportError as err:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(f"torch is not installed; {INSTALL_HINT}") from err

try:
    _alias_setuptools_extern_packaging()
except ImportError as err:  # `packaging` itself is missing
    raise ImportError(f"the 'packaging' package is not installed; {INSTALL_HINT}") from err

try:
    import dgl
    import dgl.function as fn
except ImportError as err:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(f"dgl could not be imported ({err}); {INSTALL_HINT}") from err

__all__ = ["INSTALL_HINT", "dgl", "fn", "torch"]
