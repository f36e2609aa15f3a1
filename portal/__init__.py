"""The web portal (FastAPI, Vietnamese pages).

Agencies hand in reports behind signed personal links (``portal.submit``; uploads
stream through ``portal.storage``); administrators log in under ``/admin`` to the
compliance matrix (``portal.dashboard``) and to intake — load a directive, review its
obligations with the evidence highlighted, edit, approve or reject
(``portal.intake``, over ``models.review``). Routers are module-level and import what
they share from ``portal.deps`` (the portal's parts, the administrators' side, the
current administrator) and the page helpers (``portal.pages``, ``portal.admin_pages``);
``portal.app.create_app`` puts them together and every response carries
``portal.security``'s headers.
"""
