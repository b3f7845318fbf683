"""The Python sliding-window loop smae-infer is measured against: rasterio
windows, onnxruntime, Hann-window blending into whole-scene arrays (as such
loops usually do), a GeoTIFF class map written with rasterio. Same model
card, tiling rule, normalisation and nodata handling as `smae-infer run`
for segmentation models, so the two class maps can also be compared.

    python scripts/infer_reference.py --model seg.onnx --input scene.tif \
        --output ref.tif [--threads 2] [--batch 4] [--compare smae.tif]

Prints one JSON line: seconds, megapixels_per_s and, with --compare, the
fraction of pixels on which the two class maps agree.
"""
import argparse
import json
import math
import os
import time

import numpy as np
import onnxruntime as ort
import rasterio
from rasterio.windows import Window


def positions(length, tile, stride):
    if length <= tile:
        return [0]
    last = length - tile
    out = list(range(0, last, stride))
    return out + [last]


def hann(n, flat_start, flat_end):
    i = np.arange(n)
    w = np.sin(math.pi * (i + 0.5) / n) ** 2
    if flat_start:
        w[: n // 2] = 1.0
    if flat_end:
        w[n // 2 :] = 1.0
    return w.astype(np.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--input", required=True)
    ap.add_argument("--output", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--compare")
    a = ap.parse_args()

    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    sess = ort.InferenceSession(a.model, so, providers=["CPUExecutionProvider"])
    card = json.loads(sess.get_modelmeta().custom_metadata_map["smae.card"])
    assert card["task"] == "segment", "the reference loop handles segmentation models"
    inp = card["input"]
    size, bands = inp["size"], inp["bands"]
    scale = inp["scale"]
    mean = np.array(inp["mean"], np.float32)[:, None, None]
    std = np.array(inp["std"], np.float32)[:, None, None]
    tile, overlap = card["tile"]["size"], card["tile"]["overlap"]
    assert tile == size, "the reference loop does not resample"
    classes = len(card["classes"])

    start = time.time()
    with rasterio.open(a.input) as src:
        w, h = src.width, src.height
        acc = np.zeros((classes, h, w), np.float32)
        wsum = np.zeros((h, w), np.float32)
        valid = np.zeros((h, w), bool)
        xs, ys = positions(w, tile, tile - overlap), positions(h, tile, tile - overlap)
        jobs = [(x, y) for y in ys for x in xs]
        for k in range(0, len(jobs), a.batch):
            chunk = jobs[k : k + a.batch]
            tiles, masks = [], []
            for x, y in chunk:
                win = Window(x, y, tile, tile)
                px = src.read(bands, window=win, boundless=True, fill_value=0).astype(np.float32)
                m = src.read_masks(bands, window=win, boundless=True).min(axis=0) > 0
                m &= ~np.isnan(px).any(axis=0)
                px = np.where(m, (px * scale - mean) / std, 0.0).astype(np.float32)
                tiles.append(px)
                masks.append(m)
            run = [i for i, m in enumerate(masks) if m.any()]
            if not run:
                continue
            probs = sess.run(None, {inp["name"]: np.stack([tiles[i] for i in run])})[0]
            for j, i in enumerate(run):
                x, y = chunk[i]
                wy = hann(tile, y == 0, y + tile >= h)[:, None]
                wx = hann(tile, x == 0, x + tile >= w)[None, :]
                rh, rw = min(tile, h - y), min(tile, w - x)
                m = masks[i][:rh, :rw]
                wt = (wy * wx)[:rh, :rw] * m
                acc[:, y : y + rh, x : x + rw] += probs[j][:, :rh, :rw] * wt
                wsum[y : y + rh, x : x + rw] += wt
                valid[y : y + rh, x : x + rw] |= m
        cls = np.argmax(acc, axis=0).astype(np.uint8)
        cls[~valid | (wsum <= 0)] = 255
        profile = dict(driver="GTiff", width=w, height=h, count=1, dtype="uint8", crs=src.crs,
                       transform=src.transform, nodata=255, compress="deflate", tiled=True,
                       blockxsize=512, blockysize=512)
    if os.path.exists(a.output):
        os.remove(a.output)
    with rasterio.open(a.output, "w", **profile) as dst:
        dst.write(cls, 1)
    seconds = time.time() - start
    out = {"engine": "python-rasterio-onnxruntime", "seconds": round(seconds, 3), "width": w, "height": h,
           "tiles": len(jobs), "megapixels_per_s": round(w * h / seconds / 1e6, 4)}
    if a.compare:
        with rasterio.open(a.compare) as other:
            o = other.read(1)
        out["agreement"] = float((o == cls).mean())
    print(json.dumps(out))


if __name__ == "__main__":
    main()
