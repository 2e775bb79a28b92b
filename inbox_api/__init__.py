"""The HTTP API (FastAPI): routes per resource on the application layer's services, the
OpenAPI contract, problem+json. ``install_api(app)`` puts it on the server that
``worker.server.create_app`` composes with the web pages."""
