"""train.yaml parsing: strict keys with helpful errors."""

from __future__ import annotations

import pytest

from postlens.errors import ConfigError
from postlens.models.config import load_config, parse_config


def test_unknown_key_lists_known_keys(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown key 'model.epoch'.*epochs"):
        parse_config({"model": {"epoch": 3}})
    with pytest.raises(ConfigError, match=r"unknown key 'traget'.*target"):
        parse_config({"traget": "label"})


def test_defaults_and_task_resolution(tmp_path):
    path = tmp_path / "train.yaml"
    path.write_text("target: popularity\nmodel:\n  kind: lightgbm\n")
    config = load_config(path)
    assert config.resolved_task == "regression" and config.split.strategy == "time"
    assert parse_config({}).resolved_task == "classification"
    with pytest.raises(ConfigError, match="no training config"):
        load_config(tmp_path / "absent.yaml")
