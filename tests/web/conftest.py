"""Flask fixtures on a temporary, migrated and seeded database."""
import pytest

from journal_web import create_app


@pytest.fixture
def app(settings, demo):
    """The app over the seeded test database."""
    return create_app({"TESTING": True, "DATABASE_URL": settings.database_url, "SECRET_KEY": "test"})


@pytest.fixture
def client(app):
    """A test client."""
    return app.test_client()
