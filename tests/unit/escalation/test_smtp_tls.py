"""Email over STARTTLS with a login, against a real TLS-speaking SMTP server."""
import dataclasses
import datetime
import ipaddress
import ssl

import pytest
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from bot.escalation.dispatcher import Dispatcher
from bot.escalation.notifiers import build_notifiers
from bot.storage.models import AlertDelivery
from tests.unit.escalation.conftest import THERAPIST, crisis, reload
from tests.unit.escalation.harness import Mailbox

USER, PASSWORD = "kap-alerts", "correct-smtp-password"


@pytest.fixture
def tls_mailbox(tmp_path, monkeypatch):
    """An SMTP server that requires STARTTLS before anything and a login before mail."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))  # the client trusts this server only
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert_file, key_file)
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        accepted = (auth_data.login, auth_data.password) == (USER.encode(), PASSWORD.encode())
        logins.append((auth_data.login.decode(), accepted, session.ssl is not None))
        return AuthResult(success=accepted, handled=False)  # the server answers 235 or 535

    box = Mailbox(tls_context=server_tls, require_starttls=True, auth_required=True,
                  auth_require_tls=True, authenticator=authenticator).start()
    box.logins = logins
    yield box
    box.stop()


def _settings(settings, box, password):
    return dataclasses.replace(settings, smtp_port=box.port, smtp_starttls=True, smtp_username=USER,
                               smtp_password=password, webhook_url="")


def test_starttls_and_login_with_the_configured_credentials(settings, demo, tls_mailbox):
    alert = crisis(demo)
    config = _settings(settings, tls_mailbox, PASSWORD)
    assert Dispatcher(config, demo, build_notifiers(config)).run_once() == 1
    assert tls_mailbox.recipients(alert.public_id) == [THERAPIST]
    assert tls_mailbox.logins == [(USER, True, True)], "logged in, over TLS"


def test_a_refused_login_is_a_failed_attempt_that_is_retried(settings, demo, tls_mailbox):
    alert = crisis(demo)
    config = _settings(settings, tls_mailbox, "wrong-password")
    assert Dispatcher(config, demo, build_notifiers(config)).run_once() == 0
    assert tls_mailbox.messages() == []
    with demo() as session:
        [attempt] = session.scalars(select(AlertDelivery).where(AlertDelivery.alert_id == alert.id))
    assert not attempt.succeeded and "SMTPAuthenticationError" in attempt.detail
    assert PASSWORD not in attempt.detail and "wrong-password" not in attempt.detail
    assert reload(demo, alert).delivery_due_at is not None


def test_the_servers_certificate_is_verified(settings, demo, tls_mailbox, tmp_path, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "no-such-ca.pem"))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    alert = crisis(demo)
    config = _settings(settings, tls_mailbox, PASSWORD)
    assert Dispatcher(config, demo, build_notifiers(config)).run_once() == 0
    with demo() as session:
        [attempt] = session.scalars(select(AlertDelivery).where(AlertDelivery.alert_id == alert.id))
    assert "CERTIFICATE_VERIFY_FAILED" in attempt.detail
    assert tls_mailbox.logins == [], "no password is sent to an unverified server"
