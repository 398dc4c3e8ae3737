"""What every screen shares: templating, page-or-partial rendering, authentication, guards, errors."""
