"""Save scikit-image's sample photos (astronaut, coffee, chelsea) as PNGs, for `vsrgan evaluate`.

    python scripts/data/fetch_eval_photos.py data/eval-photos
    vsrgan evaluate --model bicubic data/eval-photos --out runs/eval-photos

The photos ship inside scikit-image (pip install scikit-image; no download), so every machine
gets the same three high-resolution images: a portrait, a cup of coffee and a cat.
"""

import argparse
from pathlib import Path

from PIL import Image

from vsrgan.io.atomic import atomic_path

PHOTOS = ("astronaut", "coffee", "chelsea")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default="data/eval-photos", help="where to write the PNGs (default: %(default)s)")
    folder = Path(parser.parse_args().folder)
    import skimage.data

    folder.mkdir(parents=True, exist_ok=True)
    for name in PHOTOS:
        image = getattr(skimage.data, name)()  # (H, W, 3) uint8 RGB
        path = folder / f"{name}.png"
        with atomic_path(path, overwrite=True) as tmp:
            Image.fromarray(image).save(tmp, format="PNG")
        print(f"{path}  {image.shape[1]}x{image.shape[0]}")


if __name__ == "__main__":
    main()
