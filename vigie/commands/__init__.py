"""One module per ``vigie`` sub-command group; :mod:`vigie.cli` registers them."""
