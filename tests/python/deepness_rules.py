"""The checks QGIS Deepness makes when it loads a model, read from its
published source (PUTvision/qgis-plugin-deepness, src/deepness/processing/
models/model_base.py, detector.py, segmentor.py, model_types.py and
common/processing_parameters/detection_parameters.py). Deepness is a QGIS
plugin, not a package, so its rules are restated here: every metadata value
is decoded with json.loads and converted as Deepness converts it; the model
type must name one of its model classes; class names must be consecutive
integer keys; a segmentor has one output [B, C, H, W] with H == W; a
detector has one output [1, N, 5 + C] (batch 1) and a det_type Deepness
offers. Runs the model once on a tile of 0-1 values as Deepness feeds it.

usage: deepness_rules.py MODEL   (prints the settings Deepness would load as
JSON, or exits 1 with the rule that failed)
"""
import json
import sys

import numpy as np
import onnxruntime as ort

MODEL_TYPES = {"Segmentor", "Regressor", "Detector", "Superresolution"}
DETECTOR_TYPES = {"YOLO_v5_or_v7_default", "YOLO_v6", "YOLO_Ultralytics"}
CONVERT = {
    "resolution": float,
    "tile_size": int,
    "tiles_overlap": int,
    "seg_thresh": float,
    "seg_small_segment": int,
    "reg_output_scaling": float,
    "det_conf": float,
    "det_type": str,
    "det_iou_thresh": float,
    "det_remove_overlap": bool,
}


def fail(msg):
    print(f"deepness rule: {msg}", file=sys.stderr)
    sys.exit(1)


def main():
    sess = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
    meta = sess.get_modelmeta().custom_metadata_map
    inputs = sess.get_inputs()
    if len(inputs) > 1:
        fail("ONNX model: unsupported number of inputs")
    settings = {}
    for key, conv in CONVERT.items():
        if key in meta:
            settings[key] = conv(json.loads(meta[key]))
    if "model_type" not in meta:
        fail("no model_type")
    model_type = str(json.loads(meta["model_type"])).capitalize()
    if model_type not in MODEL_TYPES:
        fail(f"unknown model type {model_type!r}")
    settings["model_type"] = model_type
    names = json.loads(meta["class_names"])
    ordered = sorted(names.items(), key=lambda kv: int(kv[0]))
    for i, (k, _) in enumerate(ordered):
        if int(k) != i:
            fail("class names are not consecutive")
    settings["class_names"] = [v for _, v in ordered]
    outputs = sess.get_outputs()
    if len(outputs) != 1:
        fail(f"{len(outputs)} outputs: only one output layer is supported")
    shape = outputs[0].shape
    if model_type == "Segmentor":
        if len(shape) != 4:
            fail(f"segmentation output should have 4 dimensions, has {shape}")
        if shape[2] != shape[3]:
            fail(f"segmentation output must be square, has {shape}")
        channels = shape[-3] if shape[-3] != 1 else 2
    else:
        if len(shape) != 3:
            fail(f"detection output should have 3 dimensions, has {shape}")
        if shape[0] != 1:
            fail(f"Detection model can handle only 1-Batch outputs. Has {shape}")
        if settings.get("det_type", "YOLO_v5_or_v7_default") not in DETECTOR_TYPES:
            fail(f"unknown det_type {settings.get('det_type')!r}")
        channels = shape[-1] - 4 - 1
    if channels != len(settings["class_names"]):
        fail(f"{channels} output channels for {len(settings['class_names'])} class names")
    side = inputs[0].shape[-1]
    tile = np.random.default_rng(0).integers(0, 256, (side, side, 3)) / 255.0
    batch = np.transpose(tile, (2, 0, 1))[None].astype(np.float32)
    out = sess.run(None, {inputs[0].name: batch})[0]
    settings["output_shape"] = list(out.shape)
    print(json.dumps(settings))


if __name__ == "__main__":
    main()
