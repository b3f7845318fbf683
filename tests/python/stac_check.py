"""Validates a STAC item written by `smae-export --stac` with the STAC
tools users have: pystac reads it, and stac-model's pydantic models of the
ML Model extension (MLModelProperties: name, architecture, tasks, inputs
with their scaling, outputs with their classes, runtime) accept its
`mlm:` properties. The JSON-schema validators would download the schemas
at run time, which tests must not need, so they are not run. Also checks
the asset's size and multihash checksum against the model file.

usage: stac_check.py ITEM MODEL   (prints a summary as JSON)
"""
import hashlib
import json
import os
import sys

import pystac
from stac_model.schema import MLModelProperties


def main():
    item_path, model_path = sys.argv[1:3]
    with open(item_path) as f:
        raw = json.load(f)
    item = pystac.Item.from_dict(raw)
    props = MLModelProperties.model_validate(raw["properties"])
    asset = item.assets["model"]
    data = open(model_path, "rb").read()
    assert asset.extra_fields["file:size"] == len(data), "file:size"
    assert asset.extra_fields["file:checksum"] == "1220" + hashlib.sha256(data).hexdigest(), "checksum"
    assert asset.extra_fields["mlm:artifact_type"] == "onnx"
    assert "mlm:model" in asset.roles
    href = asset.href if os.path.isabs(asset.href) else os.path.join(os.path.dirname(item_path), asset.href)
    assert os.path.samefile(href, model_path), href
    print(json.dumps({
        "name": props.name,
        "tasks": sorted(str(t) for t in props.tasks),
        "framework": props.framework,
        "inputs": [i.input.shape for i in props.input],
        "scaling": [s.type for s in props.input[0].value_scaling],
        "outputs": [o.result.shape for o in props.output],
        "classes": [[c.name for c in (o.classes or [])] for o in props.output],
        "extensions": item.stac_extensions,
    }))


if __name__ == "__main__":
    main()
