"""What a web worker does before Django starts (``commerce.wsgi``, ``commerce.asgi``)."""

import importlib.util
import sys

import django


def load_test_signals_alone() -> None:
    """Load ``django.test.signals`` as a module of its own, so importing it does not load all of ``django.test``.

    djangorestframework-simplejwt (5.5) takes ``setting_changed`` from ``django.test.signals``, and Python
    runs a package's ``__init__`` before any module in it: ``django/test/__init__.py`` brings the test
    client, the test cases, ``unittest`` and ``xml.dom`` into every worker (~1.8 MB each) for a signal
    that lives in ``django.core.signals`` (``django.test.signals`` imports it from there; DRF itself
    takes it from ``django.core.signals`` for this very reason). Here the module is loaded from its own
    file under its own name, so simplejwt's import finds it ready. Should anything import
    ``django.test`` later (the API docs' stack does), the package loads whole and uses this same
    module: one module, the same signals, whichever import comes first. (``from django.test import
    signals`` and ``from django.test.signals import ...`` work as ever; only the attribute path
    ``django.test.signals`` stays unbound on the package, which no code in the shop or its libraries uses.)
    ``tests/http/test_worker_imports.py`` says when simplejwt stops needing this.
    """
    name = "django.test.signals"
    if name in sys.modules or "django.test" in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(name, f"{django.__path__[0]}/test/signals.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
