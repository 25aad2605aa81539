"""The partitions of the nightly job: one per prefecture (市/州) of the data directory.

Their keys (``5113``, ``5116``, ``5100`` for the province's own units) are dynamic: the sensor
``data_dir_changed`` adds a key when files of a new prefecture appear, and ``shixiang run``
adds the keys of the directory it runs on. Which file belongs to which partition is decided in
``shixiang.partitions`` and kept in the library database (``input_files``)."""

from __future__ import annotations

import threading
import warnings

import dagster as dg

from pipelines.resources import ShixiangSettings
from shixiang import partitions

PREFECTURES = dg.DynamicPartitionsDefinition(name="prefectures")

# The checks of partitioned assets are partitioned too (``asset_check(partitions_def=…)``);
# without it a check would load every partition's output. Dagster 1.13 calls that a preview
# and says so on every import; we know (README, Operations notes), so it is not repeated.
warnings.filterwarnings(
    "ignore",
    message="Specifying a partitions_def on an AssetCheckSpec",
    category=dg.PreviewWarning,
)


def file_index(
    settings: ShixiangSettings, *, cache: bool = False, names: partitions.NameSink | None = None
) -> dict[str, partitions.FileEntry]:
    """``shixiang.partitions.refresh_index`` on the settings' database and data directory."""
    return partitions.refresh_index(settings.engine(), settings.data_path, cache=cache, names=names)


# The index each run saw first, by (run id, data directory, database): the last few runs'.
_RUN_INDEXES: dict[tuple[str, str, str], dict[str, partitions.FileEntry]] = {}
_RUN_INDEXES_LOCK = threading.Lock()
_RUN_INDEXES_KEPT = 4
# The run id of every context of ``dg.build_asset_context`` (direct invocation): not a run.
_DIRECT_INVOCATION_RUN_ID = "EPHEMERAL"


def run_file_index(
    context: dg.AssetExecutionContext, settings: ShixiangSettings
) -> dict[str, partitions.FileEntry]:
    """``file_index`` as this run first saw it: computed once per run and process, so that
    every step of a run places the files alike (a file added or changed during the run waits
    for the next run) and the data directory is not listed and stat'ed again by each step
    (1,565 files: 80 ms a time, six times a run)."""
    if context.run_id == _DIRECT_INVOCATION_RUN_ID:  # one step, called from a test or shell
        return file_index(settings)
    key = (context.run_id, str(settings.data_path), settings.database_url)
    with _RUN_INDEXES_LOCK:
        index = _RUN_INDEXES.get(key)
        if index is None:
            index = file_index(settings)
            while len(_RUN_INDEXES) >= _RUN_INDEXES_KEPT:
                del _RUN_INDEXES[next(iter(_RUN_INDEXES))]
            _RUN_INDEXES[key] = index
    return index


def register(instance: dg.DagsterInstance, keys: list[str]) -> list[str]:
    """Add the partition keys the instance does not know yet; returns them."""
    new = sorted(set(keys) - set(instance.get_dynamic_partitions(PREFECTURES.name)))
    if new:
        instance.add_dynamic_partitions(PREFECTURES.name, new)
    return new


def whole_run_tags(
    instance: dg.DagsterInstance,
    settings: ShixiangSettings,
    *,
    cache: bool = False,
    names: partitions.NameSink | None = None,
) -> dict[str, str]:
    """Tags that make one run of the nightly job cover every partition (``shixiang run``):
    the data directory's partitions are registered first. ``cache`` and ``names``: see
    ``shixiang.partitions.peek_partition``."""
    register(instance, partitions.keys(file_index(settings, cache=cache, names=names)))
    every = instance.get_dynamic_partitions(PREFECTURES.name)
    return {
        "dagster/asset_partition_range_start": every[0],
        "dagster/asset_partition_range_end": every[-1],
    }
