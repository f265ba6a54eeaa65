"""Shared body of the import_* commands: the same code path as the REST API."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from arena.uploads import UploadError


class ImportCommand(BaseCommand):
    what = "rows"
    importer = None  # set by subclasses: one of arena.ingest.import_*

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="a JSON array or a JSON Lines file (.jsonl/.ndjson)")
        parser.add_argument("--replace", action="store_true", help="overwrite rows whose content changed")

    def handle(self, *args, file: Path, replace: bool, **options):
        if not file.is_file():
            raise CommandError(f"no such file: {file}")
        jsonl = file.suffix.lower() in {".jsonl", ".ndjson"}
        try:
            with file.open("rb") as stream:
                result = type(self).importer(stream=stream, jsonl=jsonl, replace=replace)
        except UploadError as exc:
            raise CommandError(json.dumps(exc.as_dict(), indent=2)) from None
        self.stdout.write(json.dumps(result.as_dict()))
