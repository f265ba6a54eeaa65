from django.db import migrations, models
from django.db.models import F, Q

# Existing tokens get the default scopes (read, upload): uploads keep working, and nothing else is
# assumed. A token that created or controlled tournaments before scopes existed proves nothing (any
# token could), so it does not get ``run`` for it; only the tokens of active staff users get ``run``,
# as staff could already do all of that on the pages. Nobody gets ``admin`` (judge configurations,
# which can send requests with a key): an operator grants it in the admin, knowingly.
DEFAULT_SCOPES = "read,upload"
STAFF_SCOPES = "read,upload,run"
# Errors stored before their public summary existed may quote a remote endpoint's answer.
SCRUBBED = "JudgeError: the judge failed (stored before error summaries; staff can see the full message)"


def scopes_and_scrubbed_errors(apps, schema_editor):
    ApiToken = apps.get_model("arena", "ApiToken")
    ApiToken.objects.filter(user__is_staff=True, user__is_active=True).update(scopes=STAFF_SCOPES)
    Match = apps.get_model("arena", "Match")
    Match.objects.exclude(last_error="").update(error_detail=F("last_error"), last_error=SCRUBBED)
    Judgment = apps.get_model("arena", "Judgment")
    with_errors = Judgment.objects.filter(Q(forward__has_key="error") | Q(backward__has_key="error"))
    for judgment in with_errors.iterator():
        for order in ("forward", "backward"):
            verdict = getattr(judgment, order)
            if isinstance(verdict, dict) and "error" in verdict:
                verdict["error"] = SCRUBBED
        judgment.save(update_fields=["forward", "backward"])


class Migration(migrations.Migration):

    dependencies = [
        ("arena", "0007_human_voting"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="apitoken",
            options={"permissions": [
                ("scope_upload", "Can upload prompts, outputs and battles"),
                ("scope_run", "Can create and control tournaments"),
                ("scope_admin", "Can manage judge configurations and rubrics and see their endpoints"),
            ]},
        ),
        migrations.AddField(
            model_name="apitoken",
            name="scopes",
            field=models.CharField(default=DEFAULT_SCOPES, max_length=100),
        ),
        migrations.AddField(
            model_name="match",
            name="error_detail",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.RunPython(scopes_and_scrubbed_errors, migrations.RunPython.noop),
    ]
