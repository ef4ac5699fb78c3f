/* redis_uv.h — hiredis's async connections on the router's libuv loop.
 * Like hiredis's own libuv adapter, with one difference that matters per message: commands
 * queued during a loop turn are written from a uv_prepare handle just before the loop next
 * waits, in one write(), without asking epoll whether the socket is writable. The stock
 * adapter re-arms the socket for writing and back for every command (four epoll_ctl calls
 * and an extra loop turn each, with libuv 1.44). The socket is watched for writing only
 * while connecting and when a write could not take the whole buffer. */
#ifndef HILO_REDIS_UV_H
#define HILO_REDIS_UV_H

#include <hiredis/async.h>
#include <uv.h>

/* HILO_OK, or HILO_ERR (already attached, or out of resources). */
int hilo_redis_uv_attach(redisAsyncContext *ac, uv_loop_t *loop);

/* Starts a connection to [redis] host and port: a host starting with '/' is the path of
 * Redis's unix socket (`unixsocket` in redis.conf; the port is then unused), as in the CLI.
 * Returns NULL when out of memory; a context with err set when the connect failed at once
 * (the caller frees it). Not yet attached to a loop. */
redisAsyncContext *hilo_redis_uv_connect(const char *host, int port);

#endif
