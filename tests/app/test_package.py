"""colorcore.app as a package: no Streamlit anywhere in colorcore, small modules, the slider template shipped."""
from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import colorcore
import colorcore.app

PACKAGE = Path(colorcore.__file__).resolve().parent
APP_PACKAGE = Path(colorcore.app.__file__).resolve().parent


def _imported_modules(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.append(node.module or "")
    return names


def test_colorcore_never_imports_streamlit():
    for path in PACKAGE.rglob("*.py"):
        assert not any(n.split(".")[0] == "streamlit" for n in _imported_modules(path)), path.name


def test_app_modules_stay_small_and_documented():
    for path in APP_PACKAGE.glob("*.py"):
        assert len(path.read_text(encoding="utf-8").splitlines()) < 400, path.name
        assert ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))), path.name


def test_slider_template_is_package_data():
    pyproject = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text(encoding="utf-8"))
    package_data = pyproject.get("tool", {}).get("setuptools", {}).get("package-data", {})
    assert "*.html" in package_data.get("colorcore.app", [])
    assert (APP_PACKAGE / "slider.html").is_file()
