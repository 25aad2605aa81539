"""The command line: run (exit codes, summary) and export (csv/xlsx, formula-safe)."""

import json
import os
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from commands import main as cli
from shixiang import store
from tests.helpers import CATALOGUE_HEADER, CATALOGUE_ROWS, write_csv


@pytest.mark.slow
def test_run_then_export(mini_dir: Path, tmp_path: Path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'var' / 'lib.db'}"
    assert (
        cli.main(
            ["run", "--data-dir", str(mini_dir), "--database-url", url, "--log-level", "WARNING"]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "读入 7 行" in out and "拒收 1 行" in out
    assert "行政区划代码“…”含非数字字符 ×1" in out

    csv_path = tmp_path / "lib.csv"
    assert (
        cli.main(["export", "unified_library", "--database-url", url, "--out", str(csv_path)]) == 0
    )
    assert csv_path.read_bytes().startswith(
        b"\xef\xbb\xbf"
    )  # Excel opens UTF-8 with a BOM correctly
    assert len(pd.read_csv(csv_path, encoding="utf-8-sig")) == 6

    xlsx_path = tmp_path / "issues.xlsx"
    assert cli.main(["export", "qc_issues", "--database-url", url, "--out", str(xlsx_path)]) == 0
    ws = openpyxl.load_workbook(xlsx_path).active
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref


@pytest.mark.slow
def test_run_with_a_broken_catalogue_exits_non_zero(mini_dir: Path, tmp_path: Path, capsys) -> None:
    rows = [*CATALOGUE_ROWS, CATALOGUE_ROWS[0]]
    write_csv(mini_dir / "catalogue" / "通用目录.csv", CATALOGUE_HEADER, rows)
    url = f"sqlite:///{tmp_path / 'lib.db'}"
    assert (
        cli.main(
            ["run", "--data-dir", str(mini_dir), "--database-url", url, "--log-level", "ERROR"]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert "catalogue_suite" in err and "没有发布" in err


@pytest.mark.slow
def test_the_console_script_leaves_at_once_with_everything_written(
    mini_dir: Path, tmp_path: Path
) -> None:
    """``shixiang run`` exits without the interpreter's teardown (commands.main._exit_now):
    its output, the timings file and the library are complete, and its exit code is kept."""
    import subprocess
    import sys

    script = Path(sys.executable).with_name("shixiang")
    url = f"sqlite:///{tmp_path / 'lib.db'}"
    timings = tmp_path / "timings.json"
    env = {**os.environ, "PYTHONUNBUFFERED": ""}  # buffered, as in a pipe: flushed at the exit
    args = ["run", "--data-dir", str(mini_dir), "--database-url", url, "--log-level", "ERROR"]
    done = subprocess.run(
        [str(script), *args, "--timings", str(timings)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "读入 7 行" in done.stdout and "完成，用时" in done.stdout
    assert done.stdout.rstrip().splitlines()[-1].startswith("GX 数据文档")  # the last line
    assert "published_library" in json.loads(timings.read_text(encoding="utf-8"))
    assert store.count_rows(store.make_engine(url), "unified_library") == 6
    # a run that cannot start keeps its exit code and its message
    done = subprocess.run(
        [str(script), "run", "--data-dir", str(tmp_path / "nope"), "--database-url", url],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert done.returncode == 2 and "数据目录不存在" in done.stderr


def test_run_without_a_data_dir_is_a_usage_error(tmp_path: Path, capsys) -> None:
    assert cli.main(["run", "--data-dir", str(tmp_path / "nope")]) == 2
    assert "数据目录不存在" in capsys.readouterr().err


def test_export_refuses_unknown_tables_and_suffixes(tmp_path: Path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'lib.db'}"
    store.ensure_schema(store.make_engine(url))
    assert cli.main(["export", "nope", "--database-url", url]) == 2
    assert (
        cli.main(["export", "qc_issues", "--database-url", url, "--out", str(tmp_path / "x.json")])
        == 2
    )


def test_exported_cells_cannot_run_as_formulas(tmp_path: Path) -> None:
    from shixiang.export import write_table

    frame = pd.DataFrame({"事项名称": ['=HYPERLINK("http://x")', "+1", "正常名称"], "n": [1, 2, 3]})
    path = tmp_path / "x.xlsx"
    write_table(frame, path)
    ws = openpyxl.load_workbook(path).active
    assert ws["A2"].value == '\'=HYPERLINK("http://x")'
    assert ws["A2"].data_type == "s"
    assert ws["A4"].value == "正常名称"


@pytest.mark.slow
def test_run_reports_each_steps_time(mini_dir: Path, tmp_path: Path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'lib.db'}"
    timings = tmp_path / "timings.json"
    args = ["run", "--data-dir", str(mini_dir), "--database-url", url, "--log-level", "ERROR"]
    assert cli.main([*args, "--timings", str(timings)]) == 0
    seconds = json.loads(timings.read_text(encoding="utf-8"))
    # every step of the nightly job (each asset, each check) ran once, in a plausible time
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    steps = {k.to_python_identifier() for k in graph.get_all_asset_keys()} | {
        f"{k.asset_key.to_python_identifier()}_{k.name}" for k in graph.asset_check_keys
    }
    assert set(seconds) == steps
    assert all(0 <= s < 120 for s in seconds.values())
    capsys.readouterr()
    assert cli.main([*args, "--timings"]) == 0
    out = capsys.readouterr().out
    lines = out.split("各步骤用时", 1)[1].splitlines()[1 : len(steps) + 1]
    table = [line.split() for line in lines]
    assert {step for step, _ in table} == set(seconds)
    times = [float(sec) for _, sec in table]
    assert times == sorted(times, reverse=True)  # longest first


# --- the database URL is checked before any work -----------------------------------------------

EVERY_COMMAND = [
    ["export", "unified_library"],
    ["export", "issues", "--all"],
    ["review", "list"],
    ["review", "show", "county/a.csv:1"],
    ["review", "history"],
    ["review", "export", "--unit", "511602000000"],
    ["review", "decide", "county/a.csv:1", "--decision", "local", "--steward", "张三"],
    ["review", "undo", "county/a.csv:1", "--steward", "张三"],
    ["review", "import", "sheet.xlsx", "--steward", "张三"],
]


def one_line_error(capsys, *expected: str) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("错误："), captured.err
    assert "Traceback" not in captured.err and "步骤失败" not in captured.err
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("command", [["run", "--data-dir", "DATA"], *EVERY_COMMAND])
def test_a_malformed_url_is_one_line_and_exit_2(
    command: list[str], mini_dir: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    argv = [str(mini_dir) if a == "DATA" else a for a in command]
    for url in ("not a url", "postgres://postgres@127.0.0.1/x"):
        assert cli.main([*argv, "--database-url", url]) == 2
        one_line_error(capsys, "格式不正确")
    assert not list(work.iterdir())  # nothing written


def test_the_environment_url_is_checked_too(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("SHIXIANG_DATABASE_URL", "sqlite//var/x.db")
    assert cli.main(["review", "list"]) == 2
    one_line_error(capsys, "格式不正确", "sqlite//var/x.db")


def test_an_unreachable_server_is_named(tmp_path: Path, capsys) -> None:
    # nothing listens on port 1; the refusal is immediate
    url = "postgresql+psycopg://postgres@127.0.0.1:1/shixiang"
    for command in (["run", "--data-dir", str(tmp_path)], ["export", "qc_issues"]):
        assert cli.main([*command, "--database-url", url]) == 2
        one_line_error(capsys, "无法连接", "127.0.0.1:1")
    assert (
        cli.main(
            ["review", "list", "--database-url", url.replace("127.0.0.1", "no-such-host.invalid")]
        )
        == 2
    )
    one_line_error(capsys, "无法连接", "no-such-host.invalid")


@pytest.mark.postgres
def test_a_missing_postgres_database_is_named(pg_url: str, mini_dir: Path, capsys) -> None:
    url = pg_url.rsplit("/", 1)[0] + "/shixiang_no_such_database"
    args = ["run", "--data-dir", str(mini_dir), "--database-url", url, "--log-level", "ERROR"]
    assert cli.main(args) == 2
    one_line_error(capsys, "数据库不存在", "shixiang_no_such_database")
    assert cli.main(["review", "history", "--database-url", url]) == 2
    one_line_error(capsys, "数据库不存在")


def test_a_missing_sqlite_file_is_named_for_reading_commands(tmp_path: Path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'nope' / 'lib.db'}"
    assert cli.main(["export", "unified_library", "--database-url", url]) == 2
    one_line_error(capsys, "数据库文件不存在")
    assert not (tmp_path / "nope").exists()  # not created by the reading command


def _library_file(tmp_path: Path) -> Path:
    path = tmp_path / "lib.db"
    store.publish(
        store.make_engine(f"sqlite:///{path}"),
        {"unified_library": pd.DataFrame({"row_id": ["county/a.csv:1"], "status": ["review"]})},
    )
    return path


def _ro_commands(mini_dir: Path, url: str) -> list[list[str]]:
    return [
        ["run", "--data-dir", str(mini_dir), "--database-url", url, "--log-level", "ERROR"],
        [*EVERY_COMMAND[6], "--database-url", url],  # decide
        [*EVERY_COMMAND[7], "--database-url", url],  # undo
        [*EVERY_COMMAND[8], "--database-url", url],  # import
    ]


def test_a_read_only_sqlite_database_is_named(mini_dir: Path, tmp_path: Path, capsys) -> None:
    """Opened read-only through SQLite itself (mode=ro): a real read-only database even as root,
    where permission bits do not stop a write. Writing commands stop with one line; reading
    commands still work."""
    path = _library_file(tmp_path)
    url = f"sqlite:///file:{path}?mode=ro&uri=true"
    for argv in _ro_commands(mini_dir, url):
        assert cli.main(argv) == 2, argv
        one_line_error(capsys, "只读")
    out = tmp_path / "lib.csv"
    assert cli.main(["export", "unified_library", "--database-url", url, "--out", str(out)]) == 0
    assert len(pd.read_csv(out, encoding="utf-8-sig")) == 1


def test_a_read_only_sqlite_file_is_named(mini_dir: Path, tmp_path: Path, capsys) -> None:
    """A file without write permission (chmod 0o444)."""
    path = _library_file(tmp_path)
    for extra in tmp_path.glob("lib.db-*"):  # WAL and shared-memory files of the publish
        extra.unlink()
    path.chmod(0o444)
    try:
        if os.access(path, os.W_OK):
            pytest.skip(
                "running as root: permission bits do not make a file read-only for root; "
                "test_a_read_only_sqlite_database_is_named covers the read-only path (mode=ro)"
            )
        url = f"sqlite:///{path}"
        for argv in _ro_commands(mini_dir, url):
            assert cli.main(argv) == 2, argv
            one_line_error(capsys, "数据库文件只读", str(path))
    finally:
        path.chmod(0o644)


TIMELINE_QUERY = """
{
  runsOrError {
    ... on Runs { results { runId pipelineName tags { key value }
                            repositoryOrigin { repositoryName repositoryLocationName } } }
  }
  workspaceOrError {
    ... on Workspace { locationEntries { name locationOrLoadError {
      ... on RepositoryLocation { name repositories { name pipelines { name } } }
      ... on PythonError { message } } } }
  }
}
"""


@pytest.mark.slow
def test_a_cli_run_joins_the_code_locations_timeline(
    mini_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Overview timeline keeps a run only if its origin names a loaded repository and job:
    ask the UI's own GraphQL, with the workspace loaded from workspace.yaml as `dagster dev` does."""
    import dagster as dg
    from dagster._core.workspace.load import load_workspace_process_context_from_yaml_paths
    from dagster_graphql.test.utils import execute_dagster_graphql

    from pipelines.definitions import WORKSPACE_YAML

    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("SHIXIANG_DATA_DIR", str(mini_dir))
    url = f"sqlite:///{tmp_path / 'lib.db'}"
    argv = ["run", "--data-dir", str(mini_dir), "--database-url", url, "--log-level", "ERROR"]
    assert cli.main(argv) == 0

    with (
        dg.DagsterInstance.get() as instance,
        load_workspace_process_context_from_yaml_paths(
            instance, [str(WORKSPACE_YAML)]
        ) as process_context,
    ):
        data = execute_dagster_graphql(
            process_context.create_request_context(), TIMELINE_QUERY
        ).data
    (run,) = data["runsOrError"]["results"]
    assert {"key": "shixiang/source", "value": "cli"} in run["tags"]
    origin = run["repositoryOrigin"]
    assert origin is not None, "a run without an origin is dropped from the timeline"
    (entry,) = data["workspaceOrError"]["locationEntries"]
    location = entry["locationOrLoadError"]
    assert location["name"] == origin["repositoryLocationName"]
    (repository,) = location["repositories"]
    assert repository["name"] == origin["repositoryName"]
    assert run["pipelineName"] in {p["name"] for p in repository["pipelines"]}
