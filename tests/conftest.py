"""Test set-up: four fake CPU devices (before JAX loads), shared-data lookup, numba cache."""

import os
import pathlib

# Four host devices make every in-process test exercise the sharded step; mesh.num_devices=1
# gives the single-device reference. Must happen before anything imports jax.
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=4")
os.environ.setdefault("NUMBA_CACHE_DIR", str(pathlib.Path.home() / ".cache" / "affectjax-numba"))

import pytest  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]


def shared_data_dir() -> pathlib.Path | None:
    """``$AFFECTJAX_SHARED_DATA`` or ``<repo>/../shared/data``; None when neither exists."""
    env = os.environ.get("AFFECTJAX_SHARED_DATA")
    for candidate in ([pathlib.Path(env)] if env else []) + [REPO.parent / "shared" / "data"]:
        if candidate.is_dir():
            return candidate
    return None


@pytest.fixture
def shared_data():
    """The real data sets for tests, or a skip that says why."""
    root = shared_data_dir()
    if root is None:
        pytest.skip("real data not found: set AFFECTJAX_SHARED_DATA or place shared/data "
                    "beside the repository")
    return root
