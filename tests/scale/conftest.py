"""The scaled-out installation (tests/scale/cluster.py), started once for the module."""
import shutil
import tempfile
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.postgres_server import create_database
from tests.scale.cluster import start_cluster


@pytest.fixture(scope="module")
def cluster(trained_model, postgres_server):
    """Every process of the installation; all stopped and removed afterwards, even on failure."""
    tmp = Path(tempfile.mkdtemp(prefix="kap-scale-"))
    try:
        with ExitStack() as stack:
            yield start_cluster(stack, trained_model, create_database(postgres_server, "kap_scale"), tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
