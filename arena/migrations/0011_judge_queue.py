import arena.models
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("arena", "0010_safe_names_one_ticket"),
    ]

    operations = [
        migrations.AddField(
            model_name="judgeconfig",
            name="queue",
            field=models.CharField(
                default="judge",
                help_text="Celery queue its matches go to: run one GPU worker per judge model with -Q judge.<name>.",
                max_length=100,
                validators=[arena.models.validate_queue_name],
            ),
        ),
    ]
