"""Web screens of the profiles app (agent and steward), mounted at /customers/."""

from django.urls import URLPattern, URLResolver, path

from . import views

app_name = "profiles"
urlpatterns: list[URLPattern | URLResolver] = [
    path("review/", views.review_list, name="review"),
    path("review/<int:pk>/", views.review_pair, name="review-pair"),
    path("merges/<uuid:reference>/unmerge/", views.merge_undo, name="unmerge"),
    path("<str:number>/", views.customer_card, name="card"),
    path("<str:number>/timeline/", views.customer_timeline_panel, name="timeline"),
    path("<str:number>/actions/", views.customer_actions_panel, name="actions"),
    path("<str:number>/interactions/new/", views.interaction_new, name="interaction-new"),
    path("<str:number>/lineage/", views.customer_lineage, name="lineage"),
]
