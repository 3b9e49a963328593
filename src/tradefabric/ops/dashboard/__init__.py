"""The web dashboard: a browser front end over the control service (``ops.control``)."""
