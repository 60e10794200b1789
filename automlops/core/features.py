"""The kinds of input column a tabular model tells apart.

Training decides each column's kind (:mod:`automlops.tabular.preprocessing`: numbers are
*numeric*, a few distinct labels *categorical*, many labels *high_cardinality*, timestamps
*datetime*) and writes it into the model's ``meta.json`` feature schema. The prediction API
reads the schema back (:mod:`automlops.serving.validation`) to check each request. Writer and
reader must use the same words, so the words live here, once.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["CATEGORICAL", "DATETIME", "FEATURE_KINDS", "HIGH_CARDINALITY", "NUMERIC", "ROW_INDEX_HEADER"]

NUMERIC: Final = "numeric"
CATEGORICAL: Final = "categorical"
HIGH_CARDINALITY: Final = "high_cardinality"
DATETIME: Final = "datetime"
FEATURE_KINDS: Final = (NUMERIC, CATEGORICAL, HIGH_CARDINALITY, DATETIME)

# The header pandas gives the unnamed first column of a CSV written with its row index (pandas' ``to_csv``, R's
# ``write.csv``): row numbers, not an attribute of the row. Every engine leaves that column out.
ROW_INDEX_HEADER: Final = re.compile(r"^unnamed: *\d+$", re.IGNORECASE)
