import json

from django.core.management.base import BaseCommand

from arena.demo import load_demo_data


class Command(BaseCommand):
    help = "Load the demo dataset (a trimmed MT-bench) through the same path as the upload API."

    def handle(self, *args, **options):
        self.stdout.write(json.dumps(load_demo_data()))
