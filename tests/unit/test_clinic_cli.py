"""The clinic commands, run as an operator runs them: `python -m bot ...` in a fresh process."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def bot(tmp_path):
    """Run `python -m bot ARGS` over a database of its own; return (exit code, stdout, stderr)."""
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
           "KAP_ENV_FILE": str(tmp_path / "absent.env"), "SPOOL_DIR": str(tmp_path / "spool"),
           "PUBLIC_BASE_URL": "https://journal.example", "SECRET_KEY": "cli-tests"}

    def run(*args: str, stdin: str = ""):
        done = subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, input=stdin,
                              capture_output=True, text=True, timeout=120)
        return done.returncode, done.stdout, done.stderr

    return run


def test_a_clinic_is_set_up_and_run_from_the_command_line(bot, tmp_path):
    code, out, err = bot("setup-clinic", "--name", "Juniper", "--timezone", "Europe/London", "--locale", "en-GB",
                         "--crisis-set", "gb", "--admin-email", "lee@juniper.example", "--admin-name", "Lee")
    assert code == 0, err
    assert "https://journal.example/welcome/" in out
    code, _, err = bot("setup-clinic", "--name", "Again", "--timezone", "UTC", "--crisis-set", "us",
                       "--admin-email", "x@y.example", "--admin-name", "X")
    assert code == 1 and err == "error: a clinic is set up already; to add another one on purpose, pass --another\n"

    assert bot("clinician", "add", "--email", "tess@juniper.example", "--name", "Tess", "--role", "therapist")[0] == 0
    code, out, _ = bot("patient", "enrol", "--code", "JC-1", "--name", "Robin", "--therapist-email", "tess@juniper.example")
    assert code == 0 and "code JC-1" in out
    assert bot("infusion", "add", "JC-1", "--at", "2026-12-10 09:30", "--route", "IM", "--dose-mg", "50")[0] == 0
    code, out, _ = bot("infusion", "list", "JC-1")
    assert "2026-12-10T09:30:00+00:00" in out and "50 mg" in out
    assert bot("session", "add", "JC-1", "--at", "2026-12-12 14:00")[0] == 0
    assert bot("rota", "add", "tess@juniper.example", "--from", "2026-12-05 18:00", "--to", "2026-12-06 08:00")[0] == 0
    code, out, _ = bot("patient", "invite", "JC-1")
    assert code == 0 and "https://journal.example/invite/" in out
    assert bot("patient", "status", "JC-1", "discharged")[0] == 0
    code, out, _ = bot("patient", "list")
    assert "JC-1" in out and "discharged" in out

    csv = tmp_path / "patients.csv"
    csv.write_text("code,display_name,therapist_email,infusion_at,infusion_route\n"
                   "JC-2,Sasha,tess@juniper.example,2026-12-11 10:00,IV\n"
                   "JC-3,Kai,nobody@juniper.example,,\n", encoding="utf-8")
    code, out, err = bot("import-patients", str(csv), "--dry-run")
    assert code == 1 and "patients.csv:3: no active therapist" in out and "nothing was imported" in err
    csv.write_text("code,display_name,therapist_email\nJC-2,Sasha,tess@juniper.example\n", encoding="utf-8")
    assert "Nothing was written" in bot("import-patients", str(csv), "--dry-run")[1]
    assert bot("import-patients", str(csv))[0] == 0
    assert "JC-2" in bot("patient", "list")[1]


@pytest.mark.parametrize("args, message", [
    (("patient", "enrol", "--code", "A", "--name", "B", "--therapist-email", "t@x.example"), "no clinic yet"),
    (("infusion", "add", "NOPE", "--at", "2026-12-10 09:30", "--route", "IV"), "no clinic yet"),
    (("import-patients", "/nonexistent.csv"), "no clinic yet"),
])
def test_commands_before_setup_say_what_to_do(bot, args, message):
    code, out, err = bot(*args)
    assert code == 1 and message in err and "Traceback" not in err


def test_setup_without_a_terminal_names_the_missing_value(bot):
    code, _, err = bot("setup-clinic", "--name", "Juniper")
    assert code == 1 and err.startswith("error: missing a value for: Time zone")
