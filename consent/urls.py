"""Web screens of the consent app (privacy officer, consent capture), mounted at /privacy/."""

from django.urls import URLPattern, URLResolver, path

from . import views

app_name = "consent"
urlpatterns: list[URLPattern | URLResolver] = [
    path("requests/", views.dsr_list, name="dsr-list"),
    path("requests/<str:reference>/", views.dsr_detail, name="dsr-detail"),
    path("customers/<str:number>/consent/", views.customer_consent_panel, name="customer-consent"),
]
