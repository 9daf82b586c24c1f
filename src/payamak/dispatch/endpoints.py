"""HTTP API of routes (admin): CRUD, with each route's connection state."""

from __future__ import annotations

from fastapi import APIRouter

from payamak.api.deps import Admin, Tx
from payamak.api.errors import responses
from payamak.dispatch import schemas
from payamak.dispatch import service as dispatch
from payamak.dispatch.models import Route
from payamak.dispatch.worker import running

router = APIRouter(tags=["routes"])


def _views(session: Tx, routes: list[Route]) -> list[schemas.RouteOut]:
    dispatcher = running()
    live = dispatcher.route_status() if dispatcher is not None else None
    out = []
    for v in dispatch.route_views(session, routes, live):
        out.append(
            schemas.RouteOut(
                id=v.route.id, name=v.route.name, kind=v.route.kind, config=v.public_config,
                operators=[o for o in v.route.operators.split(",") if o], kinds=[k for k in v.route.kinds.split(",") if k],
                priority=v.route.priority, refund_undelivered=v.route.refund_undelivered, active=v.route.active,
                created_at=v.route.created_at, state=v.state, binds_up=v.binds_up, binds=v.binds,
                last_error=v.last_error, state_updated_at=v.updated_at, state_source="live" if v.live else "stored",
            )
        )  # fmt: skip
    return out


def _reload() -> None:
    # The change commits when the request ends; the dispatcher reads routes again shortly after
    # (and every few seconds anyway), so it never acts on a change that was rolled back.
    dispatcher = running()
    if dispatcher is not None:
        dispatcher.request_reload()


@router.get("/admin/routes", response_model=list[schemas.RouteOut], responses=responses(401, 403))
def list_routes(caller: Admin, session: Tx) -> list[schemas.RouteOut]:
    """Every route, in the order they are tried, with its bind state."""
    return _views(session, list(dispatch.list_routes(session, principal=caller)))


@router.post(
    "/admin/routes", status_code=201, response_model=schemas.RouteOut, responses=responses(401, 403, 409, 422)
)
def add_route(body: schemas.RouteIn, caller: Admin, session: Tx) -> schemas.RouteOut:
    """Add a route; running dispatchers start using it within seconds."""
    route = dispatch.add_route(
        session, principal=caller, name=body.name, kind=body.kind, config=body.config, operators=body.operators,
        kinds=list(body.kinds), priority=body.priority, refund_undelivered=body.refund_undelivered, active=body.active,
    )  # fmt: skip
    _reload()
    return _views(session, [route])[0]


@router.get("/admin/routes/{route_id}", response_model=schemas.RouteOut, responses=responses(401, 403, 404))
def get_route(route_id: int, caller: Admin, session: Tx) -> schemas.RouteOut:
    return _views(session, [dispatch.get_route(session, principal=caller, route_id=route_id)])[0]


@router.patch(
    "/admin/routes/{route_id}", response_model=schemas.RouteOut, responses=responses(401, 403, 404, 409, 422)
)
def update_route(route_id: int, body: schemas.RoutePatch, caller: Admin, session: Tx) -> schemas.RouteOut:
    """Change a route; a changed connection setting makes dispatchers reconnect."""
    route = dispatch.update_route(
        session, principal=caller, route_id=route_id, changes=body.model_dump(exclude_unset=True)
    )
    _reload()
    return _views(session, [route])[0]


@router.delete("/admin/routes/{route_id}", status_code=204, responses=responses(401, 403, 404))
def remove_route(route_id: int, caller: Admin, session: Tx) -> None:
    """Delete a route; lines pinned to it are routed by operator and kind again."""
    dispatch.remove_route(session, principal=caller, route_id=route_id)
    _reload()
