"""sidecar — Keras' SidecarEvaluator and model.evaluate on training checkpoints, in C.

    import sidecar
    sidecar.SidecarEvaluator(model, data, checkpoint_dir, steps=None, max_evaluations=None,
                             callbacks=None, **options).start()
    metrics = sidecar.evaluate(checkpoint, model, data, **options)   # {"loss": ..., ...}

model:   a Keras model (anything with to_json(); get_compile_config() gives the loss and
         metrics when present), or a path (model JSON, .keras archive).
data:    (x, y) or (x, y, sample_weight) NumPy arrays, x a dict of arrays for several inputs
         (float32 C-contiguous arrays are read in place; others are converted once); or a path
         or list of paths (.npz, .npy, TFRecord, CSV) as `sidecar --data`.
callbacks: objects with Keras' callback methods (on_test_begin(logs),
         on_test_batch_begin(batch, logs), on_test_batch_end(batch, logs), on_test_end(logs));
         an exception in one stops the run and is raised from start()/evaluate().
options: the command's options by their Python names: loss, metrics, batch_size, logdir,
         every, export_best, monitor, mode, timeout, poll, watch, label, sample_weight,
         compression, feature ({input: feature}), retries; log (a function taking each log
         line; default: the "sidecar" logger at INFO).

Errors raise SidecarError (ValueError for invalid arguments) with the library's message.
Ctrl-C stops the run cleanly (outputs already written stay complete) and raises
KeyboardInterrupt.
"""
import ctypes
import json
import logging
import os
import threading

import numpy as np

from . import _lib

__all__ = ["SidecarEvaluator", "evaluate", "SidecarError", "InvalidArgumentError", "version"]

_log = logging.getLogger("sidecar")


class SidecarError(RuntimeError):
    """An error reported by libsidecar: .status is its name (e.g. "NOT_FOUND")."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class InvalidArgumentError(SidecarError, ValueError):
    """A bad option, a shape mismatch, a model or data the library refuses."""


def version():
    """The version of the loaded libsidecar."""
    return _lib.lib.sc_version().decode()


def _raise(status, err):
    name = _lib.lib.sc_status_name(status).decode()
    msg = err.message.decode(errors="replace")
    cls = InvalidArgumentError if status == _lib.SC_INVALID_ARGUMENT else SidecarError
    raise cls(name, msg)


def _check(status, err):
    if status != _lib.SC_OK:
        _raise(status, err)


def _text(v):
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, (list, tuple)):
        return ",".join(str(x) for x in v)
    return os.fspath(v) if isinstance(v, os.PathLike) else str(v)


def _is_path(v):
    return isinstance(v, (str, bytes, os.PathLike))


def _f32(a, what):
    a = np.asarray(a)
    if a.dtype.kind not in "biuf":
        raise TypeError("sidecar: %s: dtype %s does not convert to float32" % (what, a.dtype))
    a = np.ascontiguousarray(a, dtype=np.float32)  # no copy when already float32 C-contiguous
    if a.ndim < 1:
        raise ValueError("sidecar: %s: needs a first (batch) dimension" % what)
    return a


def _logs_dict(logs):
    l = logs.contents
    return {l.names[i].decode(): l.values[i] for i in range(l.num)}


def _uninterrupted(wait):
    """wait() to the end, through any KeyboardInterrupt."""
    while True:
        try:
            return wait()
        except KeyboardInterrupt:
            pass


class _Call:
    """One sc_run: options, data and callbacks set up, then a blocking call run on a worker
    thread so that the main thread stays responsive to Ctrl-C."""

    def __init__(self, model, data, callbacks, options):
        err = _lib.Error()
        self._run = ctypes.c_void_p()
        _check(_lib.lib.sc_run_create(ctypes.byref(self._run), ctypes.byref(err)), err)
        self._keep = []        # arrays and ctypes callbacks that C borrows
        self._raised = None    # an exception from a Python callback
        self.last_logs = {}
        self._model = model
        try:
            log = options.pop("log", None)
            self._set_log(log)
            self._set_model(model, options)
            for name, value in options.items():
                self._option(name, value)
            self._set_data(data)
            self._add_callback(None)  # records the final metrics for evaluate()
            for cb in callbacks or []:
                self._add_callback(cb)
        except BaseException:
            self.close()
            raise

    def close(self):
        if self._run:
            _lib.lib.sc_run_free(self._run)
            self._run = None

    def __del__(self):
        self.close()

    def _err_call(self, fn, *args):
        err = _lib.Error()
        _check(fn(self._run, *args, ctypes.byref(err)), err)

    def _option(self, name, value):
        if value is None:
            return
        if name == "feature" and isinstance(value, dict):
            for k, v in value.items():
                self._err_call(_lib.lib.sc_run_set_option, b"feature", ("%s=%s" % (k, v)).encode())
            return
        self._err_call(_lib.lib.sc_run_set_option, name.encode(), _text(value).encode())

    def _set_log(self, log):
        sink = log or _log.info

        def on_line(user, line):
            try:
                sink(line.decode(errors="replace"))
            except Exception:  # a logging failure must not unwind through C
                pass

        f = _lib.LOG(on_line)
        self._keep.append(f)
        _lib.lib.sc_run_set_log(self._run, f, None)

    def _set_model(self, model, options):
        if _is_path(model):
            self._err_call(_lib.lib.sc_run_set_model_path, os.fsencode(model))
            return
        if not hasattr(model, "to_json"):
            raise TypeError("sidecar: model must be a path or have to_json() (a Keras model)")
        text = model.to_json().encode()
        self._err_call(_lib.lib.sc_run_set_model_json, text, len(text))
        cfg = model.get_compile_config() if hasattr(model, "get_compile_config") else None
        # Explicit loss/metrics options win over the model's compile config (as on the
        # command line, the two exclude each other).
        if cfg and options.get("loss") is None and options.get("metrics") is None:
            text = json.dumps(cfg).encode()
            self._err_call(_lib.lib.sc_run_set_compile_json, text, len(text),
                           b"get_compile_config()")

    def _set_data(self, data):
        if _is_path(data):
            self._err_call(_lib.lib.sc_run_add_data_path, None, os.fsencode(data))
            return
        if isinstance(data, list) and data and all(_is_path(p) for p in data):
            self._err_call(_lib.lib.sc_run_add_data_path, None,
                           b",".join(os.fsencode(p) for p in data))
            return
        if not isinstance(data, tuple) or len(data) not in (2, 3):
            raise TypeError("sidecar: data must be (x, y), (x, y, sample_weight) or a path")
        x, y = data[0], data[1]
        sw = data[2] if len(data) == 3 else None
        xs = {k: _f32(v, "x[%r]" % k) for k, v in x.items()} if isinstance(x, dict) \
            else {None: _f32(x, "x")}
        if isinstance(y, dict):
            if len(y) != 1:
                raise ValueError("sidecar: models with several outputs are not supported yet")
            y = next(iter(y.values()))
        arrays = [("x", k, a) for k, a in xs.items()]
        if y is not None:
            arrays.append(("y", None, _f32(y, "y")))
        if sw is not None:
            arrays.append(("sample_weight", None, _f32(sw, "sample_weight")))
        rows = {a.shape[0] for _, _, a in arrays}
        if len(rows) != 1:  # C reads num_examples rows of every array: this check guards it
            raise ValueError("sidecar: data arrays have different numbers of rows: %s" %
                             ", ".join("%s%s %s" % (r, "" if k is None else "[%r]" % k, a.shape)
                                       for r, k, a in arrays))
        self._err_call(_lib.lib.sc_run_add_data_arrays, None, rows.pop())
        for role, key, a in arrays:
            dims = (ctypes.c_int64 * max(1, a.ndim - 1))(*a.shape[1:])
            self._keep.append(a)
            self._err_call(_lib.lib.sc_run_set_array, role.encode(),
                           None if key is None else str(key).encode(),
                           a.ctypes.data_as(ctypes.c_void_p), a.ndim - 1, dims)

    def _add_callback(self, cb):
        me = self

        def hook(method, batch_arg):
            def call(user, logs):
                try:
                    d = _logs_dict(logs)
                    if cb is None:
                        me.last_logs = d
                    elif batch_arg:
                        getattr(cb, method)(int(logs.contents.batch), d)
                    else:
                        getattr(cb, method)(d)
                    return 0
                except BaseException as e:  # stop the run, raise it from start()/evaluate()
                    if me._raised is None:
                        me._raised = e
                    return 1
            return _lib.HOOK(call)

        c = _lib.Callback()
        if cb is None:
            c.on_test_end = hook("on_test_end", False)
        else:
            if hasattr(cb, "set_model") and not _is_path(self._model):
                cb.set_model(self._model)
            for method, batch_arg in (("on_test_begin", False), ("on_test_batch_begin", True),
                                      ("on_test_batch_end", True), ("on_test_end", False)):
                if callable(getattr(cb, method, None)):
                    setattr(c, method, hook(method, batch_arg))
        self._keep.append(c)
        self._err_call(_lib.lib.sc_run_add_callback, ctypes.byref(c))

    def call(self, fn, *args):
        """Runs fn(run, *args, err) on a worker thread; Ctrl-C asks it to stop, waits for it
        and raises KeyboardInterrupt."""
        out = {}
        err = _lib.Error()
        # Whether C was entered is decided under the lock, not read from Thread.is_alive(): a
        # Ctrl-C inside Thread.start() comes before the thread counts as alive although it
        # runs, and the run it uses would then be freed under it.
        lock = threading.Lock()
        state = {"entered": False, "cancelled": False}
        done = threading.Event()

        def work():
            try:
                with lock:
                    if state["cancelled"]:
                        return
                    state["entered"] = True
                out["status"] = fn(self._run, *args, ctypes.byref(err))
            finally:
                done.set()

        t = threading.Thread(target=work, name="sidecar", daemon=True)
        try:
            t.start()
            while not done.wait(0.1):
                pass
        except BaseException:
            # Ctrl-C (or any exception) while C may run: stop it and wait, however many more
            # Ctrl-C come, before the run can be freed.
            _uninterrupted(lock.acquire)
            state["cancelled"] = True
            entered = state["entered"]
            lock.release()
            if entered:
                _lib.lib.sc_run_stop(self._run)
                while not done.is_set():
                    _uninterrupted(done.wait)
            raise
        if self._raised is not None:
            raise self._raised
        _check(out["status"], err)


class SidecarEvaluator:
    """Keras' tf.keras.utils.SidecarEvaluator: evaluates each checkpoint training writes into
    checkpoint_dir; start() returns after the checkpoint numbered >= max_evaluations (never
    when None), after `timeout` seconds without a new checkpoint, or on Ctrl-C."""

    def __init__(self, model, data, checkpoint_dir, steps=None, max_evaluations=None,
                 callbacks=None, **options):
        self.model = model
        self.data = data
        self.checkpoint_dir = checkpoint_dir
        self.steps = steps
        self.max_evaluations = max_evaluations
        self.callbacks = list(callbacks or [])
        self.options = options

    def start(self):
        opts = dict(self.options)
        opts.update(checkpoint_dir=self.checkpoint_dir, steps=self.steps,
                    max_evaluations=self.max_evaluations)
        c = _Call(self.model, self.data, self.callbacks, opts)
        try:
            c.call(_lib.lib.sc_run_start)
        finally:
            c.close()


def evaluate(checkpoint, model, data, callbacks=None, **options):
    """model.evaluate(data, return_dict=True) with the weights of one checkpoint (a prefix, a
    directory with a `checkpoint` file, a SavedModel, .weights.h5, .keras or .safetensors)."""
    c = _Call(model, data, callbacks, dict(options))
    try:
        c.call(_lib.lib.sc_run_evaluate, os.fsencode(checkpoint))
        return c.last_logs
    finally:
        c.close()
