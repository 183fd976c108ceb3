"""LPRNet network (PyTorch) and its one-time export to ONNX; imported only to export.

The network is sirius-ai/LPRNet_Pytorch's (Apache-2.0): a small CNN over a 94x24 BGR
plate, four feature maps pooled to the same 4x18 grid and divided by their mean square
("global context"), concatenated (64 + 128 + 256 + 68 = 516 channels) and mapped to 68
classes by a 1x1 "container" conv, then averaged over height: logits ``(N, 68, 18)``.
The layer indices of ``backbone`` match the published state_dict exactly
(``Final_LPRNet_model.pth``). The channel max-pools (``MaxPool3d`` on a 4-D tensor in the
original, which pools over channels) are written as ``MaxPool3d`` on a 5-D view so that
the ONNX graph is a plain ``MaxPool``; the numbers are the same.

Torch is imported here only; the runtime (:mod:`.lprnet`) runs the ONNX file. The export is a
:class:`~gatewatch.models.build.ModelBuild` (:class:`LprnetExport`) run through the models' gate.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gatewatch.errors import ModelError
from gatewatch.models.build import BuildResult, build_checked
from gatewatch.models.onnx import OnnxModel
from gatewatch.vision.plates.lprnet_spec import LPRNET_CLASSES, LPRNET_SIZE, lprnet_checkpoint, preprocess

log = logging.getLogger(__name__)

try:
    import torch
    from torch import nn
except ImportError as exc:  # pragma: no cover - depends on the install
    raise ModelError("exporting LPRNet needs torch: pip install 'gatewatch[export]'") from exc


class SmallBasicBlock(nn.Module):
    """1x1 -> 3x1 -> 1x3 -> 1x1 convolutions with ReLU between (keys ``block.0/2/4/6``)."""

    def __init__(self, ch_in: int, ch_out: int) -> None:
        super().__init__()
        mid = ch_out // 4
        self.block = nn.Sequential(
            nn.Conv2d(ch_in, mid, kernel_size=1),
            nn.ReLU(),
            nn.Conv2d(mid, mid, kernel_size=(3, 1), padding=(1, 0)),
            nn.ReLU(),
            nn.Conv2d(mid, mid, kernel_size=(1, 3), padding=(0, 1)),
            nn.ReLU(),
            nn.Conv2d(mid, ch_out, kernel_size=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class ChannelMaxPool(nn.Module):
    """``MaxPool3d`` over (channel, height, width) of an ``(N, C, H, W)`` tensor."""

    def __init__(self, kernel: tuple[int, int, int], stride: tuple[int, int, int]) -> None:
        super().__init__()
        self.pool = nn.MaxPool3d(kernel_size=kernel, stride=stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(x.unsqueeze(1)).squeeze(1)


class LPRNet(nn.Module):
    """sirius-ai LPRNet, inference only (dropout layers kept as identities for the indices)."""

    KEEP = (2, 6, 13, 22)

    def __init__(self, class_num: int = LPRNET_CLASSES) -> None:
        super().__init__()
        self.class_num = class_num
        self.backbone = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=3, stride=1),              # 0
            nn.BatchNorm2d(64),
            nn.ReLU(),                                              # 2 kept
            ChannelMaxPool((1, 3, 3), (1, 1, 1)),
            SmallBasicBlock(64, 128),                               # 4
            nn.BatchNorm2d(128),
            nn.ReLU(),                                              # 6 kept
            ChannelMaxPool((1, 3, 3), (2, 1, 2)),
            SmallBasicBlock(64, 256),                               # 8
            nn.BatchNorm2d(256),
            nn.ReLU(),
            SmallBasicBlock(256, 256),                              # 11
            nn.BatchNorm2d(256),
            nn.ReLU(),                                              # 13 kept
            ChannelMaxPool((1, 3, 3), (4, 1, 2)),
            nn.Dropout(0.0),
            nn.Conv2d(64, 256, kernel_size=(1, 4), stride=1),       # 16
            nn.BatchNorm2d(256),
            nn.ReLU(),
            nn.Dropout(0.0),
            nn.Conv2d(256, class_num, kernel_size=(13, 1), stride=1),  # 20
            nn.BatchNorm2d(class_num),
            nn.ReLU(),                                              # 22 kept
        )
        self.container = nn.Sequential(nn.Conv2d(64 + 128 + 256 + class_num, class_num, kernel_size=1))
        self.pool5 = nn.AvgPool2d(kernel_size=5, stride=5)
        self.pool_wide = nn.AvgPool2d(kernel_size=(4, 10), stride=(4, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, 24, 94)`` normalised BGR -> logits ``(N, 68, 18)``."""
        kept = []
        for i, layer in enumerate(self.backbone):
            x = layer(x)
            if i in self.KEEP:
                kept.append(x)
        context = []
        for i, f in enumerate(kept):
            if i in (0, 1):
                f = self.pool5(f)
            elif i == 2:
                f = self.pool_wide(f)
            context.append(f / torch.mean(torch.pow(f, 2)))
        x = self.container(torch.cat(context, 1))
        return torch.mean(x, dim=2)


def load_lprnet(checkpoint: str | Path) -> LPRNet:
    """The network with the state_dict at ``checkpoint`` loaded strictly, in eval mode."""
    net = LPRNet()
    try:
        state = torch.load(str(checkpoint), map_location="cpu", weights_only=True)
        net.load_state_dict(state, strict=True)
    except Exception as exc:
        raise ModelError(f"{checkpoint}: not a loadable LPRNet state_dict ({exc})") from exc
    return net.eval()


def parity_crops(count: int = 8) -> list[np.ndarray]:
    """Real CN crops from the shared assets when present, else seeded noise (BGR uint8 94x24)."""
    import cv2

    from gatewatch.assets import asset_dir

    crops: list[np.ndarray] = []
    root = asset_dir()
    folder = root / "plates" / "cn_lprnet_test_crops" / "images" if root else None
    if folder is not None and folder.is_dir():
        for path in sorted(folder.glob("*.jpg"))[:count]:
            image = cv2.imread(str(path))
            if image is not None:
                crops.append(image)
    rng = np.random.default_rng(0)
    while len(crops) < count:
        crops.append(rng.integers(0, 256, (LPRNET_SIZE[1], LPRNET_SIZE[0], 3), dtype=np.uint8))
    return crops


LPRNET_EXPORT_MEASURE = "relative max logit difference vs torch (1.0 when a decode differs)"


@dataclass(frozen=True)
class LprnetExport:
    """LPRNet state_dict -> ONNX (static ``(1, 3, 24, 94)`` input, ``images`` -> ``logits``).

    Both models run on real crops; ``error`` is the largest absolute logit difference relative
    to the largest logit, or 1.0 when the greedy decode of any crop differs.
    """

    tolerance: float = 1e-4
    opset: int = 17

    def build(self, source: Path, out: Path) -> BuildResult:
        start = time.perf_counter()
        net = load_lprnet(source)
        dummy = torch.zeros(1, 3, LPRNET_SIZE[1], LPRNET_SIZE[0])
        with torch.no_grad():
            torch.onnx.export(
                net, (dummy,), str(out), input_names=["images"], output_names=["logits"], opset_version=self.opset,
                dynamo=False,
            )
        model = OnnxModel(out, providers="cpu", threads=0, warmup=False)
        worst = 0.0
        crops = parity_crops()
        for crop in crops:
            batch = preprocess(crop)
            with torch.no_grad():
                reference = net(torch.from_numpy(batch)).numpy()
            result = model.run(batch)[0]
            if result.shape != reference.shape:
                raise ModelError(f"LPRNet export parity: output shape {result.shape} != torch {reference.shape}")
            scale = float(np.abs(reference).max()) or 1.0
            worst = max(worst, float(np.abs(result - reference).max()) / scale)
            if not np.array_equal(result.argmax(1), reference.argmax(1)):
                worst = max(worst, 1.0)
        return BuildResult(out, source, worst, self.tolerance, LPRNET_EXPORT_MEASURE, len(crops), time.perf_counter() - start)


def export_lprnet(
    out: str | Path,
    checkpoint: str | Path | None = None,
    tolerance: float = 1e-4,
    opset: int = 17,
) -> BuildResult:
    """Export the LPRNet state_dict to ONNX (:class:`LprnetExport`) through the gate.

    Raises ``ModelError`` when the checkpoint is missing or unloadable or parity is over
    ``tolerance``; the file is written through a temporary name, so a failed export leaves
    nothing behind.
    """
    source = Path(checkpoint) if checkpoint else lprnet_checkpoint()
    if source is None or not source.is_file():
        raise ModelError(f"LPRNet checkpoint not found: {source or 'weights/cn_plate_ocr_lprnet/Final_LPRNet_model.pth'}")
    result = build_checked(LprnetExport(tolerance, opset), source, out)
    log.info("exported LPRNet %s", result.summary())
    return result
