"""URLs: the lookup page and its JSON twin."""

from django.urls import path

from .customers import views

urlpatterns = [
    path("", views.lookup),
    path("api/customers/<int:customer_id>", views.customer_json),
    path("api/async/customers/<int:customer_id>", views.customer_json_async),
]
