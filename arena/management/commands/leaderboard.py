import json

from django.core.management.base import BaseCommand, CommandError

from arena import leaderboards, ratings, spreadsheets

COLUMNS = ["rank", "rank_ub", "model", "rating", "ci_low", "ci_high", "battles", "win_rate_vs_anchor",
           "predicted_win_rate_vs_anchor", "component", "wins", "losses", "ties", "open_low", "open_high"]


class Command(BaseCommand):
    help = "Print a leaderboard, the same one GET /api/v1/leaderboard returns."

    def add_arguments(self, parser):
        parser.add_argument("--source", default="all")
        parser.add_argument("--category", default="")
        parser.add_argument("--tournament", default="")
        parser.add_argument("--method", default="bt", choices=["bt", "elo"])
        parser.add_argument("--anchor", default="")
        parser.add_argument("--style-control", action="store_true")
        parser.add_argument("--judge", default="")
        parser.add_argument("--prior", type=int, default=0, help="virtual ties per pair that met (0 = off)")
        parser.add_argument("--format", default="table", choices=["table", "json", "csv"])

    def handle(self, *args, format: str, **options):
        fields = {k: options[k] for k in ("source", "category", "tournament", "method", "anchor", "style_control",
                                          "judge", "prior")}
        try:
            board = leaderboards.get_leaderboard(leaderboards.LeaderboardQuery(**fields))
        except (leaderboards.LeaderboardError, ratings.RatingError) as exc:
            raise CommandError(str(exc)) from None
        if format == "json":
            self.stdout.write(json.dumps(board, indent=2))
        elif format == "csv":
            spreadsheets.write_dicts(self.stdout, COLUMNS, board["models"])
        else:
            self._table(board)

    def _table(self, board: dict) -> None:
        self.stdout.write(f"method={board['method']} anchor={board['anchor']} battles={board['battles']} "
                          f"computed_at={board['computed_at']}")
        if len(board["components"]) > 1:
            self.stdout.write(f"{len(board['components'])} groups of models never met: ratings compare only "
                              "inside a group (column 'grp')")
        self.stdout.write(f"{'grp':>3} {'rank':>4} {'ub':>3}  {'model':<32} {'rating':>8} {'95% CI':>19} "
                          f"{'battles':>8} {'win%':>6} {'pred%':>6}")
        for row in board["models"]:
            self.stdout.write(
                f"{row['component'] + 1:>3} {row['rank']:>4} {row['rank_ub']:>3}  {row['model']:<32} "
                f"{leaderboards.rating_text(row):>8} {leaderboards.interval_text(row):>19} {row['battles']:>8} "
                f"{_pct(row['win_rate_vs_anchor'])} {_pct(row['predicted_win_rate_vs_anchor'])}"
            )


def _pct(value) -> str:
    return f"{100 * value:>6.1f}" if value is not None else f"{'-':>6}"
