"""Distributed search from the command line: a named study that workers on other machines join.

``automlops train DATA --study NAME [--storage URL]`` is the *coordinator*: it commits the data to
the lake, pins that version (and the train options) in the study's user attributes, searches, and
once its budget ends ensembles, refits, tests, tracks and saves. ``automlops worker --study NAME``
(any number, on any machine that reaches the database and holds the same lake version) reads the
pins back, rebuilds the same engine on the same data and only runs trials.

* :mod:`~automlops.distributed.recipe` – what a worker needs to rebuild the search (the recipe
  and the data pin, as study attributes);
* :mod:`~automlops.distributed.coordinator` – the ``train --study`` side;
* :mod:`~automlops.distributed.worker` – :func:`~automlops.distributed.worker.run_worker`.
"""
