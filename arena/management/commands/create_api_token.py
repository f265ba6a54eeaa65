from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from arena.models import ApiToken
from arena.scopes import DEFAULT_SCOPES, SCOPES, ScopeError, parse_scopes


class Command(BaseCommand):
    help = "Print a new API token for USERNAME (the user is created if missing)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="a label for the token")
        parser.add_argument("--scope", default=",".join(DEFAULT_SCOPES),
                            help=f"comma-separated scopes: {', '.join(SCOPES)} (default: %(default)s)")

    def handle(self, *args, username: str, name: str, scope: str, **options):
        try:
            scopes = parse_scopes(scope)
        except ScopeError as exc:
            raise CommandError(str(exc)) from None
        user, _ = get_user_model().objects.get_or_create(username=username)
        _, token = ApiToken.issue(user=user, name=name, scopes=scopes)
        self.stdout.write(token)
