"""The demo: the whole system on one machine with simulated stores."""
