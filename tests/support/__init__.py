"""Shared test helpers: a small demo shop (:mod:`tests.support.shop`) and real Rasa +
action servers on free ports (:mod:`tests.support.servers`)."""
