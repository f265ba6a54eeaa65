"""Run the whole arena on one machine: database, demo data, a Celery worker and the web server."""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from arena.demo import ensure_demo_tournament, load_demo_data
from arena.demo_vicuna80 import ensure_vicuna80_tournament
from arena.models import ApiToken
from arena.scopes import READ, RUN, UPLOAD
from arena.tasks import enqueue_pending

DEMO_SCOPES = (READ, UPLOAD, RUN)


class Command(BaseCommand):
    help = "Migrate, load the demo data, start a judge worker and the web server, and print the URL."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--no-worker", action="store_true", help="do not start a Celery worker")

    def handle(self, *args, port: int, host: str, no_worker: bool, **options):
        call_command("migrate", verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        loaded = load_demo_data()
        tournament = ensure_demo_tournament()
        enqueue_pending(tournament=tournament)
        vicuna = ensure_vicuna80_tournament()
        enqueue_pending(tournament=vicuna)
        token = self._demo_token()
        # From here on a stop request is recorded, not fatal, so that no child can outlive us.
        stopping: list[int] = []
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda signum, frame: stopping.append(signum))
        processes = [] if no_worker else [self._worker()]
        processes.append(self._web(host, port))
        url = f"http://{host}:{port}/"
        self.stdout.write(self.style.SUCCESS(f"\nThe Arena is running at {url}\n"))
        self.stdout.write(f"  demo data: {loaded}\n  tournament: {tournament.name} ({tournament.matches.count()} "
                          f"matches, judged by {tournament.judge_config})\n  tournament: {vicuna.name} "
                          f"({vicuna.matches.count()} matches)\n  vote: {url}vote/  judges vs humans: {url}judges/\n"
                          f"  API token for user 'demo' (scopes {', '.join(DEMO_SCOPES)}): {token}\n"
                          f"  broker: {settings.CELERY_BROKER_URL}  database: {settings.DATABASES['default']['NAME']}\n"
                          "  Press Ctrl-C to stop.\n")
        self._wait(processes, stopping)

    def _demo_token(self) -> str:
        from django.contrib.auth import get_user_model

        user, _ = get_user_model().objects.get_or_create(username="demo")
        # Enough to follow the README on the demo: upload, and create and control tournaments. Not
        # ``admin``: judge configurations are the operator's (create_judge, the admin).
        return ApiToken.issue(user=user, name="demo", scopes=DEMO_SCOPES)[1]

    def _worker(self) -> subprocess.Popen:
        # One process, both queues, and the beat scheduler that re-queues matches of dead workers.
        command = [sys.executable, "-m", "celery", "-A", "arena", "worker", "-Q", "default,judge", "-c", "1", "-B",
                   "--loglevel", "INFO", "-s", str(settings.DATA_DIR / "celerybeat-schedule")]
        # SIGTERM is a cold shutdown here: a warm one waits for the judgment in progress (minutes with the
        # CPU judge), and the demo must stop now; the interrupted matches are judged again after a restart.
        return subprocess.Popen(command, env={**os.environ, "REMAP_SIGTERM": "SIGQUIT"})

    def _web(self, host: str, port: int) -> subprocess.Popen:
        command = [sys.executable, "-m", "gunicorn", "arena.wsgi", "-b", f"{host}:{port}", "-w", "2",
                   "--access-logfile", "-"]
        return subprocess.Popen(command, env=os.environ.copy())

    def _wait(self, processes: list[subprocess.Popen], stopping: list[int]) -> None:
        """Run until a child exits or we are told to stop (Ctrl-C, or SIGTERM from a service manager
        or `kill`), then stop the children too: never leave a worker or a web server orphaned."""
        try:
            while not stopping and all(p.poll() is None for p in processes):
                time.sleep(0.2)
        finally:
            for process in processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
