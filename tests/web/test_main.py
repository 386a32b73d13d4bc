"""The landing page and the health check."""
from journal_web import create_app
from tests.helpers import free_port


def test_landing_page_says_what_this_is(client):
    page = client.get("/")
    assert page.status_code == 200
    assert b"Integration journal" in page.data and b"emergency number" in page.data


def test_health_reports_the_database(client):
    assert client.get("/healthz").get_json() == {"status": "ok", "database": "ok"}


def test_health_is_503_when_the_database_is_unreachable(settings):
    app = create_app({"TESTING": True, "SECRET_KEY": "test",
                      "DATABASE_URL": f"postgresql://kap@127.0.0.1:{free_port()}/kap"})
    reply = app.test_client().get("/healthz")
    assert reply.status_code == 503
    assert reply.get_json() == {"status": "degraded", "database": "unreachable"}


def test_app_builds_without_touching_the_database(tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "test",
                      "DATABASE_URL": f"sqlite:///{tmp_path}/never-created.db"})
    assert app.name == "journal_web"
    assert not (tmp_path / "never-created.db").exists()
