"""Every e2e test starts with fresh conversations for the demo patients."""
import pytest


@pytest.fixture(autouse=True)
def fresh_conversations(request):
    """Reset the demo patients' conversations when a test uses the shared servers."""
    if "servers" in request.fixturenames:
        request.getfixturevalue("servers").restart("demo-ava", "demo-jonah")
