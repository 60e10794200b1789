"""What MLflow needs to log a model quickly and reload it safely.

Three slow or unsafe defaults of ``mlflow.sklearn.save_model`` are avoided here:

* without explicit ``pip_requirements`` MLflow spends 7-10 s in a subprocess guessing them; we
  pin what is installed instead (the library table is shared with the model store:
  :mod:`automlops.mlops._libraries`);
* MLflow 3 saves scikit-learn models with *skops*, a format that refuses to load types it does
  not trust (a pickle can run any code); we list exactly the types of the model we just trained;
* it serialises the model itself, then reloads it completely to check it: on a boosted
  ensemble that is seconds of the user's time budget, and the model store serialises the same
  model again a moment later. :func:`write_sklearn_model_folder` writes the same MLflow model
  folder (``MLmodel``, ``model.skops``, environment files, input example) from the one skops
  file the store also copies (:mod:`automlops.mlops.skops_snapshot`).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from automlops.mlops._libraries import pinned

__all__ = ["pip_requirements", "write_sklearn_model_folder"]

SKOPS_FILE = "model.skops"  # the name mlflow.sklearn gives it, so mlflow.sklearn.load_model finds it


def pip_requirements(*extra: str) -> list[str]:
    """Pinned requirements for a logged model: saves MLflow a 7-10 s inference subprocess."""
    return pinned(extra)


def write_sklearn_model_folder(model: Any, folder: Path, *, input_example: Any) -> str:
    """Write an MLflow scikit-learn model folder for ``model`` into ``folder``; return its format.

    With skops (``"skops"``) the folder is assembled around the model's skops snapshot, as
    ``mlflow.sklearn.save_model`` would lay it out, so ``mlflow.sklearn.load_model`` and
    ``mlflow.pyfunc.load_model`` read it back. A model skops cannot represent is saved by MLflow
    itself with cloudpickle (``"cloudpickle"``).
    """
    import mlflow.sklearn

    from automlops.mlops.skops_snapshot import skops_snapshot

    signature = _signature(input_example, model.predict(input_example))
    try:
        snapshot = skops_snapshot(model)
    except Exception:
        mlflow.sklearn.save_model(model, str(folder), serialization_format="cloudpickle", signature=signature,
                                  input_example=input_example, pip_requirements=pip_requirements("cloudpickle"))
        return "cloudpickle"
    _assemble(folder, snapshot, signature, input_example)
    return "skops"


def _signature(input_example: Any, prediction: Any) -> Any:
    """The model's MLflow signature, inferred from the example, without MLflow's integer-column hint.

    For every integer column, MLflow warns that a missing value would break schema enforcement, and
    suggests declaring the column as a double. That trade is worse: MLflow then refuses whole-number
    requests ("can not safely convert int64 to float64"), the common case, to accept empty cells,
    the rare one. Our own API checks requests against the model store's schema and imputes empty
    cells, so the hint is only noise on the user's terminal, once per training.
    """
    from mlflow.models import infer_signature

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*Inferred schema contains integer column", category=UserWarning)
        return infer_signature(input_example, prediction)


def _assemble(folder: Path, snapshot: Any, signature: Any, input_example: Any) -> None:
    """The files of ``mlflow.sklearn.save_model(..., serialization_format="skops")``, model copied in."""
    import mlflow
    import sklearn
    import yaml
    from mlflow import pyfunc
    from mlflow.models import Model
    from mlflow.models.model import MLMODEL_FILE_NAME
    from mlflow.models.utils import _save_example
    from mlflow.utils.environment import (
        _CONDA_ENV_FILE_NAME,
        _PYTHON_ENV_FILE_NAME,
        _REQUIREMENTS_FILE_NAME,
        _mlflow_conda_env,
        _PythonEnv,
    )

    folder.mkdir(parents=True, exist_ok=False)
    model = Model(signature=signature)
    _save_example(model, input_example, str(folder))
    snapshot.copy_to(folder / SKOPS_FILE)
    pyfunc.add_to_model(model, loader_module="mlflow.sklearn", model_path=SKOPS_FILE,
                        conda_env=_CONDA_ENV_FILE_NAME, python_env=_PYTHON_ENV_FILE_NAME, code=None,
                        predict_fn="predict")
    model.add_flavor("sklearn", pickled_model=SKOPS_FILE, sklearn_version=sklearn.__version__,
                     serialization_format="skops", code=None, skops_trusted_types=list(snapshot.untrusted_types))
    model.model_size_bytes = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    model.save(str(folder / MLMODEL_FILE_NAME))
    # exact pins of what is installed: nothing to resolve or check (MLflow's own path spends ~0.5 s here)
    requirements = [f"mlflow=={mlflow.__version__}", *pip_requirements("skops")]
    conda_env = _mlflow_conda_env(additional_pip_deps=requirements, install_mlflow=False)
    (folder / _CONDA_ENV_FILE_NAME).write_text(yaml.safe_dump(conda_env, default_flow_style=False))
    (folder / _REQUIREMENTS_FILE_NAME).write_text("\n".join(requirements))
    _PythonEnv.current().to_yaml(str(folder / _PYTHON_ENV_FILE_NAME))
