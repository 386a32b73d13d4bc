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
