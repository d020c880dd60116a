"""The interface layer, on top: the ``moltwin`` command line (``cli``) and the web app (``web``).

They may import every layer below; nothing imports them.
"""
