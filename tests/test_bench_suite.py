"""The bench suite's plumbing (bench/suite.py, bench/scaling.py): rows, table, JSON, skips and slopes.

No figure is timed here (speed belongs to the bench itself); areas are stubs or absent modules."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import scaling, suite, train_stream
from bench._rows import ROW_KEYS, row


def stub_runner(area: suite.Area, quick: bool, log_dir: Path) -> list[dict]:
    if area.name == "broken":
        return [row(area.name, area.what, None, note="failed: exit 1")]
    return suite.check_rows(
        area.name,
        [
            row("ignored", "posts/s", 1234.5, "posts/s", ">= 1,000", True),
            row("ignored", "quick mode", "yes" if quick else "no"),
        ],
    )


def test_suite_builds_rows_with_every_key_and_machine_facts(tmp_path: Path) -> None:
    areas = [suite.Area("alpha", "alpha", "first", 1, 1), suite.Area("broken", "broken", "second", 1, 1)]
    result = suite.run_suite(areas, True, tmp_path, runner=stub_runner, progress=lambda _: None)
    assert result["mode"] == "quick"
    assert [r["area"] for r in result["rows"]] == ["alpha", "alpha", "broken"]  # the area is stamped by the suite
    for r in result["rows"]:
        assert set(ROW_KEYS) <= set(r)
    assert result["rows"][1]["value"] == "yes"
    machine = result["machine"]
    assert machine["cores"] >= 1 and machine["ram_gb"] > 0
    assert len(machine["load_average_start"]) == 3 and len(machine["load_average_end"]) == 3
    assert set(result["area_seconds"]) == {"alpha", "broken"}
    json.loads(json.dumps(result))  # what main writes must be JSON

    table = "\n".join(suite.table_lines(result))
    assert "1,234" in table or "1,235" in table
    assert "failed: exit 1" in table
    assert "yes" in table  # met column
    markdown = suite.table_lines(result, markdown=True)
    assert markdown[0].startswith("| area |") and len(markdown) == 2 + len(result["rows"])
    assert any("cores usable" in line for line in suite.header_lines(result))


def test_a_row_without_a_required_key_is_refused() -> None:
    with pytest.raises(ValueError, match="lacks goal, met"):
        suite.check_rows("x", [{"metric": "m", "value": 1.0, "unit": "s"}])


def test_check_rows_turns_numpy_scalars_into_plain_numbers() -> None:
    np = pytest.importorskip("numpy")
    (checked,) = suite.check_rows("x", [row("x", "m", np.float32(2.5), "s", "<= 3", np.bool_(True))])
    assert type(checked["value"]) is float and checked["met"] is True
    (no_goal,) = suite.check_rows("x", [row("x", "m", 1.0, "s", "", False)])
    assert no_goal["met"] is None  # "met" without a goal would print a NO that judges nothing


def test_an_area_whose_script_is_missing_is_a_skipped_row_not_a_figure() -> None:
    area = suite.Area("ghost", "no_such_bench_script", "nothing", 1, 1)
    (only,) = suite.run_area_here(area, quick=True)
    assert only["value"] is None and only["met"] is None
    assert only["note"] == "skipped: bench/no_such_bench_script.py is not there"


def test_unknown_area_names_are_refused_with_the_valid_ones(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        suite.main(["--only", "ingest,nope"])
    assert "unknown area(s) nope" in capsys.readouterr().err


def test_slope_is_the_exponent_of_growth() -> None:
    sizes = [1_000, 10_000, 100_000]
    assert scaling.slope(sizes, [0.002 * n for n in sizes]) == pytest.approx(1.0)
    assert scaling.slope(sizes, [1e-6 * n * n for n in sizes]) == pytest.approx(2.0)
    assert scaling.slope(sizes, [3.0, 3.0, 3.0]) == pytest.approx(0.0)


def test_scaling_rows_judge_featurize_time_and_memory_against_the_goals() -> None:
    def sizes(seconds: list[float], memory: list[float]) -> dict[int, dict[str, float]]:
        return {
            n: {"seconds": s, "peak_rss_mb": m, "load_seconds": 1.0}
            for n, s, m in zip((1_000, 4_000, 16_000), seconds, memory)
        }

    figures = {
        "featurize": sizes([1.0, 4.0, 16.0], [500.0, 520.0, 1500.0]),  # linear time, memory tripled
        "search": sizes([0.01, 0.08, 0.64], [400.0, 400.0, 400.0]),  # n^1.5: worse than linear
    }
    rows = {r["metric"]: r for r in scaling.scaling_rows(figures)}
    assert rows["featurize: time slope (log-log, 3 sizes)"]["met"] is True
    assert rows["featurize: peak RSS 16,000 / 1,000 posts"]["value"] == pytest.approx(3.0)
    assert rows["featurize: peak RSS 16,000 / 1,000 posts"]["met"] is False
    assert rows["search: time slope (log-log, 3 sizes)"]["met"] is False
    assert rows["search: peak RSS 16,000 / 1,000 posts"]["met"] is None  # no memory goal for search
    assert "search 4,000 posts: agent load + first query" in rows


def test_train_stream_rows_judge_sgd_growth_only_and_the_area_is_registered() -> None:
    def sizes(seconds: list[float], memory: list[float]) -> dict[int, dict[str, float]]:
        return {
            n: {"seconds": s + 3.0, "train_seconds": s, "peak_rss_mb": m, "tree_mb": m, "macro_f1": 0.7}
            for n, s, m in zip((20_000, 80_000), seconds, memory)
        }

    figures = {"sgd": sizes([4.0, 16.0], [500.0, 600.0]), "logreg": sizes([4.0, 64.0], [500.0, 1100.0])}
    rows = {r["metric"]: r for r in train_stream.stream_rows(figures)}
    assert rows["sgd: fit time slope (log-log, 2 sizes)"]["value"] == pytest.approx(1.0)
    assert rows["sgd: fit time slope (log-log, 2 sizes)"]["met"] is True
    assert rows["sgd: peak RSS 80,000 / 20,000 posts"]["value"] == pytest.approx(1.2)
    assert rows["sgd: peak RSS 80,000 / 20,000 posts"]["met"] is True
    assert rows["logreg: peak RSS 80,000 / 20,000 posts"]["met"] is None  # the in-memory kind is shown, not judged
    assert rows["sgd 80,000 posts: test macro-F1"]["value"] == 0.7
    worse = {r["metric"]: r for r in train_stream.stream_rows({"sgd": sizes([4.0, 40.0], [500.0, 700.0])})}
    assert worse["sgd: fit time slope (log-log, 2 sizes)"]["met"] is False
    assert worse["sgd: peak RSS 80,000 / 20,000 posts"]["met"] is False
    assert "train_stream" in suite.AREA_NAMES


def test_synthetic_posts_import_as_distinct_text_posts(tmp_path: Path) -> None:
    from postlens.pipeline.ingest import run_ingest
    from postlens.store.workspace import Workspace

    data = scaling.synthetic_posts(tmp_path / "posts.jsonl", 60)
    run_ingest([data], importer_name="postlens", workspace=tmp_path / "ws")
    with Workspace(tmp_path / "ws") as ws:
        count, texts, dated = ws.db.execute(
            "SELECT count(*), count(DISTINCT text), count(created_at) FROM posts"
        ).fetchone()
    assert count == 60 and dated == 60
    assert texts >= 55  # generated sentences, not one string repeated


def test_write_doc_replaces_only_its_own_section(tmp_path: Path) -> None:
    result = suite.run_suite(
        [suite.Area("alpha", "alpha", "first", 1, 1)], False, tmp_path, runner=stub_runner, progress=lambda _: None
    )
    doc = tmp_path / "benchmarks.md"
    start, end = suite.doc_markers("scaling")
    doc.write_text(f"# Prose kept\n\n<!-- bench:start -->\nold main\n<!-- bench:end -->\n\n{start}\nold\n{end}\ntail\n")
    suite.write_doc(result, doc, tmp_path / "r.json", "scaling")
    text = doc.read_text()
    assert text.startswith("# Prose kept") and text.endswith("tail\n")
    assert "old main" in text and "\nold\n" not in text  # the other section untouched, this one replaced
    assert "| alpha | posts/s | 1,234 | posts/s | >= 1,000 | yes |" in text or "| alpha | posts/s | 1,235 |" in text
    doc.write_text("# no markers\n")
    with pytest.raises(SystemExit, match="no <!-- bench:start -->"):
        suite.write_doc(result, doc, tmp_path / "r.json")
