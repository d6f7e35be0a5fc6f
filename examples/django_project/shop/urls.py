from django.urls import path

from shop import views

urlpatterns = [
    path("orders/<int:order_id>/", views.place_order),
    path("orders/<int:order_id>/on-commit/", views.place_order_on_commit),
    path("orders/<int:order_id>/broken/", views.place_order_then_fail),
]
