"""Which trained models, popularity model and segmentation of a workspace the agent answers with."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from postlens.agent.answers import LoadedModel
from postlens.agent.features import EncoderSet
from postlens.errors import ConfigError

DEFAULT_TASKS = ("classification", "multilabel")
DEFAULT_SEGMENTATION = "topics"


def load_models(root: Path, names: Sequence[str] | None, encoders: EncoderSet, sentiment_targets: Sequence[str],
                emotion_targets: Sequence[str]) -> tuple[list[LoadedModel], list[str]]:
    """The named models (each must load and read inputs this postlens computes alike), or by default every
    classification model in ``<workspace>/models`` (one that cannot is left out, with a note)."""
    from postlens.models.artifact import load_model
    from postlens.pipeline.predict import resolve_model_folder

    folder = root / "models"
    chosen = list(names) if names is not None else sorted(
        p.name for p in folder.iterdir() if (p / "model.json").is_file()) if folder.is_dir() else []
    loaded: list[LoadedModel] = []
    notes: list[str] = []
    for name in chosen:
        try:
            model = load_model(resolve_model_folder(name, root))
            if names is None and model.task not in DEFAULT_TASKS:
                continue
            model.check_installed_encoders()
            _check_agent_encoders(model, encoders)
            config = model.training_config()
        except (ConfigError, OSError, ValueError, KeyError) as exc:
            if names is not None:
                raise ConfigError(f"model {name!r} cannot answer for the agent: {exc}") from exc
            notes.append(f"model {name} left out: {exc}")
            continue
        if "num_threads" in model.estimator.get_params(deep=False):
            model.estimator.set_params(num_threads=encoders.threads)  # the agent's share of the cores
        target = str(model.config.get("target") or config.target)
        role = "sentiment" if target in sentiment_targets else "emotion" if target in emotion_targets else "label"
        loaded.append(LoadedModel(model.name or name, model, config, target, role))
    return loaded, notes


def _check_agent_encoders(model: Any, encoders: EncoderSet) -> None:
    """The agent computes each input with its own encoder objects: their keys must be the model's."""
    for what, entry in [*model.encoders.items(), *model.text_sources.items()]:
        name = entry.get("encoder")
        if name and entry.get("key") and encoders.key(name) != entry["key"]:
            raise ConfigError(f"its {what} input was made by {entry['key']}, the agent's {name} encoder is "
                              f"{encoders.key(name)}")


class _ThreadedBooster:
    """A LightGBM booster whose ``predict`` runs on ``threads`` OpenMP threads (one for small batches):
    its default team of every core spin-waits at barriers when other processes hold the cores, measured
    22 ms instead of 0.07 ms for one post on a loaded 2-core machine."""

    def __init__(self, booster: Any, threads: int) -> None:
        self.booster, self.threads = booster, threads

    def predict(self, data: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("num_threads", 1 if len(data) < 1000 else self.threads)
        return self.booster.predict(data, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.booster, name)


def load_popularity(root: Path, popularity: str | bool | None, threads: int = 1) -> tuple[Any, dict[str, Any], str, list[str]]:
    """(model, description, name, notes); the model is None when there is none or ``popularity`` is False."""
    from postlens.pipeline.popularity import resolve_popularity_model
    from postlens.tasks.popularity import load_popularity_model
    from postlens.tasks.popularity.artifact import (
        DESCRIPTION,
        check_encoders,
        encoder_names,
    )

    if popularity is False:
        return None, {}, "", []
    if popularity is None or popularity is True:
        folder = root / "models"
        found = sorted((p for p in folder.iterdir() if (p / DESCRIPTION).is_file()), key=_saved_at) if folder.is_dir() else []
        if not found:
            note = [] if popularity is None else ["no popularity model in the workspace: run 'postlens popularity fit'"]
            if popularity is True:
                raise ConfigError(note[0])
            return None, {}, "", note
        named = [p for p in found if p.name == "popularity"]
        chosen = named[0] if named else found[-1]
        notes = [f"{len(found)} popularity models; answering with {chosen.name} (pass popularity=NAME for another)"] \
            if len(found) > 1 and not named else []
    else:
        chosen, notes = resolve_popularity_model(popularity, root), []
    model, info = load_popularity_model(chosen)
    model.booster_ = _ThreadedBooster(model.booster_, threads)
    check_encoders(model.config, info.get("feature_keys", {}), name=chosen.name)
    pinned = [e for e in encoder_names(model.config).values() if "@" in e]
    if pinned:
        message = f"popularity model {chosen.name} reads pinned encoder versions {pinned}; the agent computes only installed ones"
        if popularity not in (None, True):
            raise ConfigError(message)
        return None, {}, "", [message]
    return model, info, chosen.name, notes


def _saved_at(folder: Path) -> str:
    try:
        return str(json.loads((folder / "popularity.json").read_text()).get("saved_at") or "")
    except (OSError, ValueError):
        return ""


def pick_segmentation(kinds: dict[str, str], requested: str | None) -> tuple[str | None, list[str]]:
    """The segmentation whose topics and shared space the agent uses: ``requested``, else ``topics``,
    else the first found segmentation with a space (cluster, then seed)."""
    if requested is not None:
        if requested not in kinds:
            raise ConfigError(f"no segmentation {requested!r} in the workspace; segmentations there: "
                              f"{', '.join(sorted(kinds)) or 'none (run postlens segments fit)'}")
        if kinds[requested] not in ("cluster", "seed"):
            raise ConfigError(f"segmentation {requested!r} holds a trained model's classes, which have no shared space; "
                              "pass that model in models=[...] and a cluster or seed segmentation here")
        return requested, []
    if kinds.get(DEFAULT_SEGMENTATION) in ("cluster", "seed"):
        return DEFAULT_SEGMENTATION, []
    for kind in ("cluster", "seed"):
        found = sorted(n for n, k in kinds.items() if k == kind)
        if found:
            return found[0], [f"segmentation {found[0]!r} used for topics and similar posts"]
    return None, ["no segmentation in the workspace: topics and similar posts need 'postlens segments fit'"]
