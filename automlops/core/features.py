"""The kinds of input column a tabular model tells apart.

Training decides each column's kind (:mod:`automlops.tabular.preprocessing`: numbers are
*numeric*, a few distinct labels *categorical*, many labels *high_cardinality*, timestamps
*datetime*) and writes it into the model's ``meta.json`` feature schema. The prediction API
reads the schema back (:mod:`automlops.serving.validation`) to check each request. Writer and
reader must use the same words, so the words live here, once.
"""

from __future__ import annotations

from typing import Final

__all__ = ["CATEGORICAL", "DATETIME", "FEATURE_KINDS", "HIGH_CARDINALITY", "NUMERIC", "is_row_index_header"]

NUMERIC: Final = "numeric"
CATEGORICAL: Final = "categorical"
HIGH_CARDINALITY: Final = "high_cardinality"
DATETIME: Final = "datetime"
FEATURE_KINDS: Final = (NUMERIC, CATEGORICAL, HIGH_CARDINALITY, DATETIME)


def is_row_index_header(name: object) -> bool:
    """Whether ``name`` is the header pandas gives the unnamed first column of a CSV written with its row index
    (pandas' ``to_csv``, R's ``write.csv``): "Unnamed: 0". Row numbers, not an attribute of the row: every engine
    leaves that column out. (Plain string tests, so the exported scripts can copy this function as it is.)"""
    text = str(name).strip().lower()
    return text.startswith("unnamed:") and text[len("unnamed:"):].strip().isdigit()
