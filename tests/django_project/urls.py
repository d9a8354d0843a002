"""URLs of the test project."""

from django.urls import path

from . import views

urlpatterns = [
    path("add/<int:a>/<int:b>", views.add),
    path("pinned/<int:a>", views.pinned),
    path("pinned-then-fail", views.pinned_then_fail),
    path("plain", views.plain),
    path("missing-alias", views.missing_alias),
    path("async/add/<int:a>/<int:b>", views.aadd),
    path("kind", views.kind),
    path("async/pinned/<int:a>", views.apinned),
    path("async/pinned-then-fail", views.apinned_then_fail),
    path("async/missing-alias", views.amissing_alias),
    path("async/slow/<str:value>", views.aslow),
]
