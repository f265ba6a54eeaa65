"""Django's Redis cache backend, reusing one Redis client per connection pool.

Django's ``RedisCacheClient.get_client`` builds a new ``redis.Redis`` for every cache operation, and
that constructor fills a table of about 170 response callbacks: roughly a millisecond of CPU per
call. A vote cycle makes a dozen cache calls, so this was half of its CPU. A ``redis.Redis`` is safe
to share between threads (each command takes a connection from the pool), and Django already keeps
one cache object per thread.
"""

from __future__ import annotations

from django.core.cache.backends import redis as django_redis


class ReusingRedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient
