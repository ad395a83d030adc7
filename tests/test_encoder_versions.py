"""Every registered encoder's cache key (name@version) follows its output settings and loads no model.

Keys are computed in fresh interpreters: once with every model loader trapped (a call is recorded),
once more with another hash seed, so a key that depended on ``id()``, set order or the hash seed
would differ between the two runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from postlens.encoders.base import cache_key, settings_tag, settings_version
from postlens.encoders.registry import SPECS

SRC = Path(__file__).resolve().parents[1] / "src"

# One setting per registered encoder that changes its output (a new encoder must add a line here).
CHANGED_SETTING: dict[str, dict[str, Any]] = {
    "minilm": {"max_chars": 100},
    "e5": {"max_chars": 100},
    "mpnet": {"max_chars": 100},
    "vader": {"threshold": 0.2},
    "efficientnet": {"top_k": 3},
    "ocr": {"min_score": 0.7},
    "image-stats": {"max_pixels": 1_000_000},
    "audio": {"max_seconds": 30.0},
    "video": {"fps": 2.0},
}

# (module, attribute path) of every model loader the registered encoders use.
LOADERS = [
    ("onnxruntime", "InferenceSession.__init__"),
    ("torch", "load"),
    ("torch", "jit.load"),
    ("torch", "nn.Module.load_state_dict"),
    ("sentence_transformers", "SentenceTransformer.__init__"),
    ("faster_whisper", "WhisperModel.__init__"),
    ("vaderSentiment.vaderSentiment", "SentimentIntensityAnalyzer.__init__"),
    ("rapidocr", "RapidOCR.__init__"),
]

_SCRIPT = """
import importlib, json, sys, warnings
warnings.simplefilter("ignore")
loads = []
def trap(module, path):
    try:
        owner = importlib.import_module(module)
    except ImportError:
        return
    *parents, last = path.split(".")
    for name in parents:
        owner = getattr(owner, name)
    original = getattr(owner, last)
    def spy(*args, **kwargs):
        loads.append(module + "." + path)
        return original(*args, **kwargs)
    setattr(owner, last, spy)
if sys.argv[1] == "trap":
    for module, path in json.loads(sys.argv[3]):
        trap(module, path)
from postlens.encoders.base import cache_key
from postlens.encoders.registry import SPECS
keys = {}
for name, changed in json.loads(sys.argv[2]).items():
    spec = SPECS[name]
    keys[name] = [cache_key(spec.build()), cache_key(spec.build()), cache_key(spec.build(**changed))]
while_building = list(loads)
control = None
if sys.argv[1] == "trap" and importlib.util.find_spec("vaderSentiment") is not None:
    from postlens.encoders.text.lexicon import VaderEncoder
    VaderEncoder().analyzer  # a real load: the traps must see it
    control = loads[len(while_building):]
print(json.dumps({"keys": keys, "loads": while_building, "control": control}))
"""


def _keys_in_fresh_process(mode: str, hash_seed: str) -> dict[str, Any]:
    env = {
        **os.environ,
        "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        "PYTHONHASHSEED": hash_seed,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, mode, json.dumps(CHANGED_SETTING), json.dumps(LOADERS)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def runs() -> tuple[dict[str, Any], dict[str, Any]]:
    return _keys_in_fresh_process("trap", "1"), _keys_in_fresh_process("plain", "2")


def test_every_registered_encoder_declares_a_setting_that_changes_its_output() -> None:
    assert set(CHANGED_SETTING) == set(SPECS), "add the new encoder to CHANGED_SETTING"


def test_building_every_encoder_and_its_key_loads_no_model(runs: tuple[dict[str, Any], dict[str, Any]]) -> None:
    trapped, _plain = runs
    assert trapped["loads"] == [], f"building an encoder or reading its version loaded a model: {trapped['loads']}"
    if trapped["control"] is not None:  # the traps work: a real load is seen
        assert trapped["control"], "the loader traps missed VADER's lexicon load; the check above proves nothing"


@pytest.mark.parametrize("name", list(CHANGED_SETTING))
def test_same_settings_same_key_across_processes_and_changed_settings_another(
    runs: tuple[dict[str, Any], dict[str, Any]], name: str
) -> None:
    trapped, plain = runs
    default, again, changed = trapped["keys"][name]
    assert default == again, "two builds with the same settings must share a key"
    assert default == plain["keys"][name][0], "the key must not depend on the process (hash seed, ids)"
    assert changed == plain["keys"][name][2]
    assert changed != default, f"{name}: {CHANGED_SETTING[name]} changes the output, so it must change the key"
    assert default.split("@", 1)[0] == changed.split("@", 1)[0]


def test_settings_tag_is_canonical() -> None:
    assert settings_tag({"a": 1, "b": [1, 2]}) == settings_tag({"b": (1, 2), "a": 1})
    assert settings_tag({"langs": {"en", "fr", "de"}}) == settings_tag({"langs": {"de", "fr", "en"}})
    assert settings_tag({"path": Path("/x/y")}) == settings_tag({"path": "/x/y"})
    assert settings_tag({"a": 1}) != settings_tag({"a": 2}) != settings_tag({"a": 1.5})
    assert settings_version("3", {"a": 1}) == f"3.{settings_tag({'a': 1})}"


def test_settings_tag_refuses_values_without_a_stable_text() -> None:
    with pytest.raises(TypeError, match="no stable text form"):
        settings_tag({"callback": object()})


def test_text_encoders_keep_importing_settings_tag_from_config() -> None:
    from postlens.encoders.text._config import settings_tag as reexported

    assert reexported is settings_tag
    # plain settings keep the tag the old _config.settings_tag gave them: existing text caches stay valid
    settings = {"max_chars": 2000, "preprocessor": {"urls": "drop", "lower": False}, "codes": ("en",), "x": 0.5}
    before = hashlib.sha256(json.dumps(settings, sort_keys=True, default=repr).encode()).hexdigest()[:8]
    assert settings_tag(settings) == before


def test_video_key_follows_its_injected_encoders() -> None:
    from postlens.encoders.image.ocr import OCREncoder
    from postlens.encoders.video.pipeline import VideoPipeline

    loose, strict = VideoPipeline(ocr=OCREncoder()), VideoPipeline(ocr=OCREncoder(min_score=0.9))
    assert cache_key(loose) != cache_key(strict)
    assert cache_key(loose) == cache_key(VideoPipeline(ocr=OCREncoder(num_threads=1)))
