from django.core.management.base import BaseCommand, CommandError

from arena.anchors import SCREEN_PROMPTS, screen_anchors
from arena.tasks import enqueue_pending
from arena.tournaments import TournamentError


class Command(BaseCommand):
    help = ("Screen every model as the anchor on a few prompts (one small anchor tournament each) and print the "
            "cost first; --start runs them. The tournament form's anchor suggestion then uses the most "
            "informative anchor.")

    def add_arguments(self, parser):
        parser.add_argument("--models", required=True, help="comma-separated models (every one is a candidate)")
        parser.add_argument("--judge", default="default", help="judge configuration name (latest version) or id")
        parser.add_argument("--prompts", type=int, default=SCREEN_PROMPTS, help="prompts per screen (default 10)")
        parser.add_argument("--dataset", default="", help="sample prompts of this dataset only")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--start", action="store_true", help="run the screens (default: drafts, cost only)")

    def handle(self, *args, models: str, judge: str, prompts: int, dataset: str, seed: int, start: bool, **options):
        names = [n.strip() for n in models.split(",") if n.strip()]
        try:
            opened = screen_anchors(models=names, judge=judge, prompts=prompts, dataset=dataset, seed=seed,
                                    start=start)
        except TournamentError as exc:
            raise CommandError(str(exc)) from None
        for tournament, estimate in opened:
            if start:
                enqueue_pending(tournament=tournament)
            self.stdout.write(f"{tournament.name}: {estimate.matches} matches, {estimate.judge_calls} judge calls, "
                              f"${estimate.usd:.4f} ({tournament.status})")
        total = sum(e.judge_calls for _, e in opened)
        self.stdout.write(f"{len(opened)} screens, {total} judge calls in all")
