"""The deployables lifted out of the monolith, one package each (DESIGN.md "Lifting a context out").

Each is the same repository and image as the monolith with its own settings, URLs and WSGI entry point:
the kernel (``commerce``) and its one context installed, nothing else.
"""
