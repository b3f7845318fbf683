"""Runs an exported smae model through GeoDeep (PyPI geodeep), as its users
do: `geodeep.run(scene, model)`. Writes what GeoDeep returned as JSON:
a segmentor's class mask (row-major, with its shape), a detector's boxes
(scene pixels, x0 y0 x1 y1), scores and class names, and the metadata
configuration GeoDeep read from the model.

usage: geodeep_run.py MODEL SCENE OUT.json [CONF_THRESHOLD]
"""
import json
import sys

import geodeep
from geodeep.inference import create_session


def main():
    model, scene, out = sys.argv[1:4]
    conf = float(sys.argv[4]) if len(sys.argv) > 4 else None
    _, config = create_session(model)
    result = {"config": {k: v for k, v in config.items() if k != "input_shape"}}
    if config["model_type"] == "Segmentor":
        mask = geodeep.run(scene, model, output_type="raw")
        result["mask_shape"] = list(mask.shape)
        result["mask"] = mask.astype(int).ravel().tolist()
    else:
        boxes, scores, classes = geodeep.run(scene, model, conf_threshold=conf)
        result["boxes"] = [list(map(float, b)) for b in boxes]
        result["scores"] = [float(s) for s in scores]
        result["classes"] = [c[1] for c in classes]
    with open(out, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
