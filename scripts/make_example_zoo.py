"""Generate the data and checkpoints of configs/image_folder.yaml (offline, seeded, ~10 s).

Writes ``runs/example_zoo/images/class_XX/*.png`` (an image folder: 6 classes x 40 RGB images, 48 x 48)
and two torchvision ``state_dict`` checkpoints with random weights and BatchNorm statistics of random
images (``resnet18.pt``,
``mobilenet_v3_small.pt``; transfergraph never downloads weights, so bring your own trained ones in
practice). Usage: ``python scripts/make_example_zoo.py [OUT_DIR]``.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


def main(out: str = "runs/example_zoo") -> None:
    import torch
    import torchvision

    from _imagefolder_gen import generate

    out_dir = Path(out)
    generate(out_dir / "images", classes=6, per_class=40, size=48)
    for i, (arch, classes) in enumerate((("resnet18", 10), ("mobilenet_v3_small", 20))):
        path = out_dir / f"{arch}.pt"
        if not path.exists():
            torch.manual_seed(i)
            model = torchvision.models.get_model(arch, weights=None, num_classes=classes)
            for m in model.modules():  # BatchNorm statistics of normalized images: random weights alone
                if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):  # give near-constant logits
                    m.momentum = None
            with torch.no_grad():
                model.train()(torch.randn(32, 3, 56, 56))
            torch.save(model.state_dict(), path)
    print(f"wrote {out_dir}/images and checkpoints; now: transfergraph run configs/image_folder.yaml --out runs/zoo")


if __name__ == "__main__":
    main(*sys.argv[1:])
