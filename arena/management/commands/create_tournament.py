from django.core.management.base import BaseCommand, CommandError

from arena.models import Competitor, Dataset, JudgeConfig, Tournament
from arena.tasks import enqueue_pending
from arena.tournaments import TournamentError, create_tournament


class Command(BaseCommand):
    help = "Create a tournament and queue its first matches for judging."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--judge", default="default", help="judge configuration name (latest version)")
        parser.add_argument("--schedule", default="anchor", choices=Tournament.Schedule.values)
        parser.add_argument("--anchor", default="", help="anchor model (anchor schedule)")
        parser.add_argument("--models", default="", help="comma-separated models; default: all")
        parser.add_argument("--dataset", default="", help="only this dataset's prompts")
        parser.add_argument("--category", default="", help="only prompts of this category")

    def handle(self, *args, name: str, judge: str, schedule: str, anchor: str, models: str, dataset: str,
               category: str, **options):
        config = JudgeConfig.objects.filter(name=judge).order_by("-version").first()
        if config is None:
            raise CommandError(f"no judge configuration named {judge!r}")
        try:
            tournament = create_tournament(
                name=name, judge_config=config, competitors=_competitors(models), schedule=schedule,
                anchor=_one(Competitor, anchor, "model") if anchor else None,
                dataset=_one(Dataset, dataset, "dataset") if dataset else None, category=category,
            )
        except TournamentError as exc:
            raise CommandError(str(exc)) from None
        enqueue_pending(tournament=tournament)
        self.stdout.write(f"tournament {tournament.name!r}: {tournament.matches.count()} match(es) queued")


def _competitors(models: str) -> list[Competitor]:
    if not models:
        return list(Competitor.objects.all())
    names = [n.strip() for n in models.split(",") if n.strip()]
    found = list(Competitor.objects.filter(name__in=names))
    missing = sorted(set(names) - {c.name for c in found})
    if missing:
        raise CommandError(f"unknown model(s): {', '.join(missing)}")
    return found


def _one(model, name: str, what: str):
    found = model.objects.filter(name=name).first()
    if found is None:
        raise CommandError(f"unknown {what} {name!r}")
    return found
