"""Where reports come from besides a seller's downloads: the Selling Partner API.

- `catalog`: the reports `recoup sync` pulls, one declaration each;
- `credentials`: LWA credentials from the environment or a 0600 file, never printed;
- `spapi`: the `ReportSource` protocol and its python-amazon-sp-api implementation;
- `sync`: what to pull since the last sync, resumably, through the ordinary import.
"""
