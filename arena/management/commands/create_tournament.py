from django.core.management.base import BaseCommand, CommandError

from arena import lifecycle
from arena.models import Competitor, Tournament
from arena.tasks import enqueue_pending
from arena.tournaments import TournamentError


class Command(BaseCommand):
    help = "Create a tournament and queue its first matches for judging (validated like POST /api/v1/tournaments)."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--judge", default="default", help="judge configuration name (latest version) or id")
        parser.add_argument("--schedule", default="anchor",
                            choices=sorted(set(Tournament.Schedule.values) | set(lifecycle.SCHEDULE_NAMES)))
        parser.add_argument("--anchor", default="", help="anchor model (anchor schedule; default: the suggestion)")
        parser.add_argument("--models", default="", help="comma-separated models; default: all with outputs")
        parser.add_argument("--dataset", default="", help="only this dataset's prompts")
        parser.add_argument("--category", default="", help="only prompts of this category")
        parser.add_argument("--draft", action="store_true", help="only estimate; keep it a draft")

    def handle(self, *args, name: str, judge: str, schedule: str, anchor: str, models: str, dataset: str,
               category: str, draft: bool, **options):
        names = [n.strip() for n in models.split(",") if n.strip()] or list(
            Competitor.objects.answering(dataset=dataset, category=category).values_list("name", flat=True))
        try:
            tournament, estimate = lifecycle.open_tournament(
                name=name, schedule=schedule, models=names, judge=judge, anchor=anchor, start=not draft,
                prompts=lifecycle.PromptSelection(dataset=dataset, category=category))
        except TournamentError as exc:
            raise CommandError(str(exc)) from None
        enqueue_pending(tournament=tournament)
        self.stdout.write(f"tournament {tournament.name!r} ({tournament.status}): "
                          f"{tournament.matches.count()} match(es) queued; estimate {estimate.as_dict()}")

