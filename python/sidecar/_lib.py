"""ctypes declarations of the parts of libsidecar the package uses (sidecar/run.h, eval.h)."""
import ctypes
import ctypes.util
import os

_here = os.path.dirname(os.path.abspath(__file__))


def _candidates():
    env = os.environ.get("SIDECAR_LIBRARY")
    if env:  # an explicit choice is the only one
        return [env]
    found = []
    try:  # written by `make install`: the library installed beside this package
        from . import _libpath
        found.append(_libpath.LIBRARY)
    except ImportError:
        pass
    # From the source tree: python/sidecar -> the repository's build directory.
    root = os.path.dirname(os.path.dirname(_here))
    found.append(os.path.join(root, "build", "libsidecar.so"))
    name = ctypes.util.find_library("sidecar")
    if name:
        found.append(name)
    return found


def _load():
    # As the command does (cli/main.c): OpenMP workers sleep instead of spinning, which matters
    # beside a training job. libgomp reads this when it is loaded, so it has effect only if no
    # other module loaded libgomp first; a policy already set is kept.
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    tried = []
    for path in _candidates():
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            tried.append("%s (%s)" % (path, e))
    raise ImportError("sidecar: cannot load libsidecar.so; tried: " + "; ".join(tried) +
                      ". Build it (make) or set SIDECAR_LIBRARY.")


lib = _load()

SC_ERROR_MESSAGE_MAX = 512
SC_OK, SC_INVALID_ARGUMENT, SC_NOT_FOUND, SC_ABORTED = 0, 1, 2, 8


class Error(ctypes.Structure):
    _fields_ = [("status", ctypes.c_int), ("message", ctypes.c_char * SC_ERROR_MESSAGE_MAX)]


class EvalLogs(ctypes.Structure):  # sc_eval_logs (sidecar/eval.h)
    _fields_ = [("num", ctypes.c_size_t),
                ("names", ctypes.POINTER(ctypes.c_char_p)),
                ("values", ctypes.POINTER(ctypes.c_double)),
                ("checkpoint", ctypes.c_char_p),
                ("step", ctypes.c_int64),
                ("dataset", ctypes.c_char_p),
                ("batch", ctypes.c_int64),
                ("batch_size", ctypes.c_size_t),
                ("num_batches", ctypes.c_int64)]


HOOK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(EvalLogs))
LOG = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p)


class Callback(ctypes.Structure):  # sc_callback (sidecar/eval.h)
    _fields_ = [("user", ctypes.c_void_p),
                ("on_test_begin", HOOK),
                ("on_test_batch_begin", HOOK),
                ("on_test_batch_end", HOOK),
                ("on_test_end", HOOK)]


_p = ctypes.c_void_p
_s = ctypes.c_char_p
_e = ctypes.POINTER(Error)
_st = ctypes.c_int


def _decl(name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)


_decl("sc_version", _s)
_decl("sc_status_name", _s, _st)
_decl("sc_run_create", _st, ctypes.POINTER(_p), _e)
_decl("sc_run_free", None, _p)
_decl("sc_run_set_model_path", _st, _p, _s, _e)
_decl("sc_run_set_model_json", _st, _p, _s, ctypes.c_size_t, _e)
_decl("sc_run_set_compile_json", _st, _p, _s, ctypes.c_size_t, _s, _e)
_decl("sc_run_set_option", _st, _p, _s, _s, _e)
_decl("sc_run_add_data_path", _st, _p, _s, _s, _e)
_decl("sc_run_add_data_arrays", _st, _p, _s, ctypes.c_size_t, _e)
_decl("sc_run_set_array", _st, _p, _s, _s, _p, ctypes.c_int, ctypes.POINTER(ctypes.c_int64), _e)
_decl("sc_run_add_callback", _st, _p, ctypes.POINTER(Callback), _e)
_decl("sc_run_set_log", None, _p, LOG, _p)
_decl("sc_run_start", _st, _p, _e)
_decl("sc_run_evaluate", _st, _p, _s, _e)
_decl("sc_run_stop", None, _p)
