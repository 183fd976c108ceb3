"""``gatewatch config check`` through the real CLI: every sample passes; a bad field in any section is refused.

The table builds each bad file from a real sample with every optional section switched on, and
expects exit 2 with exactly one line ``gatewatch: error: <file>: <section.field>: <why>``.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from gatewatch.cli import main
from tests.conftest import asset

ROOT = Path(__file__).parents[1]
SAMPLES = sorted((ROOT / "samples").glob("*.yaml"))
BASE_SAMPLE = ROOT / "samples" / "street_parked_held.yaml"

# Every section present, each valid: the sample plus plates, hold list, empty trucks, delivery and MQTT.
EXTRA_SECTIONS: dict[str, Any] = {
    "plates": {"wait_s": 3.0, "reader": {"type": "rapidocr", "threads": 1}},
    "flags": {
        "hold_list": {"file": "holds.yaml", "refresh_s": 60},
        "empty_truck": {"travel_axis": "x", "cab_fraction": 0.3},
    },
    "delivery": {"api_url": "http://gate-api:8000", "api_key_env": "GATEWATCH_API_KEY", "retry": {"initial_s": 1}},
    "mqtt": {"host": "broker", "qos": 1},
}


def full_config() -> dict[str, Any]:
    data = yaml.safe_load(BASE_SAMPLE.read_text())
    for section, fields in EXTRA_SECTIONS.items():
        data.setdefault(section, {}).update(copy.deepcopy(fields))
    return data


def set_path(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """``data`` with one field set; ``path`` is dotted, list items as ``name[0]``."""
    target: Any = data
    keys: list[str | int] = []
    for part in path.split("."):
        name, _, index = part.partition("[")
        keys.append(name)
        if index:
            keys.append(int(index.rstrip("]")))
    for key in keys[:-1]:
        target = target.setdefault(key, {}) if isinstance(target, dict) else target[key]
    target[keys[-1]] = value
    return data


def check(path: Path, *extra: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str], str]:
    """Run ``gatewatch config check`` in-process; the exit code, the error lines, stdout."""
    code = main(["config", "check", str(path), *extra])
    out, err = capsys.readouterr()
    return code, [line for line in err.splitlines() if line.startswith("gatewatch: error:")], out


def write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "cam.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.parametrize("sample", SAMPLES, ids=[p.name for p in SAMPLES])
def test_every_sample_passes(sample, capsys):
    data = yaml.safe_load(sample.read_text())
    asset(data["source"]["uri"].removeprefix("asset://"))
    code, errors, out = check(sample, capsys=capsys)
    assert (code, errors) == (0, [])
    assert out.startswith(f"{sample}: ok (") and " fps)" in out


def test_every_section_on_passes_without_opening_the_source(tmp_path, capsys):
    data = set_path(full_config(), "source.uri", str(tmp_path / "no-such-video.mp4"))
    code, errors, out = check(write(tmp_path, data), "--no-source", capsys=capsys)
    assert (code, errors) == (0, [])
    assert "sections: plates, flags, delivery, mqtt; source not opened" in out


BAD = [
    # section, field path, bad value, the line after "<file>: "
    ("source", "source.kind", "ftp", "source.kind: Input should be 'auto', 'file', 'folder', 'stream' or 'webcam'"),
    ("model", "model.threads", -1, "model.threads: Input should be greater than or equal to 0"),
    ("detect", "detect.confidence", 1.5, "detect.confidence: Input should be less than 1"),
    ("tracker", "tracker.lost_tracks_s", 1.0, "tracker.lost_tracks_s: unknown field"),
    ("lanes", "lanes[0].entry_heading", "north", "lanes[0].entry_heading: Input should be 'up', 'down', 'left' or 'right'"),
    ("output", "output.jpeg_quality", 5, "output.jpeg_quality: Input should be greater than or equal to 10"),
    ("plates", "plates.wait", 3.0, "plates.wait: unknown field"),
    ("plates reader", "plates.reader.min_confidense", 0.5, "plates.reader.min_confidense: unknown field"),
    ("flags.held", "flags.held.zones[1].polygon", [[0, 0], [10, 10]],
     "flags.held.zones[1].polygon: List should have at least 3 items after validation, not 2"),
    ("flags.holds", "flags.hold_list.refresh_s", -1, "flags.hold_list.refresh_s: Input should be greater than or equal to 0"),
    ("flags.empty_truck", "flags.empty_truck.travel_axis", "z", "flags.empty_truck.travel_axis: Input should be 'x' or 'y'"),
    ("delivery", "delivery.batch_size", 0, "delivery.batch_size: Input should be greater than or equal to 1"),
    ("delivery.retry", "delivery.retry.initial_s", 0, "delivery.retry.initial_s: Input should be greater than 0"),
    ("mqtt", "mqtt.qos", 3, "mqtt.qos: Input should be less than or equal to 2"),
]


@pytest.mark.parametrize(("section", "field", "value", "line"), BAD, ids=[row[0] for row in BAD])
def test_bad_field_in_every_section_is_refused_in_one_line(tmp_path, capsys, section, field, value, line):
    path = write(tmp_path, set_path(full_config(), field, value))
    code, errors, out = check(path, capsys=capsys)
    assert code == 2 and out == ""
    assert errors == [f"gatewatch: error: {path}: {line}"]


def test_bad_plate_setting_is_refused_before_the_source_opens(tmp_path, capsys):
    """The issue's case: a misspelt plate setting used to pass ``config check`` and fail once the run started."""
    data = set_path(full_config(), "source.uri", str(tmp_path / "no-such-video.mp4"))
    path = write(tmp_path, set_path(data, "plates.reader.tpye", "rapidocr"))
    code, errors, _ = check(path, capsys=capsys)
    assert code == 2  # a config error, not 4 (source not found): nothing was opened
    assert errors == [f"gatewatch: error: {path}: plates.reader.tpye: unknown field"]


def test_several_bad_fields_one_line_each(tmp_path, capsys):
    data = set_path(set_path(full_config(), "mqtt.port", 0), "flags.empty_truck.grace", 1)
    path = write(tmp_path, data)
    code, errors, _ = check(path, "--no-source", capsys=capsys)
    assert code == 2
    assert errors == [
        f"gatewatch: error: {path}: flags.empty_truck.grace: unknown field",
        f"gatewatch: error: {path}: mqtt.port: Input should be greater than or equal to 1",
    ]


def test_zone_outside_the_frame_is_refused(tmp_path, capsys):
    data = yaml.safe_load(BASE_SAMPLE.read_text())
    asset(data["source"]["uri"].removeprefix("asset://"))
    path = write(tmp_path, set_path(data, "flags.held.zones[0].polygon", [[70, 95], [3000, 65], [315, 120]]))
    code, errors, _ = check(path, capsys=capsys)
    assert code == 2
    assert len(errors) == 1 and "flags.held.zones.north-kerb.polygon: (3000.0, 65.0) is outside the" in errors[0]
