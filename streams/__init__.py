"""Stream processing: the Faust app, its topics, and one module per stage."""
