/*
 * lvsd_native: the whole of lvsd's native code.
 *
 * Node has no raw IP, packet or netlink sockets, so this shim exposes the
 * BSD socket calls and nothing else: socket, bind, setsockopt, getsockopt,
 * sendto, recvmsg, close, if_nametoindex, and readiness polling through
 * libuv. Every socket is non-blocking and close-on-exec. Addresses, option
 * values and control messages cross the boundary as raw bytes: building and
 * parsing them (and every protocol) is TypeScript's job, in src/kernel/.
 *
 * Audit notes: no pointer from JavaScript is kept past a call except the
 * poll callback (held by a napi_ref, released on stop); every length is
 * checked against the buffer it describes; errors become exceptions with
 * `code` set to the errno name (EPERM, ENOBUFS ...), `errno` and `syscall`.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define MAX_SOCKADDR ((size_t)sizeof(struct sockaddr_storage))
#define MAX_DATAGRAM ((size_t)(256 * 1024))
#define MAX_CONTROL ((size_t)4096)

#define CHECK(env, call)                                                      \
  do {                                                                        \
    if ((call) != napi_ok) {                                                  \
      napi_throw_error((env), "ENATIVE", "N-API call failed: " #call);       \
      return NULL;                                                            \
    }                                                                         \
  } while (0)

static napi_value throw_errno(napi_env env, const char *syscall, int err) {
  const char *name = strerrorname_np(err);
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s", syscall, strerror(err));
  napi_value error, code, message, errno_v, syscall_v;
  napi_create_string_utf8(env, name ? name : "EUNKNOWN", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_create_int32(env, err, &errno_v);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_v);
  napi_set_named_property(env, error, "errno", errno_v);
  napi_set_named_property(env, error, "syscall", syscall_v);
  napi_throw(env, error);
  return NULL;
}

static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    napi_throw_type_error(env, "EINVAL", "wrong number of arguments");
    return 0;
  }
  return 1;
}

static int get_int(napi_env env, napi_value v, int32_t *out) {
  if (napi_get_value_int32(env, v, out) != napi_ok) {
    napi_throw_type_error(env, "EINVAL", "expected an integer");
    return 0;
  }
  return 1;
}

/* A Uint8Array (Buffer included) as pointer and length; null/undefined give
 * an empty view when allow_null is set. */
static int get_bytes(napi_env env, napi_value v, void **data, size_t *len, int allow_null) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (allow_null && (t == napi_null || t == napi_undefined)) {
    *data = NULL;
    *len = 0;
    return 1;
  }
  bool is_ta = false;
  napi_is_typedarray(env, v, &is_ta);
  if (!is_ta) {
    napi_throw_type_error(env, "EINVAL", "expected a Uint8Array");
    return 0;
  }
  napi_typedarray_type type;
  napi_value ab;
  size_t offset;
  napi_get_typedarray_info(env, v, &type, len, data, &ab, &offset);
  if (type != napi_uint8_array) {
    napi_throw_type_error(env, "EINVAL", "expected a Uint8Array");
    return 0;
  }
  return 1;
}

/* socket(domain, type, protocol) -> fd */
static napi_value js_socket(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t domain, type, protocol;
  if (!get_args(env, info, 3, argv) || !get_int(env, argv[0], &domain) ||
      !get_int(env, argv[1], &type) || !get_int(env, argv[2], &protocol))
    return NULL;
  int fd = socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  if (fd < 0) return throw_errno(env, "socket", errno);
  napi_value r;
  CHECK(env, napi_create_int32(env, fd, &r));
  return r;
}

/* bind(fd, sockaddrBytes) */
static napi_value js_bind(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t fd;
  void *addr;
  size_t len;
  if (!get_args(env, info, 2, argv) || !get_int(env, argv[0], &fd) ||
      !get_bytes(env, argv[1], &addr, &len, 0))
    return NULL;
  if (len > MAX_SOCKADDR) {
    napi_throw_range_error(env, "EINVAL", "sockaddr too long");
    return NULL;
  }
  if (bind(fd, (const struct sockaddr *)addr, (socklen_t)len) < 0)
    return throw_errno(env, "bind", errno);
  return NULL;
}

/* setsockopt(fd, level, name, valueBytes) */
static napi_value js_setsockopt(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t fd, level, name;
  void *val;
  size_t len;
  if (!get_args(env, info, 4, argv) || !get_int(env, argv[0], &fd) ||
      !get_int(env, argv[1], &level) || !get_int(env, argv[2], &name) ||
      !get_bytes(env, argv[3], &val, &len, 0))
    return NULL;
  if (setsockopt(fd, level, name, val, (socklen_t)len) < 0)
    return throw_errno(env, "setsockopt", errno);
  return NULL;
}

/* getsockopt(fd, level, name, maxLen) -> Buffer */
static napi_value js_getsockopt(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t fd, level, name, maxlen;
  if (!get_args(env, info, 4, argv) || !get_int(env, argv[0], &fd) ||
      !get_int(env, argv[1], &level) || !get_int(env, argv[2], &name) ||
      !get_int(env, argv[3], &maxlen))
    return NULL;
  if (maxlen < 0 || maxlen > 4096) {
    napi_throw_range_error(env, "EINVAL", "option length out of range");
    return NULL;
  }
  unsigned char buf[4096];
  socklen_t len = (socklen_t)maxlen;
  if (getsockopt(fd, level, name, buf, &len) < 0)
    return throw_errno(env, "getsockopt", errno);
  napi_value r;
  void *out;
  CHECK(env, napi_create_buffer_copy(env, len, buf, &out, &r));
  return r;
}

/* sendto(fd, data, sockaddrBytes | null) -> bytes sent */
static napi_value js_sendto(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t fd;
  void *data, *addr;
  size_t len, alen;
  if (!get_args(env, info, 3, argv) || !get_int(env, argv[0], &fd) ||
      !get_bytes(env, argv[1], &data, &len, 0) ||
      !get_bytes(env, argv[2], &addr, &alen, 1))
    return NULL;
  if (alen > MAX_SOCKADDR) {
    napi_throw_range_error(env, "EINVAL", "sockaddr too long");
    return NULL;
  }
  ssize_t n;
  do {
    n = sendto(fd, data, len, MSG_DONTWAIT, (const struct sockaddr *)addr, (socklen_t)alen);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return throw_errno(env, "sendto", errno);
  napi_value r;
  CHECK(env, napi_create_int64(env, n, &r));
  return r;
}

/* recvmsg(fd, maxLen, controlLen) -> {data, addr, control, flags} | null
 * null means nothing is waiting (EAGAIN). MSG_TRUNC in flags tells that the
 * datagram was longer than maxLen. */
static napi_value js_recvmsg(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t fd, maxlen, ctllen;
  if (!get_args(env, info, 3, argv) || !get_int(env, argv[0], &fd) ||
      !get_int(env, argv[1], &maxlen) || !get_int(env, argv[2], &ctllen))
    return NULL;
  if (maxlen <= 0 || (size_t)maxlen > MAX_DATAGRAM || ctllen < 0 || (size_t)ctllen > MAX_CONTROL) {
    napi_throw_range_error(env, "EINVAL", "buffer length out of range");
    return NULL;
  }
  unsigned char *buf = malloc((size_t)maxlen);
  if (!buf) return throw_errno(env, "recvmsg", ENOMEM);
  unsigned char ctl[MAX_CONTROL];
  struct sockaddr_storage from;
  struct iovec iov = {.iov_base = buf, .iov_len = (size_t)maxlen};
  struct msghdr msg = {
      .msg_name = &from,
      .msg_namelen = sizeof from,
      .msg_iov = &iov,
      .msg_iovlen = 1,
      .msg_control = ctllen > 0 ? ctl : NULL,
      .msg_controllen = (size_t)ctllen,
  };
  ssize_t n;
  do {
    n = recvmsg(fd, &msg, MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    int err = errno;
    free(buf);
    if (err == EAGAIN || err == EWOULDBLOCK) {
      napi_value nul;
      napi_get_null(env, &nul);
      return nul;
    }
    return throw_errno(env, "recvmsg", err);
  }
  size_t got = (size_t)n < (size_t)maxlen ? (size_t)n : (size_t)maxlen;
  napi_value r, data, addr, control, flags;
  void *tmp;
  napi_status s1 = napi_create_buffer_copy(env, got, buf, &tmp, &data);
  free(buf);
  if (s1 != napi_ok) return throw_errno(env, "recvmsg", ENOMEM);
  CHECK(env, napi_create_buffer_copy(env, msg.msg_namelen, &from, &tmp, &addr));
  CHECK(env, napi_create_buffer_copy(env, msg.msg_controllen, ctl, &tmp, &control));
  CHECK(env, napi_create_int32(env, msg.msg_flags, &flags));
  CHECK(env, napi_create_object(env, &r));
  napi_set_named_property(env, r, "data", data);
  napi_set_named_property(env, r, "addr", addr);
  napi_set_named_property(env, r, "control", control);
  napi_set_named_property(env, r, "flags", flags);
  return r;
}

/* close(fd) */
static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (!get_args(env, info, 1, argv) || !get_int(env, argv[0], &fd)) return NULL;
  if (close(fd) < 0 && errno != EINTR) return throw_errno(env, "close", errno);
  return NULL;
}

/* ifNameToIndex(name) -> index (0 when there is no such interface) */
static napi_value js_if_nametoindex(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  char name[IF_NAMESIZE + 1];
  size_t len;
  if (!get_args(env, info, 1, argv)) return NULL;
  if (napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok) {
    napi_throw_type_error(env, "EINVAL", "expected an interface name");
    return NULL;
  }
  napi_value r;
  CHECK(env, napi_create_uint32(env, if_nametoindex(name), &r));
  return r;
}

/* Readiness polling: pollStart(fd, onReadable) -> handle; pollStop(handle).
 * onReadable(errorCode | null) runs on the main loop whenever fd is readable;
 * it must drain the socket with recvmsg until null. */
typedef struct {
  uv_poll_t poll;
  napi_env env;
  napi_ref callback;
  napi_async_context async;
  int stopped;   /* pollStop ran (or the handle was never started) */
  int closed;    /* libuv has let go of the handle */
  int finalized; /* the JavaScript handle object is gone */
} poller_t;

/* p is freed once both libuv and the JavaScript handle have let go of it. */
static void poller_closed(uv_handle_t *h) {
  poller_t *p = (poller_t *)h->data;
  p->closed = 1;
  if (p->finalized) free(p);
}

static void poller_release(napi_env env, poller_t *p) {
  if (p->stopped) return;
  p->stopped = 1;
  uv_poll_stop(&p->poll);
  napi_delete_reference(env, p->callback);
  napi_async_destroy(env, p->async);
  uv_close((uv_handle_t *)&p->poll, poller_closed);
}

static void poller_fire(uv_poll_t *handle, int status, int events) {
  (void)events;
  poller_t *p = (poller_t *)handle->data;
  if (p->stopped) return;
  napi_env env = p->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, recv, arg, result;
  if (napi_get_reference_value(env, p->callback, &cb) == napi_ok && cb != NULL) {
    napi_get_global(env, &recv); /* make_callback wants an object receiver */
    if (status < 0)
      napi_create_string_utf8(env, uv_err_name(status), NAPI_AUTO_LENGTH, &arg);
    else
      napi_get_null(env, &arg);
    if (napi_make_callback(env, p->async, recv, cb, 1, &arg, &result) == napi_pending_exception) {
      /* Surface a throw from the callback as any uncaught JavaScript error. */
      napi_value ex;
      if (napi_get_and_clear_last_exception(env, &ex) == napi_ok) napi_fatal_exception(env, ex);
    }
  }
  napi_close_handle_scope(env, scope);
}

static void poller_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  poller_t *p = (poller_t *)data;
  poller_release(env, p);
  p->finalized = 1;
  if (p->closed) free(p);
}

static napi_value js_poll_start(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t fd;
  if (!get_args(env, info, 2, argv) || !get_int(env, argv[0], &fd)) return NULL;
  napi_valuetype t;
  napi_typeof(env, argv[1], &t);
  if (t != napi_function) {
    napi_throw_type_error(env, "EINVAL", "expected a callback");
    return NULL;
  }
  uv_loop_t *loop;
  CHECK(env, napi_get_uv_event_loop(env, &loop));
  poller_t *p = calloc(1, sizeof *p);
  if (!p) return throw_errno(env, "pollStart", ENOMEM);
  p->env = env;
  int rc = uv_poll_init(loop, &p->poll, fd);
  if (rc < 0) {
    free(p);
    return throw_errno(env, "uv_poll_init", -rc);
  }
  p->poll.data = p;
  napi_value name;
  napi_create_string_utf8(env, "lvsd.poll", NAPI_AUTO_LENGTH, &name);
  if (napi_create_reference(env, argv[1], 1, &p->callback) != napi_ok ||
      napi_async_init(env, NULL, name, &p->async) != napi_ok) {
    p->stopped = p->finalized = 1;
    uv_close((uv_handle_t *)&p->poll, poller_closed);
    napi_throw_error(env, "ENATIVE", "cannot hold the poll callback");
    return NULL;
  }
  rc = uv_poll_start(&p->poll, UV_READABLE, poller_fire);
  if (rc < 0) {
    napi_delete_reference(env, p->callback);
    napi_async_destroy(env, p->async);
    p->stopped = p->finalized = 1;
    uv_close((uv_handle_t *)&p->poll, poller_closed);
    return throw_errno(env, "uv_poll_start", -rc);
  }
  napi_value handle;
  CHECK(env, napi_create_external(env, p, poller_finalize, NULL, &handle));
  return handle;
}

static napi_value js_poll_stop(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  void *data = NULL;
  if (napi_get_value_external(env, argv[0], &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, "EINVAL", "expected a poll handle");
    return NULL;
  }
  poller_release(env, (poller_t *)data);
  return NULL;
}

#define EXPORT(name, fn)                                                      \
  do {                                                                        \
    napi_value f;                                                             \
    CHECK(env, napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &f)); \
    CHECK(env, napi_set_named_property(env, exports, name, f));               \
  } while (0)

static napi_value init(napi_env env, napi_value exports) {
  EXPORT("socket", js_socket);
  EXPORT("bind", js_bind);
  EXPORT("setsockopt", js_setsockopt);
  EXPORT("getsockopt", js_getsockopt);
  EXPORT("sendto", js_sendto);
  EXPORT("recvmsg", js_recvmsg);
  EXPORT("close", js_close);
  EXPORT("ifNameToIndex", js_if_nametoindex);
  EXPORT("pollStart", js_poll_start);
  EXPORT("pollStop", js_poll_stop);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
