from django.core.management.base import BaseCommand, CommandError

from arena.models import JudgeConfig, Tournament
from arena.tasks import enqueue_pending
from arena.tournaments import TournamentError, rejudge, retry_failed


class Command(BaseCommand):
    help = ("Re-run a tournament's failed matches (--failed), or judge all its matches again under another "
            "judge configuration (--judge NAME) without new outputs.")

    def add_arguments(self, parser):
        parser.add_argument("tournament", help="tournament name or id")
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--failed", action="store_true", help="re-queue the failed matches")
        group.add_argument("--judge", help="judge configuration name (latest version) or id")

    def handle(self, *args, tournament: str, failed: bool, judge: str | None, **options):
        found = _get(Tournament.objects, tournament, "tournament")
        if failed:
            count = retry_failed(tournament=found)
            enqueue_pending(tournament=found)
            self.stdout.write(f"{count} failed match(es) queued again")
            return
        config = _get(JudgeConfig.objects.order_by("-version"), judge, "judge configuration")
        try:
            copy = rejudge(tournament=found, judge_config=config)
        except TournamentError as exc:
            raise CommandError(str(exc)) from None
        enqueue_pending(tournament=copy)
        self.stdout.write(f"tournament {copy.name!r}: {copy.matches.count()} match(es) queued")


def _get(queryset, value: str, what: str):
    found = queryset.filter(pk=int(value)).first() if value.isdigit() else queryset.filter(name=value).first()
    if found is None:
        raise CommandError(f"no {what} named {value!r}")
    return found
