from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from arena.models import ApiToken


class Command(BaseCommand):
    help = "Print a new API token for USERNAME (the user is created if missing)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="a label for the token")

    def handle(self, *args, username: str, name: str, **options):
        user, _ = get_user_model().objects.get_or_create(username=username)
        _, token = ApiToken.issue(user=user, name=name)
        self.stdout.write(token)
