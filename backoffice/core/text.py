"""Text a person or a client sends, read strictly."""


def plain_digits(text: str) -> bool:
    """Whether ``text`` is one or more of the ASCII digits 0-9 and nothing else.

    ``str.isdigit()`` alone also takes "²" and "١٢" (other scripts' digits): int() then
    fails on the first (a 500) and reads the second as 12.
    """
    return text.isascii() and text.isdigit()
