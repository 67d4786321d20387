"""Registry entries of this chapter (filled in as the chapter lands)."""

ENTRIES: list = []
