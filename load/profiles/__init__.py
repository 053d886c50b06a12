"""Locust profiles, one module per profile; each is a locustfile (``locust -f load/profiles/<name>.py``).

Only locust processes import these modules (they import locust and gevent).
"""
