"""The one place TensorFlow and Keras are imported: quiet unless the log level is debug.

TensorFlow talks on stderr from C++ before Python can stop it: at import, XLA/CUDA probing prints
``Could not find cuda drivers`` (through absl, before ``absl::InitializeLog``, so no setting reaches
it) and oneDNN/CPU-feature notes; at the first op ``failed call to cuInit``; and each ``tf.data``
fit a ``NodeDef mentions attribute use_unbounded_threadpool`` error. None of it is actionable on a
CPU machine, and a newcomer's first ``make demo`` should not show an ``E0000 ... CUDA error``.

Unless the root logger is at DEBUG (``logging.level = "debug"``, set by ``configure_logging``):

- ``TF_CPP_MIN_LOG_LEVEL=3`` (only FATAL) before the first import; a value the user set is kept.
  ``TF_ENABLE_ONEDNN_OPTS`` is left alone: it changes numerics, not only messages;
- during the import, file descriptor 2 goes to a temporary file; afterwards the lines that are not
  TensorFlow's (another thread's warning) are written back, and if the import fails all of it is;
- TensorFlow's and absl's Python loggers are set to ERROR.
"""

from __future__ import annotations

import gc
import logging
import os
import re
import sys
import tempfile
import threading
from typing import Any

#: lines TensorFlow, absl, XLA and CUDA print on their own (glog prefix ``I0000 00:00:...``, etc.)
NOISE = re.compile(
    r"^(?:[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ \S+:\d+\]"
    r"|WARNING: All log messages before absl::InitializeLog\(\)"
    r"|To enable the following instructions:"
    r"|\S*(?:tensorflow|xla|absl)/\S+:\d+\]"
    r"|.*oneDNN custom operations are on"
    r"|.*(?:cuInit|cuda drivers|TF-TRT|cuDNN|cuBLAS|cuFFT)\b)"
)

_imported: tuple[Any, Any] | None = None
#: one import at a time: the walk-forward's fits start on several threads at once, and two
#: imports racing over file descriptor 2 would leave it pointing at the other's closed temporary
#: file (every later line on stderr lost)
_import_lock = threading.Lock()


def debug_enabled() -> bool:
    """Whether the bot logs at debug level (then TensorFlow may speak too)."""
    return logging.getLogger().isEnabledFor(logging.DEBUG)


def import_tensorflow() -> tuple[Any, Any]:
    """``(tensorflow, keras)``, imported quietly unless the log level is debug (idempotent,
    thread-safe)."""
    if _imported is not None:
        return _imported
    with _import_lock:
        return _import_once()


def _import_once() -> tuple[Any, Any]:
    global _imported
    if _imported is not None:  # another thread imported it while this one waited
        return _imported
    # The import makes about a million objects that live as long as the process. Collecting
    # garbage among them while they are made was 0.7 s of a 5.5 s import (six full
    # collections); frozen afterwards, later full collections skip them too.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _import_uncollected()
    finally:
        if collecting:
            gc.freeze()
            gc.enable()


def _import_uncollected() -> tuple[Any, Any]:
    global _imported
    if debug_enabled():
        import keras
        import tensorflow as tf

        _imported = (tf, keras)
        return _imported
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    tf, keras = _import_with_stderr_filtered()
    tf.get_logger().setLevel(logging.ERROR)
    try:
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)
    except ImportError:  # absl comes with TensorFlow; without it there is nothing to quiet
        pass
    _imported = (tf, keras)
    return _imported


def _import_with_stderr_filtered() -> tuple[Any, Any]:
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        failed = True
        try:
            import keras
            import tensorflow as tf

            failed = False
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            text = captured.read().decode("utf-8", "replace")
            kept = text if failed else "".join(_not_noise(text))
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()
    return tf, keras


def _not_noise(text: str) -> list[str]:
    """The captured lines that are not TensorFlow's."""
    return [line for line in text.splitlines(keepends=True) if not NOISE.match(line)]
