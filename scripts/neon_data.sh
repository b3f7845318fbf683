# The main job's data from the deepforest wheel (data/deepforest, fetched by
# scripts/setup.sh), shared by scripts/main.sh and scripts/study.sh; source
# it from the repository root.

# neon_chips BIN: curates the wheel's imagery into 256 px chips in
# data/neon-chips, holding out the OSBS_029 scene (the evaluation image) and
# anything near-duplicate to it. Resumable: a second call reuses the scan
# and the shards.
neon_chips() {
  local wheel=data/deepforest
  mkdir -p data/heldout
  [ -e data/heldout/OSBS_029.tif ] || ln -s "$(realpath $wheel/OSBS_029.tif)" data/heldout/OSBS_029.tif
  "$1/smae-train" curate --input neon=$wheel --license "neon=NEON AOP CC0; DeepForest MIT" \
    --output data/neon-chips --crop 256 --max-side 512 --exclude-near data/heldout --shard-size 500 --quiet
}

# crown_sets: the tree-crown detection sets (DeepForest's VOC boxes) as
# links: data/crowns/train (the YELL and SOAP scenes), data/crowns/val (the
# held-out OSBS_029 scene), and a validation split of the training scenes
# for choosing a recipe without looking at OSBS_029: data/crowns/split-train
# (the two YELL scenes, 853 crowns) and data/crowns/split-val (SOAP_061, 37
# crowns: like OSBS_029, a site the detector is not trained on).
crown_sets() {
  local wheel=data/deepforest f ext split
  mkdir -p data/crowns/train data/crowns/val data/crowns/split-train data/crowns/split-val
  for f in 2019_YELL_2_541000_4977000_image_crop 2019_YELL_2_528000_4978000_image_crop2 SOAP_061; do
    case $f in SOAP_*) split=split-val ;; *) split=split-train ;; esac
    for ext in png xml; do
      [ -e data/crowns/train/$f.$ext ] || ln -s "$(realpath $wheel/$f.$ext)" data/crowns/train/$f.$ext
      [ -e data/crowns/$split/$f.$ext ] || ln -s "$(realpath $wheel/$f.$ext)" data/crowns/$split/$f.$ext
    done
  done
  for ext in tif xml; do
    [ -e data/crowns/val/OSBS_029.$ext ] || ln -s "$(realpath $wheel/OSBS_029.$ext)" data/crowns/val/OSBS_029.$ext
  done
}
