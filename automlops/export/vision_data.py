"""The exported vision script's readers of segmentation masks and detection boxes (COCO, Pascal VOC).

Each reader is the studio's (:mod:`automlops.vision.datasets`, :mod:`automlops.vision.annotations`)
without its checks: the image-lake version was checked when it was added, and the script verifies
every file's SHA-256 before reading, so the same items come out in the same order - the order the
seeded split depends on. Boxes are ``x1, y1, x2, y2`` floats clipped to the image, as the studio
stores them.
"""

from __future__ import annotations

__all__ = ["LOADERS", "WEIGHTS_ARG"]

IMAGES = '''
@dataclass(frozen=True)
class Images:
    """An image dataset as the studio reads it: its task, classes and items (image paths relative to root)."""

    root: Path
    task: str
    classes: tuple[str, ...]
    items: tuple[ImageItem, ...]
'''

MASKS = IMAGES + '''

def load_images(root: Path) -> Images:
    """images/x.png with masks/x.png (each pixel: the class index, 255: ignored) and classes.txt (one per line)."""
    root = _unwrap(Path(root).resolve())
    images_dir, masks_dir = child_folder(root, "images"), child_folder(root, "masks")
    classes_file = next(p for p in visible(root) if p.is_file() and p.name.lower() == "classes.txt")
    classes = tuple(line.strip() for line in classes_file.read_text(encoding="utf-8-sig").splitlines()
                    if line.strip())
    masks = {p.relative_to(masks_dir).with_suffix("").as_posix(): p for p in files_under(masks_dir, None)}
    items = tuple(ImageItem(relpath(path, root), 0, 0,
                            mask=relpath(masks[path.relative_to(images_dir).with_suffix("").as_posix()], root))
                  for path in files_under(images_dir))
    return Images(root, "segmentation", classes, items)
'''

BOXES = IMAGES + '''

def image_size(path: Path) -> tuple[int, int]:
    """(width, height) from the image file's header."""
    with PILImage.open(path) as img:
        return int(img.width), int(img.height)


def clip_box(corners: Any, width: int, height: int) -> tuple[float, float, float, float]:
    """x1, y1, x2, y2 as floats, clipped to the image (annotation tools round over the border)."""
    a, b, c, d = (float(v) for v in corners)
    return (max(a, 0.0), max(b, 0.0), min(c, float(width)), min(d, float(height)))


def detection_images(root: Path, classes: tuple[str, ...], items: list[ImageItem]) -> Images:
    return Images(root, "detection", classes, tuple(sorted(items, key=lambda i: i.path)))
'''

COCO = BOXES + '''

def load_images(root: Path) -> Images:
    """images/ with one COCO annotations.json: categories in id order are the classes; crowd regions skipped."""
    root = _unwrap(Path(root).resolve())
    folders = [root, *([d] if (d := child_folder(root, "annotations")) else [])]
    found = [p for f in folders for p in visible(f) if p.is_file() and p.suffix.lower() == ".json"]
    named = [p for p in found if p.name.lower() == "annotations.json"]
    for path in named or found:
        try:
            data = json.loads(path.read_text(encoding="utf-8-sig"))
        except ValueError:
            continue
        if isinstance(data, dict) and {"images", "annotations", "categories"} <= data.keys():
            break
    else:
        stop(f"no COCO annotations file in {root}")
    categories = sorted(((int(c["id"]), str(c["name"])) for c in data["categories"]), key=lambda c: c[0])
    index = {cid: i for i, (cid, _) in enumerate(categories)}
    bases = list(dict.fromkeys([path.parent, path.parent / "images", root, root / "images"]))
    images: dict[Any, ImageItem] = {}
    for entry in data["images"]:
        file = next(p for base in bases if (p := (base / entry["file_name"]).resolve()).is_file())
        images[entry["id"]] = ImageItem(relpath(file, root), *image_size(file))
    boxes: dict[Any, list[tuple[Any, int]]] = {image_id: [] for image_id in images}
    for ann in data["annotations"]:
        if not isinstance(ann, dict) or ann.get("iscrowd", 0):
            continue
        item, (x, y, w, h) = images[ann["image_id"]], ann["bbox"]
        box = clip_box((x, y, float(x) + float(w), float(y) + float(h)), item.width, item.height)
        boxes[ann["image_id"]].append((box, index[ann["category_id"]]))
    items = [ImageItem(item.path, item.width, item.height, boxes=tuple(b for b, _ in boxes[i]),
                       box_labels=tuple(label for _, label in boxes[i])) for i, item in images.items()]
    return detection_images(root, tuple(name for _, name in categories), items)
'''

VOC = BOXES + '''

def load_images(root: Path) -> Images:
    """images/ (or JPEGImages/) with annotations/*.xml; classes from classes.txt, else the names found, sorted."""
    root = _unwrap(Path(root).resolve())
    folder = child_folder(root, "annotations")
    images_dir = child_folder(root, "JPEGImages", "images") or root
    classes_file = next((p for p in visible(root) if p.is_file() and p.name.lower() in ("classes.txt",
                                                                                          "labels.txt")), None)
    fixed = (tuple(line.strip() for line in classes_file.read_text(encoding="utf-8-sig").splitlines()
                   if line.strip()) if classes_file else None)
    parsed = []
    for xml in files_under(folder, frozenset({".xml"})):
        tree = ElementTree.parse(xml).getroot()
        name = (tree.findtext("filename") or "").strip()
        image = (images_dir / name).resolve() if name else None
        if image is None or not image.is_file():
            image = next(p for ext in sorted(IMAGE_EXTENSIONS) if (p := images_dir / (xml.stem + ext)).is_file())
        width, height = image_size(image)
        objects = [(clip_box([obj.find("bndbox").findtext(t) for t in ("xmin", "ymin", "xmax", "ymax")], width,
                             height), (obj.findtext("name") or "").strip()) for obj in tree.iter("object")]
        parsed.append((ImageItem(relpath(image, root), width, height), objects))
    classes = fixed or tuple(sorted({name for _, objects in parsed for _, name in objects}))
    index = {name: i for i, name in enumerate(classes)}
    items = [ImageItem(item.path, item.width, item.height, boxes=tuple(b for b, _ in objects),
                       box_labels=tuple(index[name] for _, name in objects)) for item, objects in parsed]
    return detection_images(root, classes, items)
'''

LOADERS = {"masks": MASKS, "coco": COCO, "voc": VOC}

WEIGHTS_ARG = '''
def weights_file(argv: list[str] | None) -> tuple[str, list[str]]:
    """The --weights PATH argument (the file this model's training started from) and the other arguments."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--weights", default=None)
    known, rest = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    if "-h" in rest or "--help" in rest:
        say("--weights PATH  the weights file training started from (required: see the docstring)")
    elif not known.weights or not Path(known.weights).is_file():
        stop(f"this model's training started from a weights file ({WEIGHTS_DETAIL}); pass that "
                         f"file with --weights PATH{'' if not known.weights else f' ({known.weights} does not exist)'}")
    return known.weights, rest
'''
