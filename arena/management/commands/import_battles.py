from arena import ingest

from ._importing import ImportCommand


class Command(ImportCommand):
    help = "Import battles from a JSON or JSON Lines file, exactly as POST /api/v1/battles does."
    importer = staticmethod(ingest.import_battles)
