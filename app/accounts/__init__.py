"""Sign-in, registration, password reset and invitations, sessions, rate limits."""
