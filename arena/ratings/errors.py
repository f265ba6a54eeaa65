"""The one error the rating core raises for data it cannot rate."""


class RatingError(ValueError):
    """The data cannot produce finite, unique ratings (or names an unknown model).

    The message always names the models or components involved, so it can be shown to a person as is.
    """


def name_list(names: list[str] | tuple[str, ...], limit: int = 20) -> str:
    """Join model names for an error message, cutting very long lists."""
    shown = ", ".join(names[:limit])
    more = len(names) - limit
    return f"{shown} and {more} more" if more > 0 else shown
