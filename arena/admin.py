"""Every model in the admin, with the filters and searches people reach for."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from . import models as m
from .tasks import enqueue_pending
from .tournaments import TournamentError, retry_failed, schedule_round


class ResultAdmin(admin.ModelAdmin):
    """Stored results are evidence: viewable, never added or edited here (corrections go through
    re-judging or a new vote), so a leaderboard never rests on a silently changed row. Deleting
    stays possible, as a removal that leaves no altered row behind (and so that deleting a
    tournament or a competitor can take its results with it)."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(m.Competitor)
class CompetitorAdmin(admin.ModelAdmin):
    list_display = ["name", "family", "created_at"]
    list_filter = ["family"]
    search_fields = ["name", "description", "family"]
    date_hierarchy = "created_at"


@admin.register(m.Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]


@admin.register(m.Prompt)
class PromptAdmin(admin.ModelAdmin):
    list_display = ["external_id", "dataset", "category", "created_at"]
    list_filter = ["dataset", "category"]
    search_fields = ["external_id", "turns"]
    list_select_related = ["dataset"]


@admin.register(m.Output)
class OutputAdmin(admin.ModelAdmin):
    list_display = ["competitor", "prompt", "char_count", "token_count", "updated_at"]
    list_filter = ["competitor", "prompt__dataset", "prompt__category"]
    search_fields = ["competitor__name", "prompt__external_id"]
    list_select_related = ["competitor", "prompt"]
    raw_id_fields = ["prompt"]


@admin.register(m.Rubric)
class RubricAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "created_at"]
    search_fields = ["name", "description"]


@admin.register(m.JudgeConfig)
class JudgeConfigAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "backend", "model", "protocol", "prompt_style", "both_orders", "family"]
    list_filter = ["backend", "protocol", "prompt_style", "both_orders"]
    search_fields = ["name", "model", "notes"]

    def save_model(self, request, obj, form, change):
        # A judge configuration that has judged something is history: an edit becomes a new version.
        try:
            super().save_model(request, obj, form, change)
        except ValidationError:
            obj.pk = None
            obj.version = obj.next_version_number()
            super().save_model(request, obj, form, change)
            messages.info(request, f"{obj.name} was in use, so the change was saved as version {obj.version}.")


@admin.register(m.JudgeEvaluation)
class JudgeEvaluationAdmin(admin.ModelAdmin):
    list_display = ["judge_config", "source", "created_at"]
    list_filter = ["judge_config"]


@admin.register(m.Tournament)
class TournamentAdmin(admin.ModelAdmin):
    list_display = ["name", "schedule", "judge_config", "status", "created_at"]
    list_filter = ["schedule", "status", "judge_config"]
    search_fields = ["name", "description"]
    filter_horizontal = ["competitors"]
    actions = ["schedule_matches", "retry_failed_matches"]

    @admin.action(description="Schedule matches and queue them for judging")
    def schedule_matches(self, request, queryset):
        made = 0
        for tournament in queryset:
            try:
                made += schedule_round(tournament=tournament)
            except TournamentError as exc:
                messages.error(request, str(exc))
                continue
            enqueue_pending(tournament=tournament)
        messages.success(request, f"{made} match(es) queued.")

    @admin.action(description="Re-run failed matches")
    def retry_failed_matches(self, request, queryset):
        made = 0
        for tournament in queryset:
            made += retry_failed(tournament=tournament)
            enqueue_pending(tournament=tournament)
        messages.success(request, f"{made} failed match(es) queued again.")


@admin.register(m.Match)
class MatchAdmin(ResultAdmin):
    list_display = ["id", "tournament", "prompt", "competitor_a", "competitor_b", "round", "status", "attempts"]
    list_filter = ["status", "tournament", "round"]
    search_fields = ["prompt__external_id", "competitor_a__name", "competitor_b__name"]
    list_select_related = ["tournament", "prompt", "competitor_a", "competitor_b"]
    raw_id_fields = ["prompt", "output_a", "output_b"]


@admin.register(m.Judgment)
class JudgmentAdmin(ResultAdmin):
    list_display = ["match", "judge_config", "winner", "prob_a", "label", "consistent", "cost_usd", "created_at"]
    list_filter = ["winner", "consistent", "judge_config", "truncated"]
    search_fields = ["match__prompt__external_id"]
    raw_id_fields = ["match"]


@admin.register(m.JudgeCacheEntry)
class JudgeCacheEntryAdmin(admin.ModelAdmin):
    list_display = ["fingerprint", "key", "created_at"]
    search_fields = ["fingerprint", "key"]


@admin.register(m.HumanVote)
class HumanVoteAdmin(ResultAdmin):
    list_display = ["prompt", "winner", "user", "created_at"]
    list_filter = ["winner"]
    search_fields = ["prompt__external_id", "user__username"]
    raw_id_fields = ["prompt", "output_a", "output_b", "ticket"]
    readonly_fields = ["session_key", "external_id"]


@admin.register(m.ImportedBattle)
class ImportedBattleAdmin(admin.ModelAdmin):
    list_display = ["external_id", "model_a", "model_b", "winner", "score_a", "source", "weight"]
    list_filter = ["source", "winner"]
    search_fields = ["external_id", "model_a__name", "model_b__name"]
    list_select_related = ["model_a", "model_b"]
    raw_id_fields = ["prompt"]


@admin.register(m.LeaderboardSnapshot)
class LeaderboardSnapshotAdmin(admin.ModelAdmin):
    list_display = ["key", "battles", "stale", "computed_at"]
    list_filter = ["stale"]
    search_fields = ["key"]


@admin.register(m.ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "user", "name", "created_at", "last_used_at"]
    search_fields = ["user__username", "name", "prefix"]
    readonly_fields = ["prefix", "created_at", "last_used_at"]
    fields = ["user", "name", "prefix", "created_at", "last_used_at"]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        row, token = m.ApiToken.issue(user=obj.user, name=obj.name)
        obj.pk = row.pk
        messages.warning(request, f"New API token (shown only once): {token}")
