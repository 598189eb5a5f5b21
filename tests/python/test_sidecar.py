"""The Python package `sidecar` (python/sidecar, over libsidecar.so) with python3 and numpy only:
a stand-in for a Keras model (to_json / get_compile_config), NumPy arrays, recording callbacks
and checkpoints written by the C trainer (tools/sc_demo_trainer). Run by ctest as
python/test_sidecar with PYTHONPATH, SIDECAR_LIBRARY and SC_BUILD_DIR set."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import numpy as np

import sidecar

BUILD = os.environ.get("SC_BUILD_DIR", "")
TRAINER = os.path.join(BUILD, "sc_demo_trainer")
CLI = os.path.join(BUILD, "sidecar")
LOSS = "sparse_categorical_crossentropy"


class StandInModel:
    """What SidecarEvaluator needs of a Keras model: to_json() and get_compile_config()."""

    def __init__(self, json_path, compile_config):
        with open(json_path) as f:
            self.text = f.read()
        self.compile_config = compile_config

    def to_json(self):
        return self.text

    def get_compile_config(self):
        return self.compile_config


class Recorder:
    """Records every Keras callback call with its arguments."""

    def __init__(self, raise_at=None):
        self.calls = []
        self.model = None
        self.raise_at = raise_at

    def set_model(self, model):
        self.model = model

    def on_test_begin(self, logs=None):
        self.calls.append(("on_test_begin", None, dict(logs)))

    def on_test_batch_begin(self, batch, logs=None):
        self.calls.append(("on_test_batch_begin", batch, dict(logs)))

    def on_test_batch_end(self, batch, logs=None):
        self.calls.append(("on_test_batch_end", batch, dict(logs)))
        if self.raise_at is not None and batch == self.raise_at:
            raise RuntimeError("stop at batch %d" % batch)

    def on_test_end(self, logs=None):
        self.calls.append(("on_test_end", None, dict(logs)))

    def names(self):
        return [c[0] for c in self.calls]


def trainer(*args, wait=True):
    p = subprocess.Popen([TRAINER] + list(args), stdout=subprocess.DEVNULL)
    if wait:
        assert p.wait() == 0
    return p


class SidecarTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="sc_py_")
        cls.model_json = os.path.join(cls.dir, "model.json")
        cls.npz = os.path.join(cls.dir, "eval.npz")
        cls.ckpts = os.path.join(cls.dir, "ckpt")
        trainer("--out", cls.ckpts, "--epochs", "3", "--max-to-keep", "0",
                "--write-data", cls.npz, "--write-model", cls.model_json)
        z = np.load(cls.npz)
        cls.x, cls.y = z["x"], z["y"]
        cls.model = StandInModel(cls.model_json, {"loss": LOSS, "metrics": ["accuracy"]})

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir)

    def test_version(self):
        out = subprocess.run([CLI, "--version"], capture_output=True, text=True).stdout
        self.assertEqual(out.strip(), "sidecar " + sidecar.version())

    def test_evaluate_agrees_with_the_command(self):
        got = sidecar.evaluate(self.ckpts, self.model, (self.x, self.y))
        self.assertEqual(sorted(got), ["accuracy", "loss"])
        cli = subprocess.run([CLI, "eval", self.ckpts, "--model", self.model_json, "--data",
                              self.npz, "--loss", LOSS, "--metrics", "accuracy", "--json"],
                             capture_output=True, text=True, check=True)
        want = json.loads(cli.stdout.strip().splitlines()[-1])["metrics"]
        for k in want:
            self.assertAlmostEqual(got[k], want[k], places=6)
        # The same from paths and option names, and from non-float32 arrays (converted).
        by_path = sidecar.evaluate(self.ckpts, self.model_json, self.npz, loss=LOSS,
                                   metrics=["accuracy"])
        self.assertEqual(by_path, got)
        as_f64 = sidecar.evaluate(self.ckpts, self.model, (self.x.astype(np.float64), self.y))
        self.assertEqual(as_f64, got)
        # Weights of zero on every other example change the loss (they are used).
        sw = np.tile(np.array([1.0, 0.0], dtype=np.float32), len(self.y) // 2)
        weighted = sidecar.evaluate(self.ckpts, self.model, (self.x, self.y, sw))
        self.assertNotEqual(weighted["loss"], got["loss"])
        self.assertEqual(weighted["accuracy"], got["accuracy"])  # compile metrics: unweighted

    def test_arrays_are_read_in_place(self):
        # A callback that zeroes x after the run began changes the result only if C reads the
        # caller's array itself rather than a copy.
        x = self.x.copy()
        zeros = sidecar.evaluate(self.ckpts, self.model, (np.zeros_like(x), self.y))
        normal = sidecar.evaluate(self.ckpts, self.model, (x, self.y))

        class Zero:
            def on_test_begin(self, logs):
                x[:] = 0

        got = sidecar.evaluate(self.ckpts, self.model, (x, self.y), callbacks=[Zero()])
        self.assertNotEqual(normal, zeros)
        self.assertEqual(got, zeros)

    def test_sidecar_evaluator_with_recording_callback(self):
        rec = Recorder()
        logdir = os.path.join(self.dir, "logs")
        sidecar.SidecarEvaluator(self.model, (self.x, self.y), self.ckpts, steps=None,
                                 max_evaluations=3, callbacks=[rec], every=True,
                                 logdir=logdir, batch_size=100).start()
        self.assertIs(rec.model, self.model)
        names = rec.names()
        self.assertEqual(names.count("on_test_begin"), 3)
        self.assertEqual(names.count("on_test_end"), 3)
        # One evaluation: begin, 5 x (batch begin, batch end) for 500 rows in batches of 100, end.
        one = ["on_test_begin"] + ["on_test_batch_begin", "on_test_batch_end"] * 5 + ["on_test_end"]
        self.assertEqual(names, one * 3)
        batches = [c[1] for c in rec.calls if c[0] == "on_test_batch_end"]
        self.assertEqual(batches, [0, 1, 2, 3, 4] * 3)
        ends = [c[2] for c in rec.calls if c[0] == "on_test_end"]
        self.assertTrue(all(sorted(e) == ["accuracy", "loss"] for e in ends))
        self.assertEqual(ends[-1], sidecar.evaluate(self.ckpts, self.model, (self.x, self.y),
                                                    batch_size=100))
        with open(os.path.join(logdir, "sidecar_journal.jsonl")) as f:
            self.assertEqual(len(f.read().splitlines()), 3)
        # steps limits the batches per evaluation; a restarted evaluator skips what the
        # journal lists, so use a fresh logdir.
        rec = Recorder()
        sidecar.SidecarEvaluator(self.model, (self.x, self.y), self.ckpts, steps=2,
                                 max_evaluations=3, callbacks=[rec]).start()
        self.assertEqual(rec.names(), ["on_test_begin"] + ["on_test_batch_begin",
                                                            "on_test_batch_end"] * 2
                         + ["on_test_end"])

    def test_while_training(self):
        d = os.path.join(self.dir, "live")
        p = trainer("--out", d, "--epochs", "4", "--sleep-ms", "300", wait=False)
        try:
            rec = Recorder()
            sidecar.SidecarEvaluator(self.model_json, self.npz, d, max_evaluations=4,
                                     callbacks=[rec], loss=LOSS, metrics="accuracy").start()
        finally:
            self.assertEqual(p.wait(), 0)
        self.assertGreaterEqual(rec.names().count("on_test_end"), 1)
        self.assertIsNone(rec.model)  # a path has no model object to hand to set_model

    def test_callback_exception_stops_and_is_raised(self):
        rec = Recorder(raise_at=2)
        with self.assertRaises(RuntimeError) as cm:
            sidecar.SidecarEvaluator(self.model, (self.x, self.y), self.ckpts,
                                     max_evaluations=3, every=True, callbacks=[rec]).start()
        self.assertEqual(str(cm.exception), "stop at batch 2")
        self.assertNotIn("on_test_end", rec.names())
        self.assertEqual([c[1] for c in rec.calls if c[0] == "on_test_batch_end"], [0, 1, 2])

    def test_errors_carry_the_library_message(self):
        with self.assertRaises(sidecar.InvalidArgumentError) as cm:
            sidecar.evaluate(self.ckpts, self.model, (self.x, self.y), no_such_option=1)
        self.assertIn("no_such_option", str(cm.exception))
        with self.assertRaises(sidecar.InvalidArgumentError) as cm:  # model wants 16 columns
            sidecar.evaluate(self.ckpts, self.model, (self.x[:, :15], self.y))
        self.assertIn("(15,)", str(cm.exception))
        self.assertEqual(cm.exception.status, "INVALID_ARGUMENT")
        with self.assertRaises(sidecar.SidecarError) as cm:
            sidecar.evaluate(os.path.join(self.dir, "missing"), self.model, (self.x, self.y))
        self.assertIn("missing", str(cm.exception))
        with self.assertRaises(ValueError):  # rows differ: refused before C reads anything
            sidecar.evaluate(self.ckpts, self.model, (self.x, self.y[:10]))
        with self.assertRaises(sidecar.InvalidArgumentError):
            sidecar.evaluate(self.ckpts, self.model, ({"wrong": self.x}, self.y))
        self.assertEqual(sidecar.evaluate(self.ckpts, self.model, ({"x": self.x}, self.y)),
                         sidecar.evaluate(self.ckpts, self.model, (self.x, self.y)))

    def test_command_options_by_name(self):
        # columns: a CSV whose input columns are out of order, with a column that is no input.
        want = sidecar.evaluate(self.ckpts, self.model, (self.x, self.y))
        names = ["f%d" % i for i in range(self.x.shape[1])]
        csv = os.path.join(self.dir, "shuffled.csv")
        order = list(reversed(range(len(names))))
        with open(csv, "w") as f:
            f.write(",".join(["noise"] + [names[i] for i in order] + ["label"]) + "\n")
            for row, label in zip(self.x, self.y):
                f.write(",".join(["7"] + [repr(float(row[i])) for i in order]
                                 + [str(int(label))]) + "\n")
        got = sidecar.evaluate(self.ckpts, self.model, csv, label="label",
                               columns=",".join(names))
        for k in want:
            self.assertAlmostEqual(got[k], want[k], places=5)
        # Without columns every non-label column is an input: 17 columns, refused by shape.
        with self.assertRaises(sidecar.InvalidArgumentError):
            sidecar.evaluate(self.ckpts, self.model, csv, label="label")
        self.assertEqual(sidecar.evaluate(self.ckpts, self.model, (self.x, self.y), threads=1),
                         want)
        with self.assertRaises(sidecar.InvalidArgumentError):
            sidecar.evaluate(self.ckpts, self.model, (self.x, self.y), threads=0)
        # model_root and step_key reach the checkpoint reader: a root that is not there is named.
        with self.assertRaises(sidecar.SidecarError) as cm:
            sidecar.evaluate(self.ckpts, self.model, (self.x, self.y), model_root="no_such_root")
        self.assertIn("no_such_root", str(cm.exception))
        with self.assertRaises(sidecar.SidecarError) as cm:
            sidecar.evaluate(self.ckpts, self.model, (self.x, self.y), step_key="no_such_step")
        self.assertIn("no_such_step", str(cm.exception))

    def test_ctrl_c_stops_cleanly(self):
        empty = tempfile.mkdtemp(dir=self.dir)
        timer = threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT))
        timer.start()
        t0 = time.monotonic()
        with self.assertRaises(KeyboardInterrupt):
            sidecar.SidecarEvaluator(self.model, (self.x, self.y), empty,
                                     log=lambda line: None).start()
        timer.join()
        self.assertLess(time.monotonic() - t0, 120)  # bounded: the loop saw the stop


if __name__ == "__main__":
    unittest.main(verbosity=2)
