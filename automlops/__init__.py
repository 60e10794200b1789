"""AutoMLOps Studio: a hands-on AutoML and MLOps lab.

The package is layered (see ``shared/design.md``):

* ``automlops.core``    – problem definition, registries, result types (imports nothing internal)
* ``automlops.mlops``   – data lake, model store, MLflow tracking (never imports the engines)
* ``automlops.tabular`` – the tabular AutoML engine
* ``automlops.ui`` / ``automlops.serving`` / ``automlops.cli`` – the only places that talk to people
"""

from __future__ import annotations

from automlops.core.memory import configure_native_allocators

configure_native_allocators()  # before any library with its own allocator loads (see core/memory.py)

__version__ = "0.1.0"
__all__ = ["__version__"]
