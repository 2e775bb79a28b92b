"""The application layer: what a user may do and see, once, for the API's routes
(``inbox_api/``) and the web pages (``web/``) alike. Services (``services/``) take the
request's session, the actor and schema objects; ``errors`` is the one error hierarchy the
two front ends turn into problem+json or a page; ``http`` holds the request dependencies both
share (session, actor, Temporal). It imports ``domain``, ``store``, ``infra`` and the workflows'
contracts, never a front end."""
