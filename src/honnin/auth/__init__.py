"""Enterprise authentication: OAuth 2.0 client credentials and signed access tokens."""
