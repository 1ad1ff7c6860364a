"""Word lists the demo generator draws from: names, places, trades and outage causes.

Plain Python data (not data files) so it ships inside the package and loads without parsing.
"""
