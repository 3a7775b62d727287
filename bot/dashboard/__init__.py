"""The local web dashboard (``python -m bot dashboard``): one self-refreshing page over the
journal with kill and resume buttons. ``server`` binds and serves, ``routes`` holds the Flask
app, ``guard`` its request checks, ``token`` the token file, ``state`` and ``equity`` what the
page shows, ``charts`` the SVG, ``page`` and ``static/`` the page itself, ``actions`` the buttons."""
