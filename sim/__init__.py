"""The county model: homes, cameras, thefts, detectives and residents, and the drivers
that connect it to the reference system (in-process and over HTTP)."""
