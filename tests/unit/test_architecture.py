"""Structural rules: the core imports no framework; training builds no TensorFlow model."""
import ast
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
FRAMEWORKS = ("rasa", "rasa_sdk", "flask", "flask_login", "flask_wtf", "sanic")
NEURAL_COMPONENTS = {"DIETClassifier", "TEDPolicy", "UnexpecTEDIntentPolicy", "ResponseSelector",
                     "ConveRTFeaturizer", "LanguageModelFeaturizer"}


def _imported_modules(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def test_bot_imports_no_framework():
    offenders = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in (ROOT / "bot").rglob("*.py")
        for module in _imported_modules(path)
        if module.split(".")[0] in FRAMEWORKS
    ]
    assert offenders == []


def test_config_trains_no_tensorflow_model():
    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    names = {c["name"] for c in config["pipeline"] + config["policies"]}
    assert not names & NEURAL_COMPONENTS
    assert "components.safety_screen.SafetyScreen" == config["pipeline"][-1]["name"]


def _package_of(module: str):
    """`bot.clinic.access` -> `clinic`; None for what lies outside bot's packages."""
    parts = module.split(".")
    if parts[0] != "bot" or len(parts) < 2:
        return None
    return parts[1] if (ROOT / "bot" / parts[1]).is_dir() else None


def test_bot_top_level_holds_packages_and_entry_modules():
    modules = sorted(p.name for p in (ROOT / "bot").glob("*.py"))
    assert modules == ["__init__.py", "__main__.py"]
    for package in (p for p in (ROOT / "bot").iterdir() if p.is_dir() and p.name != "__pycache__"):
        init = package / "__init__.py"
        assert init.is_file(), f"{package.name} has no __init__.py"
        assert ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))), f"{package.name} says nothing of itself"


def test_no_module_in_bot_is_over_600_lines():
    long = {
        str(path.relative_to(ROOT)): n
        for path in (ROOT / "bot").rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 600
    }
    assert long == {}


def test_no_import_cycle_between_bot_packages():
    edges = {}
    for path in (ROOT / "bot").rglob("*.py"):
        source = _package_of("bot." + ".".join(path.relative_to(ROOT / "bot").parts))
        if source is None:
            continue
        for module in _imported_modules(path):
            target = _package_of(module)
            if target and target != source:
                edges.setdefault(source, set()).add(target)

    def reaches(start, goal, seen=()):
        return any(n == goal or (n not in seen and reaches(n, goal, seen + (n,))) for n in edges.get(start, ()))

    cycles = sorted(f"{a} <-> {b}" for a in edges for b in edges[a] if reaches(b, a))
    assert cycles == []
