"""Tests of merge_rows.py, the way study.sh adds a call's rows to a results
folder (run by scripts/test.sh)."""

import os
import tempfile
import unittest

from merge_rows import merge_rows

HEADER = "variant,task,seed,metric,value,seconds\n"


class MergeRows(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.old = os.path.join(self.dir.name, "downstream.csv")
        self.new = os.path.join(self.dir.name, "downstream.csv.tmp")

    def tearDown(self):
        self.dir.cleanup()

    def write(self, path, body):
        with open(path, "w") as f:
            f.write(HEADER + body)

    def test_replaces_in_place_keeps_the_rest_and_appends(self):
        self.write(self.old, "mae,detect,0,map50,0.1,1\nmae,detect,1,map50,0.2,1\ntopk-e,detect,0,map50,0.3,1\n")
        self.write(self.new, "mae,detect,1,map50,0.25,2\nuniform-t,detect,0,map50,0.4,1\n"
                             "mae,detect,2,map50,0.5,1\nmae,classify,0,oa,0.9,1\n")
        merge_rows(self.old, self.new, ["variant", "task", "seed"])
        self.assertFalse(os.path.exists(self.new))
        self.assertEqual(open(self.old).read(), HEADER +
                         "mae,detect,0,map50,0.1,1\nmae,detect,1,map50,0.25,2\nmae,detect,2,map50,0.5,1\n"
                         "topk-e,detect,0,map50,0.3,1\nuniform-t,detect,0,map50,0.4,1\n"
                         "mae,classify,0,oa,0.9,1\n")

    def test_an_empty_call_keeps_every_row(self):
        body = "mae,detect,0,map50,0.1,1\ntopk-e,detect,3,map50,0.3,1\n"
        self.write(self.old, body)
        self.write(self.new, "")
        merge_rows(self.old, self.new, ["variant", "task", "seed"])
        self.assertEqual(open(self.old).read(), HEADER + body)

    def test_a_first_call_writes_its_rows(self):
        self.write(self.new, "mae,detect,1,map50,0.2,1\nmae,detect,0,map50,0.1,1\n")
        merge_rows(self.old, self.new, ["variant", "task", "seed"])
        self.assertEqual(open(self.old).read(), HEADER + "mae,detect,0,map50,0.1,1\nmae,detect,1,map50,0.2,1\n")

    def test_runs_are_keyed_by_variant_alone(self):
        with open(self.old, "w") as f:
            f.write("variant,final_loss\nmae,0.53\ntopk-e,0.47\n")
        with open(self.new, "w") as f:
            f.write("variant,final_loss\nsample-t,0.52\nmae,0.5306\n")
        merge_rows(self.old, self.new, ["variant"])
        self.assertEqual(open(self.old).read(), "variant,final_loss\nmae,0.5306\ntopk-e,0.47\nsample-t,0.52\n")


if __name__ == "__main__":
    unittest.main()
