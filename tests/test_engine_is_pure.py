"""The engine never imports frappe: it must run, and be tested, anywhere."""

import ast
import pathlib
import subprocess
import sys

ENGINE = pathlib.Path(__file__).resolve().parents[1] / "persona_threading" / "engine"
PURE = [ENGINE, ENGINE.parent / "store", ENGINE.parent / "cli.py", ENGINE.parent / "demo", ENGINE.parent / "e2e",
        ENGINE.parent / "replay.py", ENGINE.parent / "session.py", ENGINE.parent / "terminal.py"]


def test_no_frappe_import_in_pure_modules():
    offenders = []
    for root in PURE:
        for path in ([root] if root.is_file() else root.rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                offenders += [f"{path}: {n}" for n in names if n.split(".")[0] in ("frappe", "erpnext")]
    assert not offenders


def test_engine_imports_without_frappe_installed():
    code = ("import sys; sys.modules['frappe'] = None; import persona_threading.engine, "
            "persona_threading.cli, persona_threading.replay, persona_threading.store.sqlite; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr
