"""Camera config: every sample loads; each wrong field fails with a message naming it."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from gatewatch.config import load_config, parse_config
from gatewatch.errors import ConfigError

SAMPLES = sorted((Path(__file__).parents[2] / "samples").glob("*.yaml"))

GOOD = {
    "gate": "huu-nghi",
    "camera": "cam-1",
    "source": {"uri": "clip.mp4"},
    "lanes": [{"id": "import-1", "line": [[0, 100], [200, 100]], "entry_heading": "down"}],
}


def with_change(path: str, value):
    """GOOD with one field (dotted path, list indices as ints) set or, for ..., removed."""
    data = copy.deepcopy(GOOD)
    keys = [int(k) if k.isdigit() else k for k in path.split(".")]
    target = data
    for key in keys[:-1]:
        target = target.setdefault(key, {}) if isinstance(target, dict) else target[key]
    if value is ...:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value
    return data


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_samples_load(path):
    config = load_config(path)
    assert config.lanes and config.gate and config.camera


BAD = [
    # field path, value, words the message must contain
    ("gate", ..., ["gate", "Field required"]),
    ("colour", "red", ["colour", "unknown field"]),
    ("lanes", [], ["lanes", "at least 1"]),
    ("lanes.0.entry_heading", "north", ["lanes.0.entry_heading"]),
    ("lanes.0.entry_heading", "left", ["entry_heading", "runs along the line"]),
    ("lanes.0.line", [[5, 5], [5, 5]], ["line", "same"]),
    ("lanes.0.line", [[5, 5]], ["lanes.0.line"]),
    ("lanes.0.min_crossing_frames", 0, ["min_crossing_frames", "greater than or equal to 1"]),
    ("lanes.0.speed", 3, ["lanes.0.speed", "unknown field"]),
    ("detect.confidence", 1.5, ["detect.confidence", "less than 1"]),
    ("detect.classes", "car", ["detect.classes"]),
    ("model.threads", -1, ["model.threads"]),
    ("source.kind", "ftp", ["source.kind"]),
    ("source.start_time", "yesterday", ["source.start_time"]),
    ("tracker.lost_track_s", 0, ["tracker.lost_track_s"]),
    # names go into every event: the event contract's limits apply at start, not when the first event is built
    ("gate", "huu\x00nghi", ["gate", "control character"]),
    ("camera", "c" * 65, ["camera", "at most 64"]),
    ("lanes.0.id", "import\x1b1", ["lanes.0.id", "control character"]),
]


@pytest.mark.parametrize(("path", "value", "words"), BAD, ids=[f"{p}={v!r}" for p, v, _ in BAD])
def test_bad_field_names_it(path, value, words):
    with pytest.raises(ConfigError) as err:
        parse_config(with_change(path, value), "cam.yaml")
    message = str(err.value)
    assert message.startswith("cam.yaml: ")
    assert "\n" not in message
    for word in words:
        assert word in message


def test_duplicate_lane_ids():
    data = copy.deepcopy(GOOD)
    data["lanes"].append(dict(data["lanes"][0]))
    with pytest.raises(ConfigError, match="lane ids must be unique"):
        parse_config(data)


def test_lane_class_must_be_detected():
    data = with_change("lanes.0.classes", ["tractor"])
    with pytest.raises(ConfigError, match="tractor"):
        parse_config(data)


def test_relative_source_resolves_against_the_file(tmp_path):
    (tmp_path / "cam.yaml").write_text(
        "gate: g\ncamera: c\nsource: {uri: videos/clip.mp4}\n"
        "lanes: [{id: a, line: [[0, 1], [9, 1]], entry_heading: down}]\n"
    )
    assert load_config(tmp_path / "cam.yaml").source.uri == str(tmp_path / "videos" / "clip.mp4")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("gate: [unclosed\n", ["not valid YAML", "line"]),
        ("- just\n- a list\n", ["expected a mapping"]),
    ],
)
def test_unparseable_files(tmp_path, text, words):
    path = tmp_path / "cam.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    for word in words:
        assert word in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
