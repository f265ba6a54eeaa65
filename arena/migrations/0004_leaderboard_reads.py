import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("arena", "0003_cache_table"),
    ]

    operations = [
        migrations.AddField(
            model_name="leaderboardsnapshot",
            name="marked_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="leaderboardsnapshot",
            name="read_at",
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now),
        ),
    ]
