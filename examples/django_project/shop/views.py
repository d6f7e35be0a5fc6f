"""Enqueue inside Django's transaction: the run exists only if the transaction commits."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from rota.integrations.django import dbapi_connection, enqueue_on_commit
from shop.jobs import send_receipt


class OrderFailed(Exception):
    pass


@csrf_exempt
@require_POST
def place_order(request: HttpRequest, order_id: int) -> JsonResponse:
    with transaction.atomic():
        # ... save the order with the ORM here: it and the run commit together ...
        handle = send_receipt.configure(connection=dbapi_connection()).enqueue(order_id=order_id)
    return JsonResponse({"run_id": handle.id}, status=201)


@csrf_exempt
@require_POST
def place_order_on_commit(request: HttpRequest, order_id: int) -> JsonResponse:
    with transaction.atomic():
        enqueue_on_commit(send_receipt, order_id=order_id)
    return JsonResponse({"queued": True}, status=202)


@csrf_exempt
@require_POST
def place_order_then_fail(request: HttpRequest, order_id: int) -> JsonResponse:
    run_id = None
    try:
        with transaction.atomic():
            handle = send_receipt.configure(connection=dbapi_connection()).enqueue(
                order_id=order_id
            )
            run_id = handle.id
            raise OrderFailed("payment declined")  # rolls back the order and its run
    except OrderFailed as exc:
        return JsonResponse({"error": str(exc), "rolled_back_run_id": run_id}, status=409)
