"""The web tier must run without the judge extra: serving pages and the API never imports torch."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = """
import sys
import django
django.setup()
from django.test.utils import setup_test_environment
setup_test_environment()
from django.test import Client
import arena.urls, arena.tasks, arena.judging, arena.leaderboards
client = Client()
codes = [client.get(path).status_code for path in ("/", "/api/v1/openapi.json", "/api/v1/docs",
                                                  "/api/v1/leaderboard")]
heavy = sorted(m for m in ("torch", "transformers", "llama_cpp", "accelerate") if m in sys.modules)
print(codes, ",".join(heavy) or "none")
"""


def test_pages_and_api_load_without_importing_model_libraries(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "arena.settings", "ARENA_DATA_DIR": str(tmp_path),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'web.sqlite3'}", "REDIS_URL": ""}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, check=True, capture_output=True,
                         text=True)
    assert out.stdout.strip().splitlines()[-1] == "[200, 200, 200, 200] none"
