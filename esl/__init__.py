"""The application: database, services, update pipeline, API and command line."""
