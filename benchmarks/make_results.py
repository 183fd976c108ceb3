"""Join the per-area result tables in ``benchmarks/results/`` into ``benchmarks/RESULTS.md``.

Each benchmark script writes its own table (with the command that made it and the date);
this only concatenates them, demoting their headings one level.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
PARTS = [  # file, section title
    ("counting.md", "Edge pipeline: speed and counts vs Ultralytics (`benchmarks/counting.py`)"),
    ("scheduling.md", "What each change bought: detection scheduling and ROI (`benchmarks/counting.py --schedule --roi`)"),
    ("streams.md", "Cameras per box: 720p streams at 15 FPS, site runner vs Ultralytics per process (`benchmarks/streams.py`)"),
    ("changes.md", "What each speed change buys, each on its own (`benchmarks/changes.py`)"),
    ("tracker_fix.md", "Tracker lost-track time in real seconds: counts before / after (`benchmarks/counting.py`)"),
    ("gpu.md", "GPU: streams x FPS (`benchmarks/gpu.sh`)"),
    ("plates.md", "Plate reading (`benchmarks/plates.py`)"),
    ("plates_route.md", "Plate reading: country routing and confusion fitting, before / after, held-out half (`benchmarks/plates.py --split test`)"),
    ("plates_fusion.md", "Plate reading: the VN second opinion, held-out half (`benchmarks/plates.py --split test`)"),
    ("plates_fusion_dev.md", "Plate reading: the VN second opinion, dev half (`benchmarks/plates.py --split dev`)"),
    ("plates_own.md", "Plate reading: gatewatch's own recogniser and `fused_own` beside the others, held-out half (`benchmarks/plates.py --split test`)"),
    ("plates_cascade_lprnet.md", "Plate reading: the cascade with LPRNet agreement on Chinese reads, held-out half (`benchmarks/plates.py --split test`)"),
    ("plates_own_devcheck.md", "Plate reading: the own model as a third opinion, chosen on the dev-check quarter (`benchmarks/plates.py --split devcheck`)"),
    ("plates_own_small.md", "Plate reading: far plates, held-out crops shrunk to 30 px high (`benchmarks/plates.py --shrink-to 30`)"),
    ("plates_speed_idle.md", "Plate reading speed with the machine otherwise idle, held-out half (`benchmarks/plates.py --split test`)"),
    ("plate_scenes.md", "Plates in whole photos: detector input size, crop margin, deskew (`benchmarks/plate_scenes.py`)"),
    ("plates_audit.md", "Plate labels: audited sample of misses (`benchmarks/label_audit.py`)"),
    ("plates_square_audited.md", "Plate reading: held-out square plates against the by-eye audit of every crop (`benchmarks/plates.py --truth audited`)"),
    ("flags.md", "Empty-truck check (`benchmarks/empty_trucks.py`)"),
    ("api.md", "Gate API load (`benchmarks/api_load.py`)"),
    ("export.md", "Gate API export memory (`benchmarks/export_memory.py`)"),
    ("faults.md", "Fault matrix (`tests/sinks/test_fault_matrix.py`)"),
    ("soak.md", "Soak: memory and delivery over a long run (`benchmarks/soak.py`)"),
    ("outbox_memory.md", "Outbox memory at full speed (`benchmarks/outbox_memory.py`)"),
]
INTRO = """# Benchmark results

All figures below come from real runs of the scripts named in each section, on the project's
2-core x86-64 CPU machine (no GPU was lent to this task, so no CUDA/TensorRT figures). Other jobs
shared the CPU during some runs; each section says so where it applies. Rebuild this file with
`python benchmarks/make_results.py` after re-running a benchmark.

Delivery (outbox) fault-test figures are printed by `pytest tests/sinks/test_fault.py -s`
and recorded in `gatewatch/sinks/README.md`.
"""


def main() -> None:
    text = [INTRO]
    for name, title in PARTS:
        path = HERE / "results" / name
        if not path.is_file():
            continue
        body = path.read_text().strip().splitlines()
        if body and body[0].startswith("# "):
            body = body[1:]
        body = ["#" + line if line.startswith("#") else line for line in body]
        text.append(f"## {title}\n" + "\n".join(body).strip() + "\n")
    (HERE / "RESULTS.md").write_text("\n".join(text))


if __name__ == "__main__":
    main()
