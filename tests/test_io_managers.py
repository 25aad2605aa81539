"""The in-process run's hand-off: every output is let go once the steps that read it have
read it, and the run is the same as with Dagster's InMemoryIOManager."""

import shutil
from pathlib import Path

import dagster as dg
import pytest

from pipelines.definitions import build_definitions
from pipelines.io_managers import HandOffIOManager, readers_of
from pipelines.jobs import NIGHTLY_JOB_NAME
from pipelines.resources import ShixiangSettings
from shixiang import store
from tests.helpers import run_whole

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"


def test_readers_count_the_steps_that_load_an_output() -> None:
    job = build_definitions(in_memory=True).resolve_job_def(NIGHTLY_JOB_NAME)
    readers = readers_of(job)
    # item_rows is read by the matching and by the QC rules; the library by the publish.
    assert readers[("item_rows", "result")] >= 2
    assert readers[("unified_library", "result")] >= 2
    # The publish is the last step: nothing loads its output.
    assert ("published_library", "result") not in readers


@pytest.mark.slow
def test_a_whole_run_lets_go_of_every_output(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(SAMPLE, data)
    settings = ShixiangSettings(data_dir=str(data), database_url=f"sqlite:///{tmp_path / 'l.db'}")
    defs = build_definitions(settings, in_memory=True)
    hand_off = defs.resources["io_manager"]
    assert isinstance(hand_off, HandOffIOManager)
    result = run_whole(defs.resolve_job_def(NIGHTLY_JOB_NAME), settings)
    assert result.success
    assert store.count_rows(store.make_engine(settings.database_url), "unified_library") > 0
    # Every output was read by all its readers and dropped; none was read after it was dropped
    # (the run would have failed).
    assert hand_off.values == {} and hand_off.left == {}
    # ... and the run's own copy (execute_in_process's output capture) is gone too: it used to
    # hold every frame of the run until the end.
    for step in ("item_rows", "matched_items", "unified_library", "qc_issues"):
        with pytest.raises(dg.DagsterInvariantViolationError, match="No outputs found"):
            result.output_for_node(step)


def _contexts(step: str):
    output = dg.build_output_context(step_key=step, name="result", run_id="r1")
    return output, dg.build_input_context(upstream_output=output)


def test_an_output_is_dropped_after_its_last_reader_and_a_late_read_is_an_error() -> None:
    hand_off = HandOffIOManager()
    hand_off.readers["job"] = {("a", "result"): 2}
    output, reader = _contexts("a")
    output._job_name = "job"  # what a run's context carries
    hand_off.handle_output(output, "frame")
    assert hand_off.load_input(reader) == "frame"
    assert hand_off.load_input(reader) == "frame"
    assert hand_off.values == {}
    with pytest.raises(dg.Failure, match="已不在内存中"):
        hand_off.load_input(reader)


def test_outputs_of_a_job_not_watched_are_kept() -> None:
    hand_off = HandOffIOManager()
    hand_off.readers["job"] = {("a", "result"): 1}
    output, reader = _contexts("a")
    output._job_name = "decisions_job"
    hand_off.handle_output(output, "frame")
    for _ in range(3):
        assert hand_off.load_input(reader) == "frame"
