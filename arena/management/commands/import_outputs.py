from arena import ingest

from ._importing import ImportCommand


class Command(ImportCommand):
    help = "Import outputs from a JSON or JSON Lines file, exactly as POST /api/v1/outputs does."
    importer = staticmethod(ingest.import_outputs)
