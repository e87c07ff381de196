"""Models of course_lib (being written)."""

__all__: list[str] = []
