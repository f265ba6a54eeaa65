"""Every model in the admin, with the filters and searches people reach for."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from . import lifecycle
from . import models as m
from .judge_configs import JudgeConfigError, check_spec
from .lifecycle import parse_budget
from .scopes import RUN, SCOPES, user_may
from .tasks import enqueue_pending
from .tournaments import TournamentError


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


class JudgeConfigForm(forms.ModelForm):
    """The admin's configurations pass the same checks as the API's and the command's: a spec that
    would fail in a worker, or reach for a variable or host the operator does not allow, is refused."""

    class Meta:
        model = m.JudgeConfig
        fields = "__all__"

    def _post_clean(self) -> None:
        super()._post_clean()
        if self.errors:
            return
        try:
            check_spec(self.instance)
        except JudgeConfigError as exc:
            self.add_error("params", str(exc))


@admin.register(m.JudgeConfig)
class JudgeConfigAdmin(admin.ModelAdmin):
    form = JudgeConfigForm
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


class TournamentForm(forms.ModelForm):
    def clean_budget(self) -> dict:
        try:
            return parse_budget(self.cleaned_data["budget"])
        except TournamentError as exc:
            raise ValidationError(str(exc)) from None


@admin.register(m.Tournament)
class TournamentAdmin(admin.ModelAdmin):
    """The state changes only through the actions, which are the front door's verbs (``lifecycle``):
    the status is read-only here, and so is what a started tournament was laid out from."""

    form = TournamentForm
    list_display = ["name", "schedule", "judge_config", "status", "created_at"]
    list_filter = ["schedule", "status", "judge_config"]
    search_fields = ["name", "description"]
    filter_horizontal = ["competitors"]
    actions = ["schedule_matches", "pause_tournaments", "resume_tournaments", "cancel_tournaments",
               "retry_failed_matches"]

    def has_run_permission(self, request) -> bool:
        # The admin's tournament actions are the pages' and the API's "run" actions: same permission.
        return user_may(request.user, RUN)

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        fixed = ["status", "plan", "finished_at"]
        if obj is not None and obj.status != m.Tournament.Status.DRAFT:
            fixed += ["judge_config", "schedule", "anchor", "dataset", "category", "competitors"]
        return fixed

    def _act(self, request, queryset, verb, done: str) -> None:
        """``verb`` on each selected tournament; a refusal is shown and the others still go ahead."""
        acted = 0
        for tournament in queryset:
            try:
                verb(tournament=tournament)
            except TournamentError as exc:
                messages.error(request, str(exc))
                continue
            acted += 1
            enqueue_pending(tournament=tournament)
        if acted:
            messages.success(request, f"{acted} tournament(s) {done}.")

    @admin.action(description="Start (schedule matches and queue them for judging)", permissions=["run"])
    def schedule_matches(self, request, queryset):
        self._act(request, queryset, lifecycle.start, "started")

    @admin.action(description="Pause", permissions=["run"])
    def pause_tournaments(self, request, queryset):
        self._act(request, queryset, lifecycle.pause, "paused")

    @admin.action(description="Resume", permissions=["run"])
    def resume_tournaments(self, request, queryset):
        self._act(request, queryset, lifecycle.resume, "resumed")

    @admin.action(description="Cancel", permissions=["run"])
    def cancel_tournaments(self, request, queryset):
        self._act(request, queryset, lifecycle.cancel, "cancelled")

    @admin.action(description="Re-run failed matches", permissions=["run"])
    def retry_failed_matches(self, request, queryset):
        self._act(request, queryset, lifecycle.retry_failed, "with failed matches queued again")


@admin.register(m.Match)
class MatchAdmin(ResultAdmin):
    list_display = ["id", "tournament", "prompt", "competitor_a", "competitor_b", "round", "status", "attempts"]
    list_filter = ["status", "tournament", "round"]
    search_fields = ["prompt__external_id", "competitor_a__name", "competitor_b__name"]
    list_select_related = ["tournament", "prompt", "competitor_a", "competitor_b"]
    raw_id_fields = ["prompt", "output_a", "output_b"]
    # error_detail is the judge's full message (it can quote a remote endpoint's answer): staff only,
    # here; last_error is the public summary the API and pages show.
    fields = ["tournament", "prompt", "competitor_a", "competitor_b", "output_a", "output_b", "round", "bracket",
              "status", "attempts", "last_error", "error_detail", "claimed_at", "enqueued_at"]


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


class ApiTokenForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=[(scope, f"{scope}: {meaning}") for scope, meaning in SCOPES.items()],
        widget=forms.CheckboxSelectMultiple, initial=["read", "upload"],
        help_text="What the token may do; see the README's table of actions and scopes.")

    class Meta:
        model = m.ApiToken
        fields = ["user", "name", "scopes"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["scopes"] = self.instance.scope_list

    def clean_scopes(self) -> str:
        chosen = self.cleaned_data["scopes"]
        return ",".join(scope for scope in SCOPES if scope in chosen)


@admin.register(m.ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    form = ApiTokenForm
    list_display = ["prefix", "user", "name", "scopes", "created_at", "last_used_at"]
    list_filter = ["scopes"]
    search_fields = ["user__username", "name", "prefix"]
    readonly_fields = ["prefix", "created_at", "last_used_at"]
    fields = ["user", "name", "scopes", "prefix", "created_at", "last_used_at"]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        row, token = m.ApiToken.issue(user=obj.user, name=obj.name, scopes=obj.scope_list)
        obj.pk = row.pk
        messages.warning(request, f"New API token (shown only once): {token}")
