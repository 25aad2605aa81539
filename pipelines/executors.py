"""Which Dagster executor runs a job's steps, chosen by the environment (SHIXIANG_EXECUTOR).

``in_process`` is the default: on one box the steps mostly run one after another, and a
separate process per step would pay Dagster's and Great Expectations' import time (~4 s) again
for every step. ``multiprocess`` runs independent steps side by side on one box; ``celery``
sends each step to ``dagster-celery`` workers, on this machine or others (deploy/celery.yaml,
deploy/README-workers.md). Both need a persistent I/O manager, which the code location has
(the default filesystem one under $DAGSTER_HOME/storage, shared by every worker).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import dagster as dg

EXECUTOR_ENV = "SHIXIANG_EXECUTOR"
BROKER_ENV = "SHIXIANG_CELERY_BROKER"
BACKEND_ENV = "SHIXIANG_CELERY_BACKEND"
DEFAULT_BROKER = "redis://127.0.0.1:6379/0"
EXECUTORS = ("in_process", "multiprocess", "celery")


def executor_from_env(env: Mapping[str, str] | None = None) -> dg.ExecutorDefinition:
    """The executor named by SHIXIANG_EXECUTOR (default ``in_process``).

    For ``celery`` the broker is SHIXIANG_CELERY_BROKER and the result backend
    SHIXIANG_CELERY_BACKEND (default: the broker); the workers must be started with the same
    two URLs (deploy/celery.yaml reads the same variables), or no result ever comes back."""
    env = os.environ if env is None else env
    name = env.get(EXECUTOR_ENV, "").strip() or "in_process"
    if name == "in_process":
        return dg.in_process_executor
    if name == "multiprocess":
        # Two steps at a time: the box has two cores and each step process holds its frames.
        return dg.multiprocess_executor.configured({"max_concurrent": 2}, name="multiprocess")
    if name == "celery":
        from dagster_celery import celery_executor  # imported only when chosen (celery is slow)

        broker = env.get(BROKER_ENV, "").strip() or DEFAULT_BROKER
        backend = env.get(BACKEND_ENV, "").strip() or broker
        return celery_executor.configured({"broker": broker, "backend": backend}, name="celery")
    raise ValueError(
        f"{EXECUTOR_ENV}={name!r} is not an executor here; use one of: {', '.join(EXECUTORS)}"
    )
