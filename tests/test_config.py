"""Camera config: every sample loads; each wrong field fails with a message naming it."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from gatewatch.config import load_config, parse_config
from gatewatch.errors import ConfigError
from gatewatch.sinks.config import DeliveryConfig, MqttConfig
from gatewatch.vision.flags.config import FlagsConfig
from gatewatch.vision.plates.config import PlatesConfig, RapidOcrReaderConfig

SAMPLES = sorted((Path(__file__).parents[1] / "samples").glob("*.yaml"))

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
    ("lanes.0.entry_heading", "north", ["lanes[0].entry_heading"]),
    ("lanes.0.entry_heading", "left", ["entry_heading", "runs along the line"]),
    ("lanes.0.line", [[5, 5], [5, 5]], ["line", "same"]),
    ("lanes.0.line", [[5, 5]], ["lanes[0].line"]),
    ("lanes.0.min_crossing_frames", 0, ["min_crossing_frames", "greater than or equal to 1"]),
    ("lanes.0.speed", 3, ["lanes[0].speed", "unknown field"]),
    ("detect.confidence", 1.5, ["detect.confidence", "less than 1"]),
    ("detect.classes", "car", ["detect.classes"]),
    ("model.threads", -1, ["model.threads"]),
    ("source.kind", "ftp", ["source.kind"]),
    ("source.start_time", "yesterday", ["source.start_time"]),
    ("tracker.lost_track_s", 0, ["tracker.lost_track_s"]),
    # names go into every event: the event contract's limits apply at start, not when the first event is built
    ("gate", "huu\x00nghi", ["gate", "control character"]),
    ("camera", "c" * 65, ["camera", "at most 64"]),
    ("lanes.0.id", "import\x1b1", ["lanes[0].id", "control character"]),
    # the optional sections are typed too: checked with the rest of the file, before anything opens
    ("plates.wait", 3, ["plates.wait: unknown field"]),
    ("plates.reader", {"type": "rapidocr", "min_confidense": 0.5}, ["plates.reader.min_confidense: unknown field"]),
    ("plates.reader", {"type": "tesseract"}, ["plates.reader", "'rapidocr'"]),
    ("plates.max_reads_per_track", 20, ["plates: max_detections_per_track must be >= max_reads_per_track"]),
    ("flags.held", {"zones": [{"id": "z", "polygon": [[0, 0], [1, 1]]}]}, ["flags.held.zones[0].polygon", "at least 3"]),
    ("flags.hold_list", {}, ["flags.hold_list: give a url, a file, or both"]),
    ("flags.empty_truck", {"cargo_band": [0.8, 0.2]}, ["flags.empty_truck: cargo_band"]),
    ("delivery", {"api_url": "http://api:8000"}, ["delivery: give exactly one of api_key or api_key_env"]),
    ("delivery", {"api_url": "http://api:8000", "api_key": "k", "retry": {"max_s": 0}}, ["delivery.retry.max_s"]),
    ("mqtt", {"topic_prefix": "a/#"}, ["mqtt.topic_prefix", "must not contain"]),
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


def test_sections_are_typed_models():
    config = parse_config(GOOD | {
        "plates": {"reader": {"type": "rapidocr", "threads": 2}},
        "flags": {"held": {"zones": [{"id": "z", "polygon": [[0, 0], [9, 0], [9, 9]]}]}},
        "delivery": {"api_url": "http://api:8000/", "api_key_env": "GW_KEY"},
        "mqtt": {"host": "broker"},
    })
    assert isinstance(config.plates, PlatesConfig) and isinstance(config.plates.reader, RapidOcrReaderConfig)
    assert config.plates.reader.threads == 2
    assert isinstance(config.flags, FlagsConfig) and config.flags.held.zones[0].id == "z"
    assert isinstance(config.delivery, DeliveryConfig) and config.delivery.api_url == "http://api:8000"
    assert isinstance(config.mqtt, MqttConfig) and config.mqtt.host == "broker"
    assert parse_config(GOOD).plates is None and parse_config(GOOD | {"plates": {}}).plates == PlatesConfig()


def test_plate_wait_can_be_set():
    """``plates.wait_s`` was read with ``getattr(..., 2.0)`` but refused as an unknown field: it can be set now."""
    assert parse_config(GOOD | {"plates": {"wait_s": 5}}).plates.wait_s == 5.0
    assert PlatesConfig().wait_s == 2.0
    with pytest.raises(ConfigError, match=r"plates\.wait_s: Input should be greater than 0"):
        parse_config(GOOD | {"plates": {"wait_s": 0}}, "cam.yaml")


def test_runner_hands_the_plate_wait_to_the_pipeline(monkeypatch):
    """The runner returns ``plates.wait_s`` with the stage (before: ``ConfigError`` 'wait_s: extra inputs')."""
    from gatewatch.vision import runner
    from gatewatch.vision.plates import stage

    class FakeStage:
        def __init__(self, config: PlatesConfig) -> None:
            self.config = config

    monkeypatch.setattr(stage, "PlateStage", FakeStage)
    plate_stage, wait_s = runner.build_plate_stage(parse_config(GOOD | {"plates": {"wait_s": 4.5}}))
    assert isinstance(plate_stage, FakeStage) and plate_stage.config.wait_s == 4.5 and wait_s == 4.5
    assert runner.build_plate_stage(parse_config(GOOD | {"plates": {"enabled": False}})) is None


def test_several_errors_one_line_each():
    data = with_change("detect.confidence", 2) | {"mqtt": {"qos": 5}, "plates": {"reader": {"type": "auto", "x": 1}}}
    with pytest.raises(ConfigError) as err:
        parse_config(data, "cam.yaml")
    assert str(err.value).splitlines() == [
        "cam.yaml: detect.confidence: Input should be less than 1",
        "cam.yaml: plates.reader.x: unknown field",
        "cam.yaml: mqtt.qos: Input should be less than or equal to 2",
    ]


def test_config_models_import_light():
    """Config models import no onnxruntime, OpenCV, httpx or paho: ``config check`` works on a bare edge box."""
    import subprocess
    import sys

    heavy = ["cv2", "onnxruntime", "httpx", "paho", "supervision", "torch"]
    code = (
        "import sys, gatewatch.config, gatewatch.vision.plates, gatewatch.vision.flags, gatewatch.sinks.config\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
