"""The agent: hand it any post (text, images, video, audio, any mix) and get one structured ``Insight``.

    from postlens.agent import Agent
    with Agent("postlens-workspace") as agent:
        print(agent.understand(text="...", files=["photo.jpg"]).model_dump_json(indent=2))

See ``agent.py`` for the contract (thread safety, bounded concurrency, errors) and ``insight.py``
for the answer's fields.
"""

from postlens.agent.agent import Agent, AgentRequest
from postlens.agent.inputs import MediaInput
from postlens.agent.insight import (
    SCHEMA_VERSION,
    Contribution,
    Failure,
    Insight,
    LabelInsight,
    PopularityInsight,
    Problem,
    SearchResult,
    Sentiment,
    SimilarPost,
    TopicInsight,
    TrendInsight,
)

__all__ = [
    "SCHEMA_VERSION", "Agent", "AgentRequest", "Contribution", "Failure", "Insight", "LabelInsight", "MediaInput",
    "PopularityInsight", "Problem", "SearchResult", "Sentiment", "SimilarPost", "TopicInsight", "TrendInsight",
]
