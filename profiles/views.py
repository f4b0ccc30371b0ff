"""Web screens of the profiles app: the agent's context card and the steward's queue.

Reads go through ``profiles.selectors`` (``customer_list`` decides who sees
whom: an invisible customer is a 404, never a 403), writes through
``profiles.services``. The card renders its fixed sections in one request;
the timeline, consent and next best action panels are htmx fragments with
their own endpoints, each usable without JavaScript as a page of its own.
The issue's budget, "at most 12 SQL queries whatever the history length",
holds for the page and for each of its panel requests alike, counted as the
test client sees them (session and user look-ups and the session save
included, BEGIN/COMMIT not): card 11, timeline 10, next best actions 11,
consent 12 (consent.views, through ``consent.selectors.consent_overview``),
asserted exactly in tests/profiles/test_views_card.py for short and long
histories.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from consent.models import Channel
from customer360.choices import ActorChannel
from customer360.services import Actor
from governance.choices import CardSection
from governance.models import Lens, Silo
from governance.selectors import lens_for, lens_project

from .choices import InteractionKind
from .forms import InteractionLogForm, ReviewDecisionForm, UnmergeForm
from .identity.review import review_queue
from .insights.flags import action_conflicts_for
from .insights.nba import nba_respond, next_best_actions
from .models import Customer, MatchCandidate, MergeEvent, SourceRecord
from .selectors import (
    LENS_ATTRIBUTES,
    customer_activity,
    customer_flags,
    customer_holdings,
    customer_lens_data,
    customer_list,
    customer_people,
    customer_timeline,
)
from .services import candidate_decide, customer_unmerge, interaction_log

DEFAULT_LENS = "service-call"


def web_actor(request: HttpRequest) -> Actor:
    """The signed-in person acting through a screen."""
    return Actor(user=request.user, channel=ActorChannel.WEB)  # type: ignore[arg-type]


def lens_code(request: HttpRequest) -> str:
    """The purpose of the call: ``?lens=``, else the one chosen last, else the default.

    Kept in the session (which is saved on every request anyway, for the idle
    timeout), so every panel of one card shows the same purpose.
    """
    code = request.GET.get("lens") or request.POST.get("lens") or ""
    if code:
        request.session["lens"] = code[:60]
        return code[:60]
    return str(request.session.get("lens", DEFAULT_LENS))


def visible_customer(request: HttpRequest, number: str, **related: Any) -> Customer:
    """The surviving customer ``number`` if the user may see it; 404 otherwise.

    A number merged away raises ``MergedAway`` so the view can redirect to the
    survivor (when that one is visible).
    """
    customers: QuerySet[Customer] = customer_list(user=request.user)
    if related.get("select_related"):
        customers = customers.select_related(*related["select_related"])
    customer = customers.filter(customer_number=number.upper()).first()
    if customer is None:
        from .selectors import customer_get_by_number

        survivor = customer_get_by_number(number)
        if (
            survivor is not None
            and survivor.customer_number != number.upper()
            and customer_list(user=request.user).filter(pk=survivor.pk).exists()
        ):
            raise MergedAway(survivor.customer_number)
        raise Http404("No such customer.")
    return customer


class MergedAway(Exception):
    """The number was merged into ``survivor``."""

    def __init__(self, survivor: str) -> None:
        super().__init__(survivor)
        self.survivor = survivor


def _lens_or_403(request: HttpRequest) -> Lens:
    return lens_for(lens_code=lens_code(request), user=request.user)


def _page(request: HttpRequest, partial: str, context: dict[str, Any], title: str) -> HttpResponse:
    """An htmx request gets the fragment; a plain one gets it inside a full page."""
    if getattr(request, "htmx", False):
        return render(request, partial, context)
    return render(
        request, "profiles/panel_page.html", {**context, "partial": partial, "title": title}
    )


@login_required
def customer_card(request: HttpRequest, number: str) -> HttpResponse:
    """The context card: what this purpose needs of this customer, and nothing more."""
    try:
        customer = visible_customer(request, number, select_related=["preferred_channel"])
    except MergedAway as moved:
        return redirect("profiles:card", number=moved.survivor)
    lens = _lens_or_403(request)
    identity = customer_lens_data(customer)
    identity["preferred_channel"] = (
        customer.preferred_channel.name if customer.preferred_channel else ""
    )
    channel = None
    if lens.purpose.requires_consent:
        # A purpose that needs consent is checked for the channel of the call.
        channel = Channel.objects.filter(code="phone").first()
    view = lens_project(lens=lens, data=identity, customer=customer, channel=channel)
    sections = set(view.sections)
    context: dict[str, Any] = {
        "customer": customer,
        "lens": lens,
        "view": view,
        "fields": view.fields,
        "age_band": customer.age_band() if "date_of_birth" in view.fields else "",
        "sections": sections,
        "S": CardSection,
    }
    if CardSection.RELATIONSHIPS in sections:
        context["household"], context["people"] = customer_people(customer=customer)
    if CardSection.ACTIVITY in sections:
        context["activity"] = customer_activity(customer=customer)
    if CardSection.VALUE in sections:
        holdings = customer_holdings(customer=customer)
        active = [h for h in holdings if h.status == "active"]
        context["holdings"] = holdings
        context["annual_value"] = sum((h.annual_value for h in active), start=0)
        context["customer_since"] = min((h.start_date for h in holdings), default=None)
    if CardSection.FLAGS in sections:
        context["flags"] = customer_flags(customer=customer)
    return render(request, "profiles/card.html", context)


@login_required
def customer_timeline_panel(request: HttpRequest, number: str) -> HttpResponse:
    """One page of the timeline, filtered by silo, channel and kind (htmx fragment)."""
    try:
        customer = visible_customer(request, number)
    except MergedAway as moved:
        return redirect("profiles:timeline", number=moved.survivor)
    lens = _lens_or_403(request)
    if CardSection.TIMELINE not in (lens.sections or []):
        raise Http404("This purpose does not show the timeline.")
    silo = request.GET.get("silo", "")[:40]
    channel = request.GET.get("channel", "")[:40]
    kind = request.GET.get("kind", "")[:20]
    try:
        page = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page = 1
    entries, has_next = customer_timeline(
        customer=customer, silo=silo, channel=channel, kind=kind, page=page
    )
    context = {
        "customer": customer,
        "entries": entries,
        "has_next": has_next,
        "page": page,
        "filters": {"silo": silo, "channel": channel, "kind": kind},
        "silos": Silo.objects.filter(is_active=True).order_by("name").values_list("code", "name"),
        "channels": Channel.objects.order_by("name").values_list("code", "name"),
        "kinds": InteractionKind.choices,
    }
    return _page(request, "profiles/_timeline.html", context, "Timeline")


@login_required
@require_http_methods(["GET", "POST"])
def interaction_new(request: HttpRequest, number: str) -> HttpResponse:
    """Log a contact from the card; htmx swaps the form and refreshes the timeline."""
    try:
        customer = visible_customer(request, number)
    except MergedAway as moved:
        return redirect("profiles:interaction-new", number=moved.survivor)
    if not request.user.has_perm("profiles.add_interaction"):
        raise Http404("No such screen.")
    saved = None
    if request.method == "POST":
        form = InteractionLogForm(request.POST, auto_id="log_%s")
        if form.is_valid():
            data = form.cleaned_data
            try:
                saved = interaction_log(
                    customer=customer,
                    silo=data["silo"],
                    channel=data["channel"],
                    kind=data["kind"],
                    direction=data["direction"],
                    outcome=data["outcome"],
                    sentiment=form.sentiment(),
                    summary=data["note"],
                    follow_up_kind=data["follow_up_kind"],
                    follow_up_subject=data["follow_up_subject"],
                    actor=web_actor(request),
                    reason="Logged by the agent during the contact",
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                if not getattr(request, "htmx", False):
                    messages.success(request, "Interaction logged.")
                    return redirect("profiles:card", number=customer.customer_number)
                form = InteractionLogForm(initial=_interaction_initial(), auto_id="log_%s")
        status = 200 if form.is_valid() or saved else 400
    else:
        form = InteractionLogForm(initial=_interaction_initial(), auto_id="log_%s")
        status = 200
    response = _page(
        request,
        "profiles/_interaction_form.html",
        {"customer": customer, "form": form, "saved": saved},
        "Log an interaction",
    )
    response.status_code = status
    if saved is not None:
        response["HX-Trigger"] = "timeline-changed"
    return response


def _interaction_initial() -> dict[str, str]:
    return {"channel": "phone", "silo": "service", "direction": "inbound"}


# --- data steward -----------------------------------------------------------------


@login_required
@permission_required("profiles.change_matchcandidate", raise_exception=True)
def review_list(request: HttpRequest) -> HttpResponse:
    """Open candidate pairs, pending before deferred, most probable first."""
    candidates = list(review_queue()[:50])
    return render(request, "profiles/review_list.html", {"candidates": candidates})


@login_required
@permission_required("profiles.change_matchcandidate", raise_exception=True)
@require_http_methods(["GET", "POST"])
def review_pair(request: HttpRequest, pk: int) -> HttpResponse:
    """Two customers side by side with the per-field match explanation; decide."""
    candidate = get_object_or_404(
        MatchCandidate.objects.select_related("customer_a", "customer_b"), pk=pk
    )
    form = ReviewDecisionForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                decided = candidate_decide(
                    candidate=candidate,
                    decision=form.cleaned_data["decision"],
                    actor=web_actor(request),
                    reason=form.cleaned_data["reason"],
                )
            except ValidationError as error:
                form.add_error(None, error)
                status = 400
            else:
                messages.success(request, f"Decision recorded: {decided.get_status_display()}.")
                if decided.status == "merged":
                    return redirect("profiles:lineage", number=decided.customer_a.customer_number)
                return redirect("profiles:review")
        else:
            status = 400
    fields = sorted(
        {
            name
            for c in (candidate.customer_a, candidate.customer_b)
            for name in LENS_ATTRIBUTES
            if getattr(c, name)
        }
    )
    rows = [
        (name, getattr(candidate.customer_a, name), getattr(candidate.customer_b, name))
        for name in fields
    ]
    response = render(
        request,
        "profiles/review_pair.html",
        {"candidate": candidate, "rows": rows, "form": form},
    )
    response.status_code = status
    return response


@login_required
@permission_required("profiles.change_matchcandidate", raise_exception=True)
def customer_lineage(request: HttpRequest, number: str) -> HttpResponse:
    """Where each golden value came from, and the merges the customer survived (Unmerge)."""
    customer = get_object_or_404(customer_list(user=request.user), customer_number=number)
    record_ids = {int(v) for v in (customer.lineage or {}).values() if str(v).isdigit()}
    records = {
        r.pk: r
        for r in SourceRecord.objects.filter(pk__in=record_ids).select_related("source_system")
    }
    lineage = [
        (name, getattr(customer, name, ""), records.get(int(pk)) if str(pk).isdigit() else None)
        for name, pk in sorted((customer.lineage or {}).items())
    ]
    merges = list(
        MergeEvent.objects.filter(survivor=customer, undone_at__isnull=True)
        .select_related("merged", "actor")
        .order_by("-created_at")
    )
    sources = list(
        SourceRecord.objects.filter(customer=customer)
        .select_related("source_system")
        .order_by("source_system__code", "source_key")
    )
    return render(
        request,
        "profiles/lineage.html",
        {
            "customer": customer,
            "lineage": lineage,
            "merges": merges,
            "sources": sources,
            "form": UnmergeForm(),
        },
    )


@login_required
@permission_required("profiles.change_matchcandidate", raise_exception=True)
@require_POST
def merge_undo(request: HttpRequest, reference: str) -> HttpResponse:
    """Unmerge: both customers exactly as they were before the merge."""
    event = get_object_or_404(
        MergeEvent.objects.select_related("survivor", "merged"), reference=reference
    )
    form = UnmergeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why the merge is undone.")
        return redirect("profiles:lineage", number=event.survivor.customer_number)
    try:
        customer_unmerge(
            merge_event=event, actor=web_actor(request), reason=form.cleaned_data["reason"]
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("profiles:lineage", number=event.survivor.customer_number)
    messages.success(
        request,
        f"Unmerged: {event.merged.customer_number} is a customer of its own again.",
    )
    return redirect(reverse("profiles:lineage", kwargs={"number": event.survivor.customer_number}))


# --- next best actions (profiles.insights, issue 8) --------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def customer_actions_panel(request: HttpRequest, number: str) -> HttpResponse:
    """Next best actions for this contact with why, what is blocked and why;
    accept or decline a suggestion (recorded as nba.accepted / nba.declined)."""
    try:
        customer = visible_customer(request, number)
    except MergedAway as moved:
        return redirect("profiles:actions", number=moved.survivor)
    lens = _lens_or_403(request)
    if CardSection.ACTIONS not in (lens.sections or []):
        raise Http404("This purpose does not show next best actions.")
    status = 200
    if request.method == "POST":
        if not request.user.has_perm("profiles.add_interaction"):
            raise Http404("No such screen.")
        rule_code = request.POST.get("rule_code", "")[:60]
        response_kind = request.POST.get("response", "")
        if not rule_code or response_kind not in {"accept", "decline"}:
            messages.error(request, "Choose accept or decline for a suggestion.")
            status = 400
        else:
            try:
                nba_respond(
                    customer=customer,
                    rule_code=rule_code,
                    accepted=response_kind == "accept",
                    actor=web_actor(request),
                    reason=request.POST.get("reason", "")[:500],
                )
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
                status = 400
            else:
                messages.success(
                    request,
                    "Suggestion accepted." if response_kind == "accept" else "Suggestion declined.",
                )
    response = _page(
        request,
        "profiles/_actions.html",
        {
            "customer": customer,
            "suggestions": next_best_actions(customer=customer),
            "conflicts": action_conflicts_for(customer=customer),
        },
        "Next best actions",
    )
    response.status_code = status
    return response
