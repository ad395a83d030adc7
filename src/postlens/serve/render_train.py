"""The training report at a terminal: figures with class names, per-class figures, the confusion
matrix, the imbalance comparison (chosen on validation) and cross-validation mean +- std.

Reads only the report dict ``pipeline.train`` returns, so the same report saved as
``metrics.json`` can be printed again.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

HEADLINE = {  # report key -> column title, in the order shown
    "macro_f1": "macro-F1", "balanced_accuracy": "balanced acc", "accuracy": "accuracy",
    "micro_f1": "micro-F1", "spearman": "Spearman", "mae": "MAE", "rmse": "RMSE",
}


def print_train_report(console: Console, report: dict[str, Any]) -> None:
    held = _held_out_name(report)
    sizes = report["sizes"]
    target = f" of {report['target']!r}" if report.get("target") else ""
    console.print(f"[bold]{report['name']}[/]: {report['model']} ({report['task']}{target}), "
                  f"train {sizes['train']:,} / val {sizes['val']:,} / held-out {sizes['test']:,} ({held}), "
                  f"trained in {report['train_seconds']:.1f}s")
    if "where" in report:
        w = report["where"]
        console.print(f"trained on the posts where {w['where']!r}: {w['posts_matching']:,} of "
                      f"{w['posts_in_workspace']:,} posts match, {w.get('posts_labelled', 0):,} of them labelled")
    blocks = report.get("blocks") or {}
    if len(blocks) > len({name.split(':')[0] for name in blocks}):
        console.print("feature blocks: " + ", ".join(f"{name} ({encoder})" for name, encoder in blocks.items()))
    _print_split(console, report.get("split", {}))
    if "tuning" in report:
        _print_tuning(console, report["tuning"])
    if "epochs" in report:
        _print_epochs(console, report["epochs"], report["model"])
    for warning in report.get("warnings", []):
        console.print(f"[yellow]warning:[/] {warning}")
    table = _table("figures", ["side", "n", *_headline_titles(report), *_extra_titles(report)])
    for side, title in (("val", "val (tuning)"), ("test", f"held-out: {held}")):
        if report.get(side):
            table.add_row(title, f"{report[side].get('n', 0):,}", *_headline_cells(report, report[side]),
                          *_extra_cells(report[side]))
    for name, figures in report.get("test_missing", {}).items():
        table.add_row(f"held-out {name.replace('_', ' ')}", f"{figures.get('n', 0):,}",
                      *_headline_cells(report, figures), *_extra_cells(figures))
    console.print(table)
    test = report.get("test", {})
    if "per_class" in test:
        console.print(per_class_table(test["per_class"], f"per class, held-out ({held})"))
    if "confusion" in test:
        console.print(confusion_table(test["confusion"], f"confusion matrix, held-out ({held})"))
    if "compare_imbalance" in report:
        _print_compare(console, report["compare_imbalance"], report, held)
    if "cv" in report:
        _print_cv(console, report["cv"], report)
    if "distill" in report:
        d = report["distill"]
        console.print(f"distillation: teacher macro-F1 {d['teacher']['macro_f1']:.3f}, student "
                      f"{d['student']['macro_f1']:.3f}, speed-up per post x{d['speedup_single']:.1f}")
    for side, path in report.get("predictions", {}).items():
        console.print(f"predictions, {'val (tuning)' if side == 'val' else f'held-out ({held})'}: {path}")
    if "output" in report:
        console.print(f"model saved to {report['output']}")


def _print_tuning(console: Console, tuning: dict[str, Any]) -> None:
    chosen = ", ".join(f"{k} {v:g}" for k, v in tuning["chosen"].items())
    if not tuning.get("candidates") or tuning.get("chosen_on") is None:
        why = f" ({tuning['note']})" if tuning.get("note") else ""
        console.print(f"hyper-parameters fixed{why}: {chosen}")
        return
    names = list(tuning["candidates"][0]["params"])
    rounds = any((entry.get("rounds") or 0) > 1 for entry in tuning["candidates"])  # LightGBM's trees
    table = _table(f"hyper-parameters chosen on validation ({tuning['chosen_on']}; the held-out side takes no part)",
                   [*names, tuning["chosen_on"], *(["trees"] if rounds else []), "s", ""])
    best = {k: tuning["chosen"][k] for k in names}
    for entry in tuning["candidates"]:
        mark = "[bold green]chosen[/]" if entry["params"] == best else ""
        table.add_row(*[f"{entry['params'][k]:g}" for k in names], _number(entry["val"]),
                      *([str(entry.get("rounds") or "-")] if rounds else []), f"{entry['seconds']:.1f}", mark)
    console.print(table)
    fixed = {k: v for k, v in tuning.get("fixed", {}).items() if k not in names}
    if fixed:
        console.print("fixed by the config: " + ", ".join(f"{k} {v:g}" for k, v in fixed.items()))


def _print_epochs(console: Console, epochs: dict[str, Any], kind: str) -> None:
    default = f" (the default for {kind}; set model.epochs to change it)" if epochs.get("default_for_kind") else ""
    kept = f"; weights of epoch {epochs['best']} kept (best on validation)" if epochs.get("best") else ""
    console.print(f"epochs: {epochs.get('run') or 0} run of {epochs['max']}{default}{kept}")


def _held_out_name(report: dict[str, Any]) -> str:
    split = report.get("split", {})
    if split.get("strategy") == "column":
        return f"the split column's {report.get('held_out', 'test')} rows"
    return "test"


def _print_split(console: Console, split: dict[str, Any]) -> None:
    parts = [f"split {split.get('strategy', '?')}"]
    if "column_sides" in split:
        parts.append("column values " + ", ".join(f"{k} {v:,}" for k, v in split["column_sides"].items()))
        parts.append(f"validation from {split.get('val_from', '?')}")
    if split.get("left_out"):
        parts.append("left out (no side): " + ", ".join(f"{k!r} {v:,}" for k, v in split["left_out"].items()))
    if "time_boundary" in split:
        parts.append(f"sides never share a {'calendar day (UTC)' if split['time_boundary'] == 'day' else 'timestamp'}")
    if "groups" in split:
        parts.append("groups " + ", ".join(f"{k} {v:,}" for k, v in split["groups"].items()))
    for key, value in {**{k: v for k, v in split.items() if k.startswith("posts ")}, **split.get("notes", {})}.items():
        parts.append(f"{key}: {value:,}")
    console.print("; ".join(parts))
    if split.get("note"):
        console.print(f"  note: {split['note']}")


def _table(title: str, headers: list[str]) -> Table:
    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False, min_width=len(title))
    for i, header in enumerate(headers):
        table.add_column(header, justify="left" if i == 0 else "right")
    return table


def _headline_titles(report: dict[str, Any]) -> list[str]:
    figures = report.get("test") or report.get("val") or {}
    return [title for key, title in HEADLINE.items() if key in figures]


def _headline_cells(report: dict[str, Any], figures: dict[str, Any]) -> list[str]:
    reference = report.get("test") or report.get("val") or {}
    return [_number(figures.get(key)) for key in HEADLINE if key in reference]


def _extra_titles(report: dict[str, Any]) -> list[str]:
    figures = report.get("test") or {}
    titles = []
    if "minority_recall" in figures:
        titles.append("minority recall")
    if "positive_f1" in figures:
        titles.append(f"F1 of {figures['positive_class']!r}")
    return titles


def _extra_cells(figures: dict[str, Any]) -> list[str]:
    cells = []
    if "minority_recall" in figures:
        cells.append(f"{_number(figures['minority_recall'])} ({figures['minority_class']})")
    if "positive_f1" in figures:
        cells.append(_number(figures["positive_f1"]))
    return cells


def _number(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else ("-" if value is None else str(value))


def per_class_table(per_class: dict[str, dict[str, Any]], title: str) -> Table:
    table = _table(title, ["class", "precision", "recall", "F1", "support"])
    for name, f in per_class.items():
        table.add_row(name, _number(f["precision"]), _number(f["recall"]), _number(f["f1"]), f"{f['support']:,}")
    return table


def confusion_table(confusion: dict[str, Any], title: str) -> Table:
    labels = confusion["labels"]
    table = _table(title, ["true \\ predicted", *[_short(n) for n in labels], "total"])
    for name, row in zip(labels, confusion["matrix"]):
        table.add_row(name, *[f"{v:,}" for v in row], f"{sum(row):,}")
    return table


def _short(name: str, width: int = 14) -> str:
    return name if len(name) <= width else name[: width - 1] + "~"


def _print_compare(console: Console, compare: dict[str, Any], report: dict[str, Any], held: str) -> None:
    table = _table(f"imbalance methods, chosen on validation ({compare['chosen_on']})",
                   ["method", "val macro-F1", "val balanced acc", "val minority recall", "train s", ""])
    for method, entry in compare["methods"].items():
        if "skipped" in entry:
            table.add_row(method, "-", "-", "-", "-", f"skipped: {entry['skipped']}")
            continue
        f = entry["val"]
        mark = "[bold green]chosen[/]" if method == compare["chosen"] else ""
        table.add_row(method, _number(f["macro_f1"]), _number(f["balanced_accuracy"]),
                      f"{_number(f['minority_recall'])} ({f['minority_class']})", f"{entry['train_seconds']:.1f}", mark)
    console.print(table)
    chosen = compare["test_of_chosen"]
    console.print(f"held-out ({held}) figures of the chosen method only, {compare['chosen']!r}: macro-F1 "
                  f"{chosen['macro_f1']:.3f}, balanced acc {chosen['balanced_accuracy']:.3f}, minority recall "
                  f"{chosen['minority_recall']:.3f} ({chosen['minority_class']})"
                  + (f"; set imbalance: {compare['chosen']} to train with it" if compare["chosen"] != report.get("imbalance") else ""))


def _print_cv(console: Console, cv: dict[str, Any], report: dict[str, Any]) -> None:
    folds = cv["folds"]
    console.print(f"[bold]cross-validation[/]: {cv['k']} {cv['kind']} folds over {cv['over']} "
                  f"({cv['rows']:,} posts); validation for early stopping inside each fold comes from its training part")
    table = _table("mean +- std (sample std across folds)", ["figure", "mean +- std", *[f"fold {f['fold']}" for f in folds]])
    for key in [k for k in (*HEADLINE, "minority_recall", "positive_f1") if k in cv["mean"]]:
        table.add_row(HEADLINE.get(key, key.replace("_", " ")), f"{cv['mean'][key]:.3f} +- {cv['std'][key]:.3f}",
                      *[_number(f["metrics"].get(key)) for f in folds])
    for name, figures in cv.get("per_class", {}).items():
        table.add_row(f"F1 {name}", f"{figures['f1']['mean']:.3f} +- {figures['f1']['std']:.3f}",
                      *[_number(f["metrics"]["per_class"].get(name, {}).get("f1")) for f in folds])
    table.add_row("held-out posts", "", *[f"{f['sizes']['test']:,}" for f in folds])
    if any("tuned" in f for f in folds):
        table.add_row("tuned on its val", "", *[", ".join(f"{k} {v:g}" for k, v in f.get("tuned", {}).items())
                                                 for f in folds])
    console.print(table)
    if "confusion" in cv:
        console.print(confusion_table(cv["confusion"], "confusion matrix summed over the held-out folds"))
    for fold in folds:
        for warning in fold.get("warnings", []):
            console.print(f"[yellow]warning (fold {fold['fold']}):[/] {warning}")
