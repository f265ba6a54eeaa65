from django.core.management.base import BaseCommand, CommandError

from arena import lifecycle
from arena.models import Tournament
from arena.tasks import enqueue_pending
from arena.tournaments import TournamentError


class Command(BaseCommand):
    help = ("Re-run a tournament's failed matches (--failed), or judge all its matches again under another "
            "judge configuration (--judge NAME) without new outputs.")

    def add_arguments(self, parser):
        parser.add_argument("tournament", help="tournament name or id")
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--failed", action="store_true", help="re-queue the failed matches")
        group.add_argument("--judge", help="judge configuration name (latest version) or id")

    def handle(self, *args, tournament: str, failed: bool, judge: str | None, **options):
        found = Tournament.objects.by_name_or_id(tournament)
        if found is None:
            raise CommandError(f"no tournament named {tournament!r}")
        try:
            if failed:
                count = lifecycle.retry_failed(tournament=found)
            else:
                found = lifecycle.rejudge(tournament=found, judge=judge)
                count = found.matches.count()
        except TournamentError as exc:
            raise CommandError(str(exc)) from None
        enqueue_pending(tournament=found)
        self.stdout.write(f"{count} failed match(es) queued again" if failed
                          else f"tournament {found.name!r}: {count} match(es) queued")
