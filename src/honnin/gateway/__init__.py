"""Enterprise-facing plumbing: problem details, request context, authentication
dependencies, body limits, metrics. FastAPI ``Depends`` helpers live here."""
