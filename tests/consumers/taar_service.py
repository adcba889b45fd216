"""What the TAAR service (mozilla-taar3 1.0.7) gives its recommenders, for
the consumer scripts: a context with logging and a cache that serves fletch's
outputs as the service's cache would after loading them."""

import logging

from taar.context import Context
from taar.interfaces import IMozLogging, ITAARCache


class Logs(IMozLogging):
    def get_logger(self, name):
        return logging.getLogger(name)

    def set_log_level(self, level):
        logging.getLogger().setLevel(level)


class StaticCache(ITAARCache):
    """The service's cache context, given as a dict."""

    def __init__(self, context):
        self.context = context

    def safe_load_data(self):
        pass

    def cache_context(self):
        return self.context


def service_context(cache_context):
    ctx = Context()
    ctx[IMozLogging] = Logs()
    ctx[ITAARCache] = StaticCache(cache_context)
    return ctx
