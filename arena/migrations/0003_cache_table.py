"""Create the database cache table, so that ``migrate`` alone gives a working site without Redis.

With Redis configured ``createcachetable`` has nothing to do.
"""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("arena", "0002_default_judge")]
    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
