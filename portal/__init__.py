"""The web portal: agencies hand in reports behind signed personal links
(``portal.submit``), uploads stream through ``portal.storage``, every response carries
``portal.security``'s headers; ``portal.app.create_app`` puts it together."""
