"""Compiled tree predictors: an XGBoost or LightGBM model turned into a shared library.

treelite reads the booster's trees; tl2cgen writes them out as C and builds a shared
library with gcc (``-O3``, no fast-math), whose single-row prediction skips the
booster's generic machinery (bench/README.md, "Serving race": 42 µs against
``inplace_predict``'s 367 µs for the benchmark's model). The library is native code, so:

- it is built only by ``compile_library``, in this process, from the bytes of an
  already registered and hash-verified model (models_registry.compiling); a library is
  never uploaded;
- ``agreement`` predicts probe rows with both and the library is kept only when they
  agree within ``TOLERANCE``: the rows sit on both sides of every split threshold of
  the model, with missing values (NaN) mixed in;
- ``CompiledPredictor`` loads it from bytes whose SHA-256 the caller has checked,
  through a private copy (a directory only this process's user can write), so the
  file that is mapped is the file that was checked.

No Django import here.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import platform
import shutil
import subprocess
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from models_registry.artifacts import loaders

logger = logging.getLogger(__name__)

COMPILABLE = (loaders.XGBOOST, loaders.LIGHTGBM)
# Agreement with the booster: absolute for outputs within [-1, 1] (probabilities),
# relative beyond (XGBoost sums leaves in float32 itself: one float32 step at 10 is
# 9.5e-7, and the library may add the same leaves in another order).
TOLERANCE = 1e-6
PROBE_ROWS = 4096
# Share of missing (NaN) values in half the probe rows: both frameworks route them by
# each split's default direction, which the library must follow too.
PROBE_MISSING = 0.1
COMPILER = "gcc"
EXTENSION = ".so"


class CompileError(Exception):
    """The model cannot be compiled, or its library cannot be used; the message says why."""


class BuiltElsewhere(CompileError):
    """The library was built for another platform or tl2cgen: compile the version again."""


@dataclass(frozen=True)
class Toolchain:
    """What built a library; a library is loaded only where these still hold."""

    versions: dict[str, str]

    @property
    def machine(self) -> str:
        return self.versions.get("machine", "")

    @property
    def system(self) -> str:
        return self.versions.get("system", "")


@dataclass(frozen=True)
class CompiledLibrary:
    data: bytes
    toolchain: Toolchain
    max_error: float  # largest disagreement with the booster on the probe rows
    probe_rows: int
    compile_seconds: float


def compiler_path() -> str | None:
    return shutil.which(COMPILER)


def toolchain(framework: str) -> Toolchain:
    """The versions that make up a library built here now (and the platform it runs on)."""
    versions = {
        "tl2cgen": metadata.version("tl2cgen"),
        "treelite": metadata.version("treelite"),
        COMPILER: _compiler_version(),
        framework: _framework_version(framework),
        "machine": platform.machine(),
        "system": platform.system(),
    }
    return Toolchain(versions)


def _compiler_version() -> str:
    path = compiler_path()
    if path is None:
        return ""
    try:
        done = subprocess.run(
            [path, "-dumpfullversion"], capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return done.stdout.strip() or "unknown"


def _framework_version(framework: str) -> str:
    distribution = {loaders.XGBOOST: ("xgboost", "xgboost-cpu"), loaders.LIGHTGBM: ("lightgbm",)}
    for name in distribution[framework]:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return "unknown"


def check_compilable(framework: str) -> None:
    """CompileError unless ``framework`` is a tree booster and a compiler is installed."""
    if framework not in COMPILABLE:
        raise CompileError(
            f"only XGBoost and LightGBM models compile to a tree predictor; this version is "
            f"{framework}, which keeps serving as it is"
        )
    if compiler_path() is None:
        raise CompileError(
            f"no C compiler: {COMPILER} is not on PATH. Compiling needs it (Debian: "
            f"apt-get install gcc); serving a compiled library does not, so compile where "
            f"{COMPILER} is installed, on the same kind of machine as the servers"
        )


def check_loadable(built_with: dict[str, str]) -> None:
    """CompileError unless a library built with ``built_with`` may be loaded here.

    Native code runs only on the platform it was built for, and is called through the
    tl2cgen runtime that generated it: after an upgrade of tl2cgen, or on a server of
    another architecture, the version must be compiled again.
    """
    here = (platform.machine(), platform.system())
    there = (built_with.get("machine", ""), built_with.get("system", ""))
    if there != here:
        raise BuiltElsewhere(
            f"the library was built for {' '.join(there) or 'an unknown platform'}; this "
            f"server is {' '.join(here)}: compile the version again here"
        )
    ours = metadata.version("tl2cgen")
    if built_with.get("tl2cgen") != ours:
        raise BuiltElsewhere(
            f"the library was generated by tl2cgen {built_with.get('tl2cgen', '?')}; this "
            f"server runs tl2cgen {ours}: compile the version again (compile_model --force)"
        )


# treelite and tl2cgen print their native libraries' log lines with print() and their
# warnings with warnings.warn(). Through logging instead: progress at DEBUG, and the one
# warning every compile gives, that tl2cgen's own treelite (4.1) reads a model written by
# treelite 4.8 (which reads XGBoost 3's JSON; 4.1 does not), at DEBUG with that reason;
# any other warning at WARNING.
_KNOWN_WARNINGS = (
    "originated from a newer Treelite version",
    "Currently running Treelite",
    "generated from Treelite version",
)


@ctypes.CFUNCTYPE(None, ctypes.c_char_p)
def _library_log(message: bytes) -> None:
    logger.debug("compiler: %s", message.decode("utf-8", "replace").strip())


@ctypes.CFUNCTYPE(None, ctypes.c_char_p)
def _library_warning(message: bytes) -> None:
    text = message.decode("utf-8", "replace").strip()
    if any(known in text for known in _KNOWN_WARNINGS):
        logger.debug("compiler: %s (expected: tl2cgen bundles treelite 4.1)", text)
    else:
        logger.warning("compiler: %s", text)


_routed = False


@contextmanager
def _native_stderr():
    """What native code writes to the process's stderr meanwhile (tl2cgen's treelite
    writes its version warning there, past any callback), to logging like the rest."""
    import sys

    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            text = capture.read().decode("utf-8", "replace")
    for line in filter(None, (line.strip() for line in text.splitlines())):
        _library_warning(line.encode())


def _route_library_logs() -> None:
    """Send both native libraries' lines to logging (once per process)."""
    global _routed
    if _routed:
        return
    from tl2cgen import libloader
    from treelite import core

    for lib, prefix in ((libloader._LIB, "TL2cgen"), (core._LIB, "Treelite")):
        getattr(lib, f"{prefix}RegisterLogCallback")(_library_log)
        getattr(lib, f"{prefix}RegisterWarningCallback")(_library_warning)
    _routed = True


def compile_library(
    framework: str, booster: loaders.Predictor, *, jobs: int = 0
) -> CompiledLibrary:
    """Compile the loaded ``booster`` (an XGBoost or LightGBM predictor) and check it.

    ``booster`` must come from the version's verified artifact. The library is checked
    against it on PROBE_ROWS rows (``agreement``); CompileError when it disagrees by
    more than TOLERANCE, when the toolchain fails, or for another framework.
    """
    check_compilable(framework)
    import tl2cgen
    import treelite

    _route_library_logs()
    started = time.perf_counter()
    try:
        if framework == loaders.XGBOOST:
            model = treelite.frontend.from_xgboost(booster.booster)
        else:
            model = treelite.frontend.from_lightgbm(booster.booster)
    except Exception as exc:  # treelite raises its own errors on a model it cannot read
        raise CompileError(f"treelite cannot read the model: {_first_line(exc)}") from None
    jobs = jobs or os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="compile-") as workdir:
        target = Path(workdir) / f"predictor{EXTENSION}"
        try:
            with _native_stderr():
                tl2cgen.export_lib(
                    model,
                    toolchain=COMPILER,
                    libpath=target,
                    params={"parallel_comp": jobs},
                    nthread=jobs,
                )
        except Exception as exc:  # tl2cgen raises TL2cgenError, gcc failures as anything
            raise CompileError(f"tl2cgen could not build the library: {_first_line(exc)}") from None
        data = target.read_bytes()
    seconds = round(time.perf_counter() - started, 2)
    compiled = CompiledPredictor(data, framework=framework, n_features=booster.info().n_features)
    rows = probe_rows(json.loads(model.dump_as_json()), rows=PROBE_ROWS)
    max_error = agreement(compiled, booster, rows)
    if not max_error <= TOLERANCE:
        raise CompileError(
            f"the compiled library disagrees with the booster by {max_error:.3g} on "
            f"{len(rows)} probe rows (at most {TOLERANCE:g} is accepted): not kept"
        )
    return CompiledLibrary(
        data=data,
        toolchain=toolchain(framework),
        max_error=max_error,
        probe_rows=len(rows),
        compile_seconds=seconds,
    )


def agreement(compiled: loaders.Predictor, booster: loaders.Predictor, rows: np.ndarray) -> float:
    """The largest disagreement of the two on ``rows``: absolute within [-1, 1], relative
    beyond; infinity when one gives a number where the other does not."""
    ours = np.asarray(compiled.predict(rows), dtype=np.float64)
    theirs = np.asarray(booster.predict(rows), dtype=np.float64)
    if ours.shape != theirs.shape:
        return float("inf")
    both_nan = np.isnan(ours) & np.isnan(theirs)
    if (np.isnan(ours) ^ np.isnan(theirs)).any():
        return float("inf")
    scale = np.maximum(1.0, np.abs(theirs))
    errors = np.where(both_nan, 0.0, np.abs(ours - theirs) / scale)
    return float(errors.max()) if errors.size else 0.0


def probe_rows(dump: dict, *, rows: int, seed: int = 20) -> np.ndarray:
    """Rows that take both branches of the model's splits, some values missing.

    ``dump`` is treelite's JSON of the model. Each feature's values are drawn from its
    split thresholds, the nearest values on either side of each (in the model's own
    precision: XGBoost compares in float32), values beyond the outermost, zero, and the
    categories of categorical splits; a feature no split uses gets normal noise.
    """
    rng = np.random.default_rng(seed)
    n_features = int(dump["num_feature"])
    precision = np.float32 if dump.get("threshold_type") == "float32" else np.float64
    thresholds: list[set[float]] = [set() for _ in range(n_features)]
    for tree in dump["trees"]:
        for node in tree["nodes"]:
            feature = node.get("split_feature_id")
            if feature is None:
                continue
            if node.get("node_type") == "categorical_test_node":
                thresholds[feature].update(float(c) for c in node.get("category_list", []))
            elif "threshold" in node:
                thresholds[feature].add(float(node["threshold"]))
    out = np.empty((rows, n_features), dtype=np.float64)
    for feature, points in enumerate(thresholds):
        if not points:
            out[:, feature] = rng.normal(0.0, 1.0, rows)
            continue
        at = np.array(sorted(points), dtype=precision)
        below = np.nextafter(at, precision(-np.inf))
        above = np.nextafter(at, precision(np.inf))
        spread = float(at[-1] - at[0]) or 1.0
        outside = np.array([at[0] - spread, at[-1] + spread, 0.0], dtype=np.float64)
        candidates = np.concatenate([at, below, above]).astype(np.float64)
        candidates = np.concatenate([candidates, outside])
        candidates = candidates[np.isfinite(candidates)]
        out[:, feature] = rng.choice(candidates, rows)
    missing = rng.random(out.shape) < PROBE_MISSING
    missing[: rows // 2] = False  # half the rows complete: deep paths without NaN too
    out[missing] = np.nan
    return out


class CompiledPredictor(loaders.Predictor):
    """A compiled library, loaded from bytes the caller has checked.

    The bytes are written to a file in a fresh private directory (mode 0700), loaded
    with ``dlopen`` by tl2cgen and unlinked at once: the mapping outlives the file, and
    no other user can replace the file between the write and the load. tl2cgen's
    ``predict`` may run on one thread at a time, hence the lock (gthread workers).
    One thread per prediction, as the boosters.
    """

    compiled = True

    def __init__(
        self, data: bytes, *, framework: str, n_features: int, threads: int = 1, output_kind=""
    ):
        import tl2cgen

        self.framework = framework
        self.output_kind = output_kind or "value"
        self._lock = threading.Lock()
        with tempfile.TemporaryDirectory(prefix="compiled-predictor-") as private:
            path = Path(private) / f"predictor{EXTENSION}"
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o500)
            with os.fdopen(descriptor, "wb") as out:
                out.write(data)
            try:
                self.library = tl2cgen.Predictor(path, nthread=threads)
            except Exception as exc:  # dlopen failures, a library of another kind
                raise CompileError(
                    f"the compiled library does not load: {_first_line(exc)} (a directory "
                    f"under {tempfile.gettempdir()} mounted noexec stops it too)"
                ) from None
        if self.library.num_feature != n_features:
            raise CompileError(
                f"the compiled library takes {self.library.num_feature} features; the "
                f"version has {n_features}"
            )
        if self.library.num_target != 1 or list(self.library.num_class) != [1]:
            raise CompileError("the compiled library gives several outputs per row: unsupported")
        self.n_features = n_features
        self._dtype = np.float32 if self.library.threshold_type == "float32" else np.float64

    def predict(self, rows: np.ndarray) -> list[float]:
        import tl2cgen

        if len(rows) == 0:
            return []
        # Contiguous and already of the library's type: tl2cgen's DMatrix then copies
        # nothing itself (and NumPy 2 refuses the copy it would ask for). A finite value
        # beyond float32 becomes infinity, as in XGBoost's own float32: no warning each.
        with np.errstate(over="ignore"):
            batch = np.ascontiguousarray(rows, dtype=self._dtype)
        with self._lock:
            out = self.library.predict(tl2cgen.DMatrix(batch))
        return out.reshape(len(rows)).astype(np.float64).tolist()

    def info(self) -> loaders.ModelInfo:
        return loaders.ModelInfo(
            n_features=self.n_features,
            feature_names=None,
            feature_types=None,
            output_kind=self.output_kind,
        )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
