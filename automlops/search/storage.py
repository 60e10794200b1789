"""Where a shared study lives: an Optuna ``RDBStorage`` on SQLite (one machine) or PostgreSQL (many).

A *named* study is searched by several processes at once – the coordinating ``automlops train`` and
any number of ``automlops worker`` processes, on this machine or others. They never talk to each
other: each one reads and writes the study's database, and that database is the only coordination.
This module opens it the same way for every process, with the three things a cluster needs:

* **Heartbeats.** While a trial runs, a thread writes a timestamp every ``hpo_heartbeat_interval``
  seconds. A trial whose last heartbeat is older than ``hpo_grace_period`` belongs to a dead worker
  (``kill -9``, a lost machine): the next process that starts a trial marks it FAIL.
  A trial carries its first heartbeat from the moment it exists (:class:`HeartbeatFromTheStart`):
  Optuna's own thread writes the first one a few milliseconds later, and a worker killed in between
  would leave a trial that no heartbeat rule can ever call dead.
* **Retries.** :class:`optuna.storages.RetryHeartbeatStaleTrialCallback` then re-queues that trial
  (same hyperparameters, state WAITING, ``failed_trial`` in its system attributes) up to
  ``hpo_max_retry`` times, so a crash costs one trial's time and loses no configuration.
* **Clear errors.** An unreachable host, a wrong password or an unknown database becomes one
  :class:`~automlops.errors.ConfigError` line naming the host, port and database and the reason –
  never the password (:func:`safe_url`).

Popping a waiting trial is atomic in ``RDBStorage`` (``SELECT ... FOR UPDATE`` then WAITING→RUNNING),
which is what lets a queue of enqueued trials (grid points, warm-start defaults) be shared by many
workers without any point running twice. The one-time work of filling that queue is guarded by
:func:`claim`, an insert that the database's unique constraint lets only one process win.
"""

from __future__ import annotations

import json
import re
import time
import warnings
from typing import TYPE_CHECKING, Any

import optuna

from automlops.errors import ConfigError

if TYPE_CHECKING:
    from automlops.config import Settings

__all__ = ["HeartbeatFromTheStart", "claim", "open_storage", "rdb_storage", "safe_url", "study_names"]

_USERINFO = re.compile(r"([^:/@\s]+:)[^@\s]*@")  # user:password@, also in a URL missing its "://"
_CONNECT_TIMEOUT = 5  # seconds: an unreachable PostgreSQL host fails fast instead of hanging a worker


def safe_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (also for a URL SQLAlchemy cannot parse).

    >>> safe_url("postgresql+psycopg2://studio:s3cr3t@db:5432/optuna")
    'postgresql+psycopg2://studio:***@db:5432/optuna'
    """
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy understands: mask what looks like user:password@
        return _USERINFO.sub(r"\1***@", url)


def _password(url: str) -> str | None:
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).password  # type: ignore[return-value]
    except Exception:
        match = re.search(r"[^:/@\s]+:([^@\s]*)@", url)
        return match.group(1) if match else None


def _seconds(value: float) -> Any:
    """Optuna types these as int; a whole number is passed as one, a fraction as it is (both work)."""
    return int(value) if float(value).is_integer() else float(value)


def _reason(exc: BaseException, password: str | None) -> str:
    """The driver's own words, shortened to the part a person acts on, without the password."""
    from automlops.core.redact import redact

    orig = getattr(exc, "orig", None) or exc
    lines = [ln.strip() for ln in str(orig).splitlines() if ln.strip()]
    text = lines[0] if lines else type(orig).__name__
    text = re.sub(r"^connection to server at .*?, port \d+ failed:\s*", "", text)
    text = re.sub(r"^(FATAL|ERROR):\s*", "", text)
    text = re.sub(r"\s*\(Background on this error at:.*$", "", text)
    if text.lower().startswith("could not parse sqlalchemy url"):
        text = "not a database URL (expected e.g. postgresql+psycopg2://user:password@host:5432/optuna)"
    elif text.startswith("Can't load plugin"):
        text = f"unknown database kind ({text.split(':')[-1].strip()})"
    text = text[:1].lower() + text[1:]
    return redact(text, password)


class HeartbeatFromTheStart(optuna.storages.RDBStorage):
    """An ``RDBStorage`` whose running trials have a heartbeat row from the transaction that starts them.

    Optuna finds a dead worker's trial by its heartbeat going stale, and a trial *without* a heartbeat
    row is never stale. Plain Optuna starts a trial (``study.ask()``: a new RUNNING row, or a WAITING
    one popped to RUNNING) and only then starts the thread that writes its first heartbeat, over a
    connection of its own: a worker killed in those milliseconds – which is exactly when a ``kill``
    aimed "right after a trial finished" lands – leaves a trial RUNNING forever, never retried, and a
    coordinator waiting for it. Here the heartbeat row is inserted in the same transaction as the
    RUNNING state, so a running trial always has one; Optuna's thread then just updates it.
    """

    def _get_prepared_new_trial(self, study_id: int, template_trial: optuna.trial.FrozenTrial | None,
                                session: Any) -> Any:
        from optuna.storages._rdb import models

        trial = super()._get_prepared_new_trial(study_id, template_trial, session)
        if template_trial is None:  # study.ask(): a new RUNNING trial (a template is an enqueued or added one)
            session.add(models.TrialHeartbeatModel(trial_id=trial.trial_id))
        return trial

    def set_trial_state_values(self, trial_id: int, state: optuna.trial.TrialState,
                               values: Any = None) -> bool:
        """As Optuna's, except that taking a WAITING trial (→ RUNNING) also inserts its heartbeat row."""
        if state is not optuna.trial.TrialState.RUNNING:
            return super().set_trial_state_values(trial_id, state, values)
        from datetime import datetime

        from optuna.storages._rdb import models
        from optuna.storages._rdb.storage import _create_scoped_session
        from sqlalchemy import exc as sa_exc

        try:
            with _create_scoped_session(self.scoped_session) as session:
                trial = models.TrialModel.find_or_raise_by_id(trial_id, session, for_update=True)
                taken: optuna.trial.TrialState = trial.state  # type: ignore[assignment]  # an ORM column
                self.check_trial_is_updatable(trial_id, taken)
                if taken is not optuna.trial.TrialState.WAITING:
                    return False  # another process took it first
                trial.state, trial.datetime_start = state, datetime.now()
                if models.TrialHeartbeatModel.where_trial_id(trial_id, session) is None:
                    session.add(models.TrialHeartbeatModel(trial_id=trial_id))
        except sa_exc.IntegrityError:
            return False
        return True


def open_storage(url: str, settings: Settings | None = None) -> optuna.storages.RDBStorage:
    """Open (and create the tables of) the study storage at ``url``, with heartbeats and retries.

    Raises :class:`ConfigError` – one line, host/port/database named, password masked – when the
    database cannot be reached or used.
    """
    from automlops.config import get_settings

    settings = settings or get_settings()
    shown, password = safe_url(url), _password(url)
    engine_kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("postgresql"):
        engine_kwargs["connect_args"] = {"connect_timeout": _CONNECT_TIMEOUT}
    elif url.startswith("sqlite"):
        engine_kwargs["connect_args"] = {"timeout": 30}  # wait for another process's write, not fail
    with warnings.catch_warnings():  # heartbeats and the retry callback are flagged experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=settings.hpo_max_retry)
        last: BaseException | None = None
        for attempt in range(6):  # two processes creating the tables of an empty database at once may collide
            try:
                storage = HeartbeatFromTheStart(
                    url, engine_kwargs=engine_kwargs, heartbeat_interval=_seconds(settings.hpo_heartbeat_interval),
                    grace_period=_seconds(settings.hpo_grace_period), heartbeat_stale_trial_callback=retry)
                if url.startswith("sqlite"):
                    _serialize_sqlite_transactions(storage.engine)
                return storage
            except ImportError as exc:
                raise ConfigError(f"cannot open the study storage {shown}: its database driver is not installed "
                                  f"({_reason(exc, password)})") from None
            except Exception as exc:  # sqlalchemy errors, ValueError from a malformed URL
                last = exc
                if not _is_creation_race(exc):
                    break
                time.sleep(0.2 * (attempt + 1))
        assert last is not None
        raise ConfigError(f"cannot open the study storage {shown}: {_reason(last, password)}") from None


def _serialize_sqlite_transactions(engine: Any) -> None:
    """Make every SQLite transaction take the write lock when it begins (``BEGIN IMMEDIATE``).

    Taking a waiting trial is "read the row, check it is WAITING, mark it RUNNING". PostgreSQL locks
    the row it read (``SELECT ... FOR UPDATE``); SQLite ignores ``FOR UPDATE`` and, with its default
    deferred transactions, lets two processes read the same WAITING row before either writes – both
    would run the same queued trial (a grid point twice; "Cannot tell a COMPLETE trial" for the
    second). An immediate transaction holds SQLite's single write lock from its first statement, so
    the read and the write of one process cannot interleave with another's.
    """
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _no_implicit_begin(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy's "begin" below issue the BEGIN

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    engine.dispose()  # connections opened while the tables were created predate the listeners


_CREATION_RACES = ("already exists", "duplicate key", "UNIQUE constraint failed", "database is locked")


def _is_creation_race(exc: BaseException) -> bool:
    """Two processes created the tables of an empty database at once: the loser retries, and finds them.

    PostgreSQL says "already exists" / "duplicate key"; SQLite raises an OperationalError ("table ...
    already exists", "database is locked") or an IntegrityError ("UNIQUE constraint failed" on
    alembic_version).
    """
    from sqlalchemy import exc as sa_exc

    return isinstance(exc, (sa_exc.IntegrityError, sa_exc.ProgrammingError, sa_exc.OperationalError)) \
        and any(sign in str(exc) for sign in _CREATION_RACES)


def rdb_storage(study: optuna.Study) -> optuna.storages.RDBStorage | None:
    """The ``RDBStorage`` behind ``study`` (Optuna wraps it in a cache), or None for an in-memory study."""
    storage: Any = study._storage
    storage = getattr(storage, "_backend", storage)
    return storage if isinstance(storage, optuna.storages.RDBStorage) else None


def study_names(storage: optuna.storages.BaseStorage) -> list[str]:
    """Names of the studies in ``storage``, sorted."""
    return sorted(s.study_name for s in storage.get_all_studies())


def claim(study: optuna.Study, key: str, owner: str) -> bool:
    """Atomically claim a one-time job on ``study`` (e.g. filling its trial queue): True for one process only.

    The claim is a study *system* attribute inserted under the database's unique (study, key)
    constraint, so of several processes claiming at once exactly one insert succeeds. An in-memory
    study has one process: the claim always succeeds (once).
    """
    from optuna.storages._rdb import models
    from sqlalchemy import exc as sa_exc

    rdb = rdb_storage(study)
    if rdb is None:
        if key in study._storage.get_study_system_attrs(study._study_id):
            return False
        study._storage.set_study_system_attr(study._study_id, key, owner)
        return True
    session = rdb.scoped_session()
    try:
        session.add(models.StudySystemAttributeModel(study_id=study._study_id, key=key, value_json=json.dumps(owner)))
        session.commit()
        return True
    except sa_exc.IntegrityError:
        session.rollback()
        return False
    finally:
        session.close()
