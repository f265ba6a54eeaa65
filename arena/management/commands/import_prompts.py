from arena import ingest

from ._importing import ImportCommand


class Command(ImportCommand):
    help = "Import prompts from a JSON or JSON Lines file, exactly as POST /api/v1/prompts does."
    importer = staticmethod(ingest.import_prompts)
