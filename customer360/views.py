"""Project-level views: the home page (the agent's search) and the health check."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from profiles.forms import SearchForm
from profiles.search import customer_search
from profiles.selectors import lenses_for_user
from profiles.views import lens_code


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The search box with keyboard focus, the purpose of the call, and the results.

    An htmx request (typing in the box) gets only the results fragment.
    """
    form = SearchForm(request.GET or None)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    may_search = request.user.has_perm("profiles.view_customer")
    hits = customer_search(user=request.user, query=query) if query and may_search else []
    context = {
        "form": form,
        "query": query,
        "hits": hits,
        "may_search": may_search,
        "lens": lens_code(request),
    }
    if getattr(request, "htmx", False) and request.htmx.target == "results":  # type: ignore[attr-defined]
        return render(request, "profiles/_search_results.html", context)
    context["lenses"] = list(lenses_for_user(user=request.user)) if may_search else []
    return render(request, "home.html", context)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers: the database answers. No personal data."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
