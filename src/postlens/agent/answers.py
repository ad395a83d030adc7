"""Each section of an Insight, computed for a whole batch of posts at once.

Trained models are called once per batch (and once more per modality for the drop-one
contributions); the popularity model once; the topic model once; the index once per post.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from postlens.agent.features import BatchFeatures
from postlens.agent.insight import (
    Contribution,
    Driver,
    LabelInsight,
    PopularityInsight,
    Sentiment,
    TopicAlternative,
    TopicInsight,
    TrendInsight,
    VaderScores,
    VisualLabel,
)
from postlens.agent.segmenter import Placement, Segmenter
from postlens.agent.state import Snapshot
from postlens.agent.views import model_inputs, popularity_frame
from postlens.encoders.text.lexicon import lexicon_reads
from postlens.models.inputs import PostData
from postlens.tasks.segments.parts import PostParts
from postlens.types import Modality

MODALITIES = ("text", "image", "video", "audio")
TOP_DRIVERS = 6
TOP_VISUAL_LABELS = 5


@dataclass
class LoadedModel:
    """A trained model the agent answers with; ``role``: label | sentiment | emotion."""

    name: str
    model: Any  # TrainedModel
    config: Any  # TrainConfig
    target: str
    role: str


def present_modalities(batch: BatchFeatures, row: int) -> list[str]:
    post = batch.posts[row]
    kinds = {m.kind for m in post.media}
    present = ["text"] if post.post.text.strip() else []
    present += [
        name
        for name, of in (
            ("image", (Modality.IMAGE, Modality.GIF)),
            ("video", (Modality.VIDEO,)),
            ("audio", (Modality.AUDIO,)),
        )
        if kinds & set(of)
    ]
    return present


def visual_labels(batch: BatchFeatures, row: int) -> list[VisualLabel]:
    """ImageNet labels of each image and GIF (EfficientNet's top 5, most probable first), and of each
    video (its sampled frames' probabilities averaged)."""
    out: list[VisualLabel] = []
    item = batch.items[row]
    for gated in batch.posts[row].media:
        found = item.media.get(gated.index, {}).get("efficientnet")
        labels = (
            [(str(x["name"]), float(x["prob"])) for x in (found.info.get("labels") or [])]
            if found is not None and not found.error
            else item.frame_labels.get(gated.index, [])
        )
        out += [
            VisualLabel(name=name, probability=round(prob, 4), media=gated.index)
            for name, prob in labels[:TOP_VISUAL_LABELS]
        ]
    return out


def topics(segmenter: Segmenter, placement: Placement, snapshot: Snapshot) -> list[TopicInsight]:
    out = []
    for row, topic in enumerate(placement.topics):
        similarity = float(placement.scores[row]) if np.isfinite(placement.scores[row]) else None
        known = snapshot.topics.get(topic) if topic is not None else None
        runner = placement.runner_up[row] if placement.runner_up else None
        out.append(
            TopicInsight(
                segmentation=segmenter.name,
                kind=segmenter.kind,
                topic_id=topic,
                label=(known.name or known.label) if known else None,
                words=known.words[:10] if known else [],
                similarity=None if similarity is None else round(similarity, 4),
                confidence=None
                if known is None or similarity is None
                else round(known.confidence(similarity) or 0.0, 4),
                novel=bool(placement.novel[row]),
                runner_up=None
                if runner is None
                else TopicAlternative(
                    topic_id=runner[0],
                    similarity=round(runner[1], 4),
                    label=(lambda r: (r.name or r.label) if r else None)(snapshot.topics.get(runner[0])),
                ),
            )
        )
    return out


def contributions(segmenter: Segmenter, parts: PostParts) -> list[list[Contribution]]:
    """Each part's weight and cosine to the post's fused vector; shares sum to 1."""
    weighted = segmenter.space.part_vectors_weights(parts)
    total = sum((v for _, v in weighted), np.zeros((len(parts), segmenter.dim)))
    norms = np.linalg.norm(total, axis=1)
    out: list[list[Contribution]] = []
    for row in range(len(parts)):
        items = []
        for name, block in weighted:
            vector = block[row]
            length = float(np.linalg.norm(vector))
            if length < 1e-12 or norms[row] < 1e-12:
                continue
            cosine = float(vector @ total[row] / (length * norms[row]))
            items.append((name, length, cosine))
        summed = sum(w * c for _, w, c in items) or 1.0
        out.append(
            [
                Contribution(part=n, weight=round(w, 4), cosine=round(c, 4), share=round(w * c / summed, 4))
                for n, w, c in items
            ]
        )
    return out


def model_labels(loaded: LoadedModel, batch: BatchFeatures) -> list[LabelInsight]:
    """The model's answer per post, and per present modality the change of the answer's probability
    (or value) when that modality is dropped: one model call for the posts and all their variants."""
    model = loaded.model
    data = model_inputs(model, loaded.config, batch)
    n = len(data)
    dropped = [m for m in data.masks if data.masks[m].any()]
    stacked = _stack_rows([data, *(data.without(m) for m in dropped)])
    regression = model.task == "regression"
    answers = np.asarray(model.predict(stacked) if regression else model.predict_proba(stacked), float)
    full = answers[:n]
    without = {m: answers[(j + 1) * n : (j + 2) * n] for j, m in enumerate(dropped)}
    out = []
    for i in range(n):
        missing = [m for m in data.masks if not data.masks[m][i]]
        if regression:
            out.append(
                LabelInsight(
                    model=loaded.name,
                    target=loaded.target,
                    task=model.task,
                    value=round(float(full[i]), 6),
                    missing_modalities=missing,
                    contributions={m: round(float(full[i] - d[i]), 6) for m, d in without.items() if data.masks[m][i]},
                )
            )
            continue
        chosen = int(np.argmax(full[i]))
        picked = [str(c) for c, p in zip(model.classes, full[i]) if p >= 0.5] if model.task == "multilabel" else []
        out.append(
            LabelInsight(
                model=loaded.name,
                target=loaded.target,
                task=model.task,
                label=str(model.classes[chosen]) if model.task == "classification" else None,
                labels=picked,
                probability=round(float(full[i, chosen]), 6),
                probabilities={str(c): round(float(p), 6) for c, p in zip(model.classes, full[i])},
                missing_modalities=missing,
                contributions={
                    m: round(float(full[i, chosen] - d[i, chosen]), 6) for m, d in without.items() if data.masks[m][i]
                },
            )
        )
    return out


def _stack_rows(parts: list[PostData]) -> PostData:
    """Several PostData of the same blocks, one under the other (one model call instead of many)."""
    first = parts[0]
    if len(parts) == 1:
        return first
    return PostData(
        modalities={k: np.concatenate([p.modalities[k] for p in parts]) for k in first.modalities},
        masks={k: np.concatenate([p.masks[k] for p in parts]) for k in first.masks},
        meta=np.concatenate([p.meta for p in parts]),
        meta_names=list(first.meta_names),
        sequences={k: [s for p in parts for s in p.sequences[k]] for k in first.sequences},
        texts=None if first.texts is None else [t for p in parts for t in (p.texts or [])],
        waveforms={k: [w for p in parts for w in p.waveforms[k]] for k in first.waveforms},
        ids=None if first.ids is None else [i for p in parts for i in (p.ids or [])],
    )


def sentiment(batch: BatchFeatures, row: int, model: LabelInsight | None) -> Sentiment | None:
    item = batch.items[row]
    vader = item.vader
    language = batch.posts[row].post.language or (item.language.code if item.language else None)
    note = None
    if vader is not None and not lexicon_reads(language):
        vader = None  # VADER finds no English word and would call the post neutral
        note = f"the post is in {language!r}: VADER's lexicon reads English only, so there is no lexicon score"
    scores = None
    if vader is not None and not vader.error and vader.vector is not None:
        neg, neu, pos, compound = (float(v) for v in vader.vector)
        scores = VaderScores(
            neg=round(neg, 4),
            neu=round(neu, 4),
            pos=round(pos, 4),
            compound=round(compound, 4),
            label=str(vader.info.get("sentiment")),
        )
    if scores is None and model is None and note is None:
        return None
    if model is not None and model.label is not None:
        return Sentiment(label=model.label, source=f"model:{model.model}", vader=scores, model=model, note=note)
    return Sentiment(label=scores.label if scores else None, source="vader", vader=scores, model=model, note=note)


def popularity(model: Any, info: dict[str, Any], name: str, batch: BatchFeatures) -> list[PopularityInsight]:
    frame = popularity_frame(model, info, batch)
    explanation = model.explain(frame)
    predicted = explanation.prediction
    prior = model.prior(frame)
    percentile, groups = model.percentile(frame, predicted)
    kinds, summed = explanation.by_modality()
    out = []
    for i in range(len(frame)):
        out.append(
            PopularityInsight(
                model=name,
                metric=model.config.target.metric,
                predicted=round(max(float(np.expm1(predicted[i])), 0.0), 4),
                predicted_log=round(float(predicted[i]), 6),
                percentile=None if not np.isfinite(percentile[i]) else round(float(percentile[i]), 2),
                compared_with=str(groups[i]) if groups[i] is not None else None,
                followers_prior=round(max(float(np.expm1(prior[i])), 0.0), 4),
                vs_followers=round(float(np.exp(predicted[i] - prior[i])), 4),
                base=round(float(explanation.base), 6),
                drivers=[Driver(name=n, modality=m, effect=round(v, 6)) for n, m, v in explanation.top(i, TOP_DRIVERS)],
                by_modality={k: round(float(summed[i, j]), 6) for j, k in enumerate(kinds)},
            )
        )
    return out


def trends(snapshot: Snapshot, batch: BatchFeatures, row: int, topic: TopicInsight | None) -> list[TrendInsight]:
    """The saved trend state of the post's hashtags, named entities and topic ("unseen": never counted)."""
    post = batch.posts[row].post
    wanted: list[tuple[str, str]] = [("hashtags", f"#{tag.lower()}") for tag in dict.fromkeys(post.hashtags) if tag]
    stream = snapshot.trends.get("entities")
    if stream is not None and post.text.strip():
        extractor = _extractor(stream.version)
        if extractor is not None:
            wanted += [("entities", e) for e in extractor([post.text])[0]]
    if topic is not None and topic.topic_id is not None:
        known = snapshot.topics.get(topic.topic_id)
        wanted.append(("topics", f"{topic.segmentation}:{(known.name if known and known.name else topic.topic_id)}"))
    out = []
    for source, term in wanted:
        found = snapshot.trends.get(source)
        if found is None:
            continue
        state = found.terms.get(term)
        if state is None:
            if source == "entities":
                continue  # an unseen name is usually an extraction guess, not news
            out.append(TrendInsight(source=source, term=term, state="unseen", bin_seconds=found.bin_seconds))
            continue
        out.append(
            TrendInsight(
                source=source,
                term=term,
                state=state.state,
                count=state.count,
                expected=None if state.expected is None else round(float(state.expected), 4),
                growth=None if state.growth is None else round(float(state.growth), 4),
                bin_start=state.bin_start,
                bin_seconds=found.bin_seconds,
                last_alert=state.last_alert,
            )
        )
    return out


def _extractor(version: str) -> Any:
    from postlens.tasks.trends.entities import LightEntities

    light = LightEntities()
    return light if version == light.name else None
