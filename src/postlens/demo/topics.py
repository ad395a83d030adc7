"""The planted topics of the demo corpus: what each one says, shows and sounds like.

Every topic carries its own vocabulary, hashtags, image look and audio pitch so that text AND
media reveal it; later stages (topic segmentation, image encoders) can be checked against it.
Topic vocabulary is kept sentiment-neutral on purpose (checked with VADER in the tests), so that
the planted sentiment comes only from the sentiment phrases below.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

RGB = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class Topic:
    """One planted topic. ``effect`` is its additive term in the log-popularity formula."""

    name: str
    entities: tuple[str, ...]
    places: tuple[str, ...]
    nouns: tuple[str, ...]
    templates: tuple[str, ...]
    hashtags: tuple[str, ...]
    emoji: tuple[str, ...]
    captions: tuple[str, ...]
    background: RGB
    accent: RGB
    secondary: RGB
    motif: str
    tone_hz: float
    effect: float
    volume: float
    sentiment_mix: tuple[float, float, float]  # positive, neutral, negative
    burst_hashtag: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


TOPICS: tuple[Topic, ...] = (
    Topic(
        name="sports",
        entities=("Rovers", "City Athletic", "the Falcons", "Harbor FC", "the Tigers", "Northside"),
        places=("the stadium", "Riverside Park", "the arena", "Westfield ground"),
        nouns=("match", "goal", "transfer", "league table", "corner kick", "striker", "coach", "kickoff"),
        templates=(
            "{entity} face {entity2} tonight at {place}, kickoff at {num}pm.",
            "Final score at {place}: {entity} {num}-{num2} {entity2}.",
            "The {noun} in the second half changed the whole {noun2}.",
            "Watching {entity} train at {place} before the {noun}.",
            "{entity} announce a new {noun} ahead of the weekend fixture.",
            "Half time at {place} and the {noun} is the talk of the crowd.",
        ),
        hashtags=("football", "matchday", "soccer", "sports", "league"),
        emoji=("⚽", "🏟️", "🥅"),
        captions=("MATCH DAY", "FULL TIME", "KICK OFF", "HALF TIME", "GAME ON", "LEAGUE NIGHT"),
        background=(46, 139, 60),
        accent=(250, 250, 250),
        secondary=(20, 90, 35),
        motif="field",
        tone_hz=220.0,
        effect=0.4,
        volume=1.2,
        sentiment_mix=(0.40, 0.30, 0.30),
        burst_hashtag="cupfinal",
    ),
    Topic(
        name="food",
        entities=("ramen", "sourdough", "tacos", "curry", "noodles", "pasta", "paella"),
        places=("the night market", "my kitchen", "a corner bistro", "the food hall"),
        nouns=("recipe", "dinner", "lunch", "spice", "sauce", "oven", "menu", "dessert"),
        templates=(
            "Made {entity} from scratch in {place} tonight.",
            "Trying the {entity} at {place}, the {noun} has {num} kinds of chili.",
            "My {noun} for {entity}: {num} minutes in the {noun2}.",
            "Sunday {noun} at {place}: {entity} and {entity2}.",
            "New {noun} on the {noun2} at {place} this week: {entity}.",
            "Cooking {entity} with a homemade {noun} for {num} people.",
        ),
        hashtags=("foodie", "recipe", "homecooking", "dinner", "streetfood"),
        emoji=("🍜", "🍳", "🌮"),
        captions=("DINNER TIME", "HOMEMADE", "CHEF TABLE", "RECIPE", "LUNCH BREAK", "TASTE TEST"),
        background=(240, 160, 70),
        accent=(255, 245, 225),
        secondary=(170, 60, 30),
        motif="plate",
        tone_hz=330.0,
        effect=0.0,
        volume=1.0,
        sentiment_mix=(0.55, 0.30, 0.15),
        burst_hashtag="foodfest",
    ),
    Topic(
        name="travel",
        entities=("Lisbon", "Kyoto", "Reykjavik", "Cape Town", "Patagonia", "Marrakesh", "Oslo"),
        places=("the airport", "the old town", "the coast road", "a mountain hut"),
        nouns=("flight", "itinerary", "hostel", "passport", "train", "ferry", "trail", "backpack"),
        templates=(
            "Landed in {entity} after a {num} hour {noun}.",
            "Day {num} in {entity}: took the {noun} along {place}.",
            "Packing the {noun} for {entity} and {entity2} next month.",
            "Walking {place} in {entity} before the {noun} leaves.",
            "The {noun} from {entity} to {entity2} takes {num} hours.",
            "Notes on the {noun} and the {noun2} for {entity}.",
        ),
        hashtags=("travel", "wanderlust", "backpacking", "roadtrip", "explore"),
        emoji=("✈️", "🗺️", "🏔️"),
        captions=("BON VOYAGE", "DAY TRIP", "NEXT CITY", "ON THE ROAD", "CITY BREAK", "PASSPORT"),
        background=(120, 190, 240),
        accent=(255, 220, 80),
        secondary=(70, 90, 120),
        motif="mountains",
        tone_hz=440.0,
        effect=0.2,
        volume=0.9,
        sentiment_mix=(0.50, 0.35, 0.15),
        burst_hashtag="summerplans",
    ),
    Topic(
        name="tech",
        entities=("the new phone", "Linux", "the laptop", "Python", "the smartwatch", "the router"),
        places=("the lab", "my desk", "the keynote", "the repo"),
        nouns=("update", "chip", "battery", "release", "benchmark", "firmware", "keyboard", "server"),
        templates=(
            "Installed the {noun} on {entity}, build {num}.{num2}.",
            "{entity} gets a {noun} with a faster {noun2}.",
            "Benchmark from {place}: {entity} runs the {noun} in {num} seconds.",
            "Setting up {entity} at {place} with a new {noun}.",
            "The {noun} for {entity} ships in version {num}.",
            "Reading the changelog for {entity} and the {noun} at {place}.",
        ),
        hashtags=("tech", "gadgets", "opensource", "programming", "ai"),
        emoji=("💻", "📱", "🤖"),
        captions=("NEW RELEASE", "UPDATE NOW", "BETA TEST", "SPEC SHEET", "OPEN SOURCE", "VERSION 2"),
        background=(25, 35, 70),
        accent=(80, 220, 255),
        secondary=(60, 80, 140),
        motif="circuit",
        tone_hz=660.0,
        effect=-0.2,
        volume=1.1,
        sentiment_mix=(0.40, 0.40, 0.20),
        burst_hashtag="launchweek",
    ),
    Topic(
        name="politics",
        entities=("the senate", "the council", "the minister", "parliament", "the mayor", "the committee"),
        places=("city hall", "the capitol", "the town meeting", "the press room"),
        nouns=("vote", "bill", "budget", "election", "policy", "debate", "poll", "ballot"),
        templates=(
            "{entity} will hold the {noun} on the {noun2} at {place}.",
            "The {noun} on the {noun2} passed with {num} votes in {entity}.",
            "Live from {place}: {entity} discuss the {noun}.",
            "{entity} publish the {noun} figures for district {num}.",
            "Questions for {entity} about the {noun} at {place}.",
            "Reading the {noun} text before {entity} meet at {place}.",
        ),
        hashtags=("politics", "election", "vote", "policy", "govt"),
        emoji=("🗳️", "🏛️", "📜"),
        captions=("VOTE TODAY", "BREAKING NEWS", "TOWN HALL", "BUDGET DAY", "ELECTION NIGHT", "LIVE DEBATE"),
        background=(175, 190, 220),
        accent=(200, 30, 45),
        secondary=(30, 60, 160),
        motif="podium",
        tone_hz=150.0,
        effect=0.5,
        volume=0.8,
        sentiment_mix=(0.20, 0.30, 0.50),
        burst_hashtag="electionnight",
    ),
    Topic(
        name="music",
        entities=("the band", "the orchestra", "DJ Nova", "the choir", "the quartet", "Luna Ray"),
        places=("the club", "the open air stage", "the concert hall", "the studio"),
        nouns=("album", "single", "setlist", "tour", "guitar", "vinyl", "chorus", "encore"),
        templates=(
            "{entity} perform the new {noun} at {place} tonight.",
            "Track {num} on the {noun} from {entity} has a long {noun2}.",
            "Queue outside {place} for {entity}, doors at {num}pm.",
            "{entity} announce a {noun} with {num} dates.",
            "Listening to the {noun} by {entity} on {noun2}.",
            "Soundcheck at {place} before {entity} go on stage.",
        ),
        hashtags=("music", "livemusic", "newmusic", "concert", "nowspinning"),
        emoji=("🎵", "🎸", "🎤"),
        captions=("LIVE TONIGHT", "NEW SINGLE", "ON TOUR", "SOLD OUT", "ON AIR", "ENCORE"),
        background=(110, 50, 160),
        accent=(255, 210, 240),
        secondary=(240, 120, 200),
        motif="equalizer",
        tone_hz=523.25,
        effect=0.3,
        volume=1.0,
        sentiment_mix=(0.55, 0.30, 0.15),
        burst_hashtag="festivalweekend",
    ),
)

SENTIMENTS: tuple[str, ...] = ("positive", "neutral", "negative")

SENTIMENT_PHRASES: dict[str, tuple[str, ...]] = {
    "positive": (
        "Absolutely love it!",
        "What an amazing day.",
        "This made me so happy.",
        "Brilliant, just brilliant.",
        "Best thing this week!",
        "So good, highly recommend.",
        "Great vibes all around.",
        "Really impressed, wonderful work.",
    ),
    "neutral": (
        "",
        "Details below.",
        "More on this later.",
        "Posting for the record.",
        "Schedule in the link.",
        "Photos from today.",
        "Thoughts?",
        "Notes from this afternoon.",
    ),
    "negative": (
        "Absolutely terrible.",
        "So disappointed right now.",
        "This is awful and I hate it.",
        "What a waste of time.",
        "Worst experience in ages.",
        "Really sad and angry about this.",
        "Frustrating and painful to watch.",
        "Such a mess, ugh.",
    ),
}

# Sarcasm, litotes and understatement: the planted sentiment holds, but a lexicon misreads
# them. A small share of posts uses these, so learned models have something to beat.
HARD_SENTIMENT_PHRASES: dict[str, tuple[str, ...]] = {
    "positive": (
        "Could not have asked for more.",
        "I can't stop smiling.",
        "Exceeded every expectation I had.",
        "Would not change a thing.",
    ),
    "negative": (
        "Great, just great. Another delay.",
        "Oh wonderful, cancelled again.",
        "Thanks a lot for nothing.",
        "Love waiting two hours for this.",
        "Nice job ruining it.",
        "Never again.",
    ),
}

SENTIMENT_EMOJI: dict[str, tuple[str, ...]] = {
    "positive": ("😍", "🎉", "👏", "😊"),
    "neutral": ("",),
    "negative": ("😡", "😞", "👎", "😤"),
}


def topic_by_name(name: str) -> Topic:
    """Look a topic up by name; the error lists the known names."""
    for topic in TOPICS:
        if topic.name == name:
            return topic
    known = ", ".join(t.name for t in TOPICS)
    raise KeyError(f"unknown demo topic {name!r}; known topics: {known}")
