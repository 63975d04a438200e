/*
 * plexus-shim: the CNI binary the container runtime runs on the host when Plexus is deployed as a
 * daemon. It forwards its environment and the stdin config to the Plexus daemon over HTTP/1.1 on
 * a unix socket (Multus thick wire format, so a multus-shim can talk to the daemon and this shim
 * can talk to a multus-daemon), then prints the daemon's answer and exits 0 or 1 like any plugin.
 *
 *   POST /cni  {"env": {<every variable of our environment>}, "config": "<base64 of stdin>"}
 *   200 {"Result": {...}} on ADD, 200 and an empty body otherwise; 400 + CNI error JSON on failure.
 *
 * Every verb but DEL must reach a ready daemon. multus-shim asks GET /readyz before each POST; this
 * shim sends the POST at once with `Plexus-Require-Ready: 1`, which a Plexus daemon that is not
 * ready (starting, or shutting down) answers 503 without running anything. Only then, or when the
 * socket cannot be reached, does it poll GET /readyz and send the POST again: one exchange per
 * verb instead of two on the path every pod takes. (A daemon that does not know the header, such
 * as multus-daemon, runs the request as it always does.)
 *
 * Differences from multus-shim, on purpose:
 * - DEL never reports success it did not get: when the daemon cannot be reached within the DEL
 *   bound, the answer is CNI error 11 ("try again later") so the runtime retries instead of
 *   leaking the pod's interfaces.
 * - VERSION is answered locally (it needs no daemon, and the runtime asks it before anything else).
 * - ADD prints the daemon's result verbatim: the daemon already answers in the config's cniVersion.
 *
 * Knobs (all optional):
 *   socket path   --socket PATH, else $PLEXUS_SOCKET, else <dir>/plexus.sock with <dir> the config's
 *                 "daemonSocketDir" (or "socketDir", multus-shim's key), else /run/plexus/plexus.sock
 *   $PLEXUS_SHIM_READY_TIMEOUT_MS  ADD/CHECK/GC wait for GET /readyz (default 60000; STATUS at most
 *                                  1000, then code 50)
 *   $PLEXUS_SHIM_DEL_TIMEOUT_MS    DEL retries while the daemon is unreachable (default 10000)
 *   $PLEXUS_SHIM_TIMEOUT_MS        deadline for the daemon's answer to POST /cni (default 300000)
 *
 * Dependencies: libc only. Built by node-gyp (shim/binding.gyp) with the addon's toolchain.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define DEFAULT_SOCKET "/run/plexus/plexus.sock"
/* package.json's version, passed by binding.gyp; a build outside node-gyp says so. */
#ifndef PLEXUS_VERSION
#define PLEXUS_VERSION "unknown"
#endif
#define SOCKET_NAME "plexus.sock"
#define CURRENT_VERSION "1.1.0"
/* Keep in step with SUPPORTED_VERSIONS in src/cni/versions.ts (a test compares the two). */
#define SUPPORTED_VERSIONS "[\"0.1.0\",\"0.2.0\",\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]"
#define MAX_STDIN (16u << 20)
#define MAX_RESPONSE (64u << 20)
#define POLL_INTERVAL_MS 100
/* Asks a Plexus daemon to answer 503 instead of running the request while it is not ready. */
#define REQUIRE_READY_HEADER "Plexus-Require-Ready: 1\r\n"
#define STATUS_READY_MS 1000

/* CNI error codes the shim itself reports (SPEC.md "Error"). */
enum {
	CODE_INVALID_ENV = 4,
	CODE_IO_FAILURE = 5,
	CODE_DECODE_FAILURE = 6,
	CODE_INVALID_CONFIG = 7,
	CODE_TRY_AGAIN_LATER = 11,
	CODE_NOT_AVAILABLE = 50,
	CODE_INTERNAL = 999,
};

/* A growable byte buffer; every allocation failure ends the process with a CNI error. */
struct buf {
	char *data;
	size_t len;
	size_t cap;
};

static char g_cni_version[32] = CURRENT_VERSION;

static void fail(int code, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));

/* Appends n bytes, growing the buffer geometrically. */
static void buf_add(struct buf *b, const char *s, size_t n) {
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		while (cap < b->len + n + 1) cap *= 2;
		char *p = realloc(b->data, cap);
		if (p == NULL) fail(CODE_INTERNAL, "failed to allocate %zu bytes", cap);
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *s) { buf_add(b, s, strlen(s)); }

/* Appends s as the body of a JSON string (no quotes), escaping what JSON requires. */
static void buf_json_escape(struct buf *b, const char *s, size_t n) {
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[8];
		switch (c) {
		case '"': buf_add(b, "\\\"", 2); break;
		case '\\': buf_add(b, "\\\\", 2); break;
		case '\n': buf_add(b, "\\n", 2); break;
		case '\r': buf_add(b, "\\r", 2); break;
		case '\t': buf_add(b, "\\t", 2); break;
		default:
			if (c < 0x20) {
				snprintf(esc, sizeof esc, "\\u%04x", c);
				buf_add(b, esc, 6);
			} else {
				buf_add(b, (const char *)&s[i], 1);
			}
		}
	}
}

/* Appends the base64 (RFC 4648, padded) of n bytes: Go's encoding of a []byte in JSON. */
static void buf_base64(struct buf *b, const unsigned char *s, size_t n) {
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)s[i] << 16;
		if (i + 1 < n) v |= (unsigned)s[i + 1] << 8;
		if (i + 2 < n) v |= s[i + 2];
		char out[4] = {alphabet[(v >> 18) & 63], alphabet[(v >> 12) & 63], i + 1 < n ? alphabet[(v >> 6) & 63] : '=',
			       i + 2 < n ? alphabet[v & 63] : '='};
		buf_add(b, out, 4);
	}
}

/* Prints a CNI error JSON on stdout (the protocol channel) and the message on stderr, then exits 1. */
static void fail(int code, const char *fmt, ...) {
	char msg[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	struct buf out = {0};
	buf_str(&out, "{\"cniVersion\":\"");
	buf_json_escape(&out, g_cni_version, strlen(g_cni_version));
	char head[64];
	snprintf(head, sizeof head, "\",\"code\":%d,\"msg\":\"", code);
	buf_str(&out, head);
	buf_json_escape(&out, msg, strlen(msg));
	buf_str(&out, "\"}\n");
	fwrite(out.data, 1, out.len, stdout);
	fflush(stdout);
	fprintf(stderr, "plexus-shim: %s\n", msg);
	exit(1);
}

/* ---- a minimal JSON reader: enough to find top-level members and decode strings ---- */

static const char *json_ws(const char *p, const char *end) {
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
	return p;
}

/* Skips a JSON string starting at its opening quote; returns the position after the closing one. */
static const char *json_skip_string(const char *p, const char *end) {
	for (p++; p < end; p++) {
		if (*p == '\\') p++;
		else if (*p == '"') return p + 1;
	}
	return NULL;
}

/* Skips any JSON value; returns the position after it, or NULL when the text is not JSON. */
static const char *json_skip_value(const char *p, const char *end) {
	p = json_ws(p, end);
	if (p >= end) return NULL;
	if (*p == '"') return json_skip_string(p, end);
	if (*p == '{' || *p == '[') {
		int depth = 0;
		while (p < end) {
			if (*p == '"') {
				p = json_skip_string(p, end);
				if (p == NULL) return NULL;
				continue;
			}
			if (*p == '{' || *p == '[') depth++;
			else if (*p == '}' || *p == ']') {
				if (--depth == 0) return p + 1;
			}
			p++;
		}
		return NULL;
	}
	const char *start = p;
	while (p < end && strchr(",}] \t\r\n", *p) == NULL) p++;
	return p > start ? p : NULL;
}

/* Finds member `key` of the top-level object in [p, end); sets its value span. 1 when found. */
static int json_member(const char *p, const char *end, const char *key, const char **vstart, const char **vend) {
	size_t keylen = strlen(key);
	p = json_ws(p, end);
	if (p >= end || *p != '{') return 0;
	p = json_ws(p + 1, end);
	while (p < end && *p == '"') {
		const char *kend = json_skip_string(p, end);
		if (kend == NULL) return 0;
		int match = (size_t)(kend - p - 2) == keylen && memcmp(p + 1, key, keylen) == 0;
		p = json_ws(kend, end);
		if (p >= end || *p != ':') return 0;
		const char *v = json_ws(p + 1, end);
		const char *vnext = json_skip_value(v, end);
		if (vnext == NULL) return 0;
		if (match) {
			*vstart = v;
			*vend = vnext;
			return 1;
		}
		p = json_ws(vnext, end);
		if (p < end && *p == ',') p = json_ws(p + 1, end);
	}
	return 0;
}

/* Decodes the JSON string value in [p, end) into out (NUL-terminated, truncated to cap). 1 on success. */
static int json_string(const char *p, const char *end, char *out, size_t cap) {
	if (p >= end || *p != '"' || cap == 0) return 0;
	size_t n = 0;
	for (p++; p < end && *p != '"'; p++) {
		char c = *p;
		if (c == '\\' && p + 1 < end) {
			p++;
			switch (*p) {
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'u': return 0; /* not needed for paths and versions; treat as absent */
			default: c = *p;
			}
		}
		if (n + 1 < cap) out[n++] = c;
	}
	out[n] = '\0';
	return p < end;
}

/* Reads a top-level string member into out; 1 when present and a string. */
static int config_string(const struct buf *conf, const char *key, char *out, size_t cap) {
	const char *vs, *ve;
	if (conf->data == NULL || !json_member(conf->data, conf->data + conf->len, key, &vs, &ve)) return 0;
	return json_string(vs, ve, out, cap);
}

/* ---- time, env and socket helpers ---- */

static long long now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms) {
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

/* A non-negative integer from the environment, or the default when unset or malformed. */
static long env_ms(const char *name, long fallback) {
	const char *v = getenv(name);
	if (v == NULL || *v == '\0') return fallback;
	char *endp;
	long n = strtol(v, &endp, 10);
	return (*endp == '\0' && n >= 0) ? n : fallback;
}

/* Waits until fd is ready for `events` or the deadline passes. 1 ready, 0 timed out, -1 error. */
static int wait_fd(int fd, short events, long long deadline) {
	for (;;) {
		long long left = deadline - now_ms();
		if (left <= 0) return 0;
		struct pollfd pfd = {fd, events, 0};
		int r = poll(&pfd, 1, left > 1000000 ? 1000000 : (int)left);
		if (r > 0) return 1;
		if (r == 0) continue;
		if (errno != EINTR) return -1;
	}
}

/* Result of one HTTP exchange. `reached` is 0 when no connection could be made at all. */
struct response {
	int reached;
	int status; /* 0 when no complete response was read */
	struct buf body;
	char error[256];
};

/* Decodes a chunked body in place; 1 on success. */
static int dechunk(struct buf *b) {
	const char *p = b->data, *end = b->data + b->len;
	struct buf out = {0};
	buf_add(&out, "", 0);
	for (;;) {
		char *endp;
		unsigned long size = strtoul(p, &endp, 16);
		const char *line_end = strstr(endp, "\r\n");
		if (endp == p || line_end == NULL || line_end + 2 > end) break;
		p = line_end + 2;
		if (size == 0) {
			free(b->data);
			*b = out;
			return 1;
		}
		if ((size_t)(end - p) < size + 2) break;
		buf_add(&out, p, size);
		p += size + 2;
	}
	free(out.data);
	return 0;
}

/*
 * True once `raw` holds a whole answer with a Content-Length (headers and that many body bytes):
 * the shim need not wait for the daemon to close the connection, one wake-up less per verb. A
 * chunked answer, or one without a length, is read until the connection closes.
 */
static int answer_complete(const struct buf *raw) {
	const char *end = raw->data ? strstr(raw->data, "\r\n\r\n") : NULL;
	if (end == NULL) return 0;
	long length = -1;
	for (const char *line = strstr(raw->data, "\r\n"); line != NULL && line < end; line = strstr(line + 2, "\r\n")) {
		const char *h = line + 2;
		if (strncasecmp(h, "content-length:", 15) == 0) length = strtol(h + 15, NULL, 10);
		if (strncasecmp(h, "transfer-encoding:", 18) == 0) return 0;
	}
	return length >= 0 && raw->len - (size_t)(end + 4 - raw->data) >= (size_t)length;
}

/*
 * Sends one HTTP/1.1 request over the unix socket and reads the whole answer
 * (Connection: close, so the body ends at EOF unless a length or chunking says otherwise).
 */
static void http(const char *socket_path, const char *method, const char *path, const char *extra_headers,
		 const struct buf *body, long long deadline, struct response *res) {
	memset(res, 0, sizeof *res);
	struct sockaddr_un addr = {0};
	addr.sun_family = AF_UNIX;
	if (strlen(socket_path) >= sizeof addr.sun_path) {
		snprintf(res->error, sizeof res->error, "socket path too long");
		return;
	}
	strcpy(addr.sun_path, socket_path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(res->error, sizeof res->error, "socket: %s", strerror(errno));
		return;
	}
	if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
		if (errno == EINPROGRESS || errno == EAGAIN) {
			/* A full backlog: wait for the connection within the deadline. */
			int err = 0;
			socklen_t len = sizeof err;
			if (wait_fd(fd, POLLOUT, deadline) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 ||
			    err != 0) {
				snprintf(res->error, sizeof res->error, "connect: %s", strerror(err ? err : ETIMEDOUT));
				close(fd);
				return;
			}
		} else {
			snprintf(res->error, sizeof res->error, "connect: %s", strerror(errno));
			close(fd);
			return;
		}
	}
	res->reached = 1;

	struct buf req = {0};
	char head[512];
	snprintf(head, sizeof head,
		 "%s %s HTTP/1.1\r\nHost: dummy\r\nUser-Agent: plexus-shim\r\nConnection: close\r\n"
		 "%sContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
		 method, path, extra_headers ? extra_headers : "", body ? body->len : 0);
	buf_str(&req, head);
	if (body) buf_add(&req, body->data, body->len);
	for (size_t off = 0; off < req.len;) {
		ssize_t n = send(fd, req.data + off, req.len - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
		} else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(fd, POLLOUT, deadline) != 1) {
				snprintf(res->error, sizeof res->error, "timed out sending the request");
				goto out;
			}
		} else {
			snprintf(res->error, sizeof res->error, "send: %s", strerror(errno));
			goto out;
		}
	}

	struct buf raw = {0};
	char chunk[65536];
	for (;;) {
		ssize_t n = recv(fd, chunk, sizeof chunk, 0);
		if (n > 0) {
			buf_add(&raw, chunk, (size_t)n);
			if (raw.len > MAX_RESPONSE) {
				snprintf(res->error, sizeof res->error, "answer larger than %u bytes", MAX_RESPONSE);
				goto out_raw;
			}
			if (answer_complete(&raw)) break;
		} else if (n == 0) {
			break;
		} else if (errno == EAGAIN || errno == EINTR) {
			int w = wait_fd(fd, POLLIN, deadline);
			if (w != 1) {
				snprintf(res->error, sizeof res->error, w == 0 ? "timed out waiting for the answer" : "poll: %s",
					 strerror(errno));
				goto out_raw;
			}
		} else {
			snprintf(res->error, sizeof res->error, "recv: %s", strerror(errno));
			goto out_raw;
		}
	}

	int status = 0;
	char *header_end = raw.data ? strstr(raw.data, "\r\n\r\n") : NULL;
	if (header_end == NULL || sscanf(raw.data, "HTTP/1.%*d %d", &status) != 1) {
		snprintf(res->error, sizeof res->error, "connection closed before a complete answer");
		goto out_raw;
	}
	*header_end = '\0';
	const char *body_start = header_end + 4;
	size_t body_len = raw.len - (size_t)(body_start - raw.data);
	int chunked = 0;
	long content_length = -1;
	for (char *line = strstr(raw.data, "\r\n"); line != NULL; line = strstr(line + 2, "\r\n")) {
		const char *h = line + 2;
		if (strncasecmp(h, "content-length:", 15) == 0) content_length = strtol(h + 15, NULL, 10);
		if (strncasecmp(h, "transfer-encoding:", 18) == 0 && strstr(h, "chunked") != NULL) chunked = 1;
	}
	buf_add(&res->body, body_start, body_len);
	if (chunked) {
		if (!dechunk(&res->body)) {
			snprintf(res->error, sizeof res->error, "malformed chunked answer");
			goto out_raw;
		}
	} else if (content_length >= 0) {
		if ((size_t)content_length > res->body.len) {
			snprintf(res->error, sizeof res->error, "connection closed before the whole answer");
			goto out_raw;
		}
		res->body.len = (size_t)content_length;
		res->body.data[res->body.len] = '\0';
	}
	res->status = status;
out_raw:
	free(raw.data);
out:
	free(req.data);
	close(fd);
}

/* Polls GET <path> until it answers 200; 1 when it did before the deadline. */
static int wait_until_ok(const char *socket_path, const char *path, long long deadline, char *why, size_t whycap) {
	for (;;) {
		struct response res;
		long long attempt = now_ms() + 1000;
		http(socket_path, "GET", path, NULL, NULL, attempt < deadline ? attempt : deadline, &res);
		free(res.body.data);
		if (res.status == 200) return 1;
		if (res.status != 0) snprintf(why, whycap, "%s answered HTTP %d", path, res.status);
		else snprintf(why, whycap, "%s", res.error);
		if (now_ms() + POLL_INTERVAL_MS > deadline) return 0;
		sleep_ms(POLL_INTERVAL_MS);
	}
}

/* Reads all of stdin. */
static void read_stdin(struct buf *b) {
	char chunk[65536];
	for (;;) {
		ssize_t n = read(STDIN_FILENO, chunk, sizeof chunk);
		if (n > 0) {
			buf_add(b, chunk, (size_t)n);
			if (b->len > MAX_STDIN) fail(CODE_IO_FAILURE, "failed to read config from stdin: larger than %u bytes", MAX_STDIN);
		} else if (n == 0) {
			break;
		} else if (errno != EINTR) {
			fail(CODE_IO_FAILURE, "failed to read config from stdin: %s", strerror(errno));
		}
	}
	buf_add(b, "", 0);
}

/* 1 when the n bytes at s are well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
static int utf8_valid(const unsigned char *s, size_t n) {
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t len;
		unsigned cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			len = 2;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (i + len > n) return 0;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80) return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += len;
	}
	return 1;
}

/*
 * The CNI_* variables travel as JSON strings, which hold only UTF-8: a value that is not (an
 * interface name of raw bytes, say) would reach the daemon altered (every bad byte U+FFFD), so
 * the plugin would act on a name the runtime never asked for. Such a variable is refused here
 * with the code the daemon gives any invalid environment (4), naming it. (NUL cannot occur: the
 * environment is C strings.)
 */
static void check_cni_env(void) {
	for (char **e = environ; *e != NULL; e++) {
		if (strncmp(*e, "CNI_", 4) != 0) continue;
		const char *eq = strchr(*e, '=');
		if (eq == NULL) continue;
		if (!utf8_valid((const unsigned char *)eq + 1, strlen(eq + 1)))
			fail(CODE_INVALID_ENV, "invalid env variable %.*s: not valid UTF-8", (int)(eq - *e), *e);
	}
}

/* The request body: Multus's api.Request, {"env": {...}, "config": base64(stdin)}. */
static void build_body(struct buf *body, const struct buf *conf) {
	buf_str(body, "{\"env\":{");
	int first = 1;
	for (char **e = environ; *e != NULL; e++) {
		const char *eq = strchr(*e, '=');
		if (eq == NULL || eq == *e) continue;
		if (!first) buf_add(body, ",", 1);
		first = 0;
		buf_add(body, "\"", 1);
		buf_json_escape(body, *e, (size_t)(eq - *e));
		buf_add(body, "\":\"", 3);
		buf_json_escape(body, eq + 1, strlen(eq + 1));
		buf_add(body, "\"", 1);
	}
	buf_str(body, "},\"config\":\"");
	buf_base64(body, (const unsigned char *)conf->data, conf->len);
	buf_str(body, "\"}");
}

/* Prints the daemon's failure: its CNI error JSON verbatim, or a CNI error built from what it said. */
static void report_failure(const struct response *res) {
	const char *p = res->body.data, *end = p + res->body.len;
	const char *vs, *ve;
	if (res->status == 400 && p != NULL && json_member(p, end, "code", &vs, &ve) && json_member(p, end, "msg", &vs, &ve)) {
		fwrite(p, 1, res->body.len, stdout);
		if (res->body.len == 0 || p[res->body.len - 1] != '\n') fputc('\n', stdout);
		fflush(stdout);
		exit(1);
	}
	fail(CODE_INTERNAL, "plexus daemon answered HTTP %d: %.*s", res->status, (int)(res->body.len > 2000 ? 2000 : res->body.len),
	     p ? p : "");
}

int main(int argc, char **argv) {
	signal(SIGPIPE, SIG_IGN);
	const char *socket_flag = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc) socket_flag = argv[++i];
		else if (strncmp(argv[i], "--socket=", 9) == 0) socket_flag = argv[i] + 9;
		else if (strcmp(argv[i], "--version") == 0) {
			printf("plexus-shim %s\n", PLEXUS_VERSION);
			return 0;
		} else fail(CODE_INVALID_ENV, "unknown argument \"%s\" (usage: plexus-shim [--socket PATH] [--version])", argv[i]);
	}

	const char *command = getenv("CNI_COMMAND");
	struct buf conf = {0};
	if (command == NULL || *command == '\0') fail(CODE_INVALID_ENV, "required env variable CNI_COMMAND is missing");
	read_stdin(&conf);
	char version[32];
	if (config_string(&conf, "cniVersion", version, sizeof version) && version[0] != '\0') {
		memcpy(g_cni_version, version, sizeof g_cni_version);
	}

	if (strcmp(command, "VERSION") == 0) {
		printf("{\"cniVersion\":\"%s\",\"supportedVersions\":%s}\n", CURRENT_VERSION, SUPPORTED_VERSIONS);
		return 0;
	}
	check_cni_env();
	int is_add = strcmp(command, "ADD") == 0;
	int is_del = strcmp(command, "DEL") == 0;
	int is_status = strcmp(command, "STATUS") == 0;

	char socket_path[4096];
	char dir[4000];
	if (socket_flag != NULL) snprintf(socket_path, sizeof socket_path, "%s", socket_flag);
	else if (getenv("PLEXUS_SOCKET") != NULL && *getenv("PLEXUS_SOCKET") != '\0')
		snprintf(socket_path, sizeof socket_path, "%s", getenv("PLEXUS_SOCKET"));
	else if ((config_string(&conf, "daemonSocketDir", dir, sizeof dir) && dir[0] != '\0') ||
		 (config_string(&conf, "socketDir", dir, sizeof dir) && dir[0] != '\0')) {
		/* As the daemon's own conf rule: a relative path would resolve against the runtime's cwd. */
		if (dir[0] != '/') fail(CODE_INVALID_CONFIG, "invalid config: socket directory \"%s\" is a relative path; it must be absolute", dir);
		size_t n = strlen(dir);
		snprintf(socket_path, sizeof socket_path, "%s%s%s", dir, dir[n - 1] == '/' ? "" : "/", SOCKET_NAME);
	} else snprintf(socket_path, sizeof socket_path, "%s", DEFAULT_SOCKET);

	struct buf body = {0};
	build_body(&body, &conf);
	char why[512] = "";
	long long start = now_ms();
	long answer_ms = env_ms("PLEXUS_SHIM_TIMEOUT_MS", 300000);

	if (!is_del) {
		/*
		 * Like multus-shim, every verb but DEL runs only on a ready daemon (see the top of this file
		 * for how that costs no extra exchange). STATUS is the runtime's readiness poll, so it does
		 * not wait for long: a daemon not ready within a second is code 50, "plugin not available"
		 * (SPEC.md STATUS), not a minute-long hang.
		 */
		long ready_ms = env_ms("PLEXUS_SHIM_READY_TIMEOUT_MS", 60000);
		if (is_status && ready_ms > STATUS_READY_MS) ready_ms = STATUS_READY_MS;
		struct response res;
		for (;;) {
			http(socket_path, "POST", "/cni", REQUIRE_READY_HEADER, &body, now_ms() + answer_ms, &res);
			if (res.reached && res.status != 503) break;
			/* Not there yet, or there but not ready: wait for /readyz, then ask again. */
			free(res.body.data);
			if (!wait_until_ok(socket_path, "/readyz", start + ready_ms, why, sizeof why)) {
				fail(is_status ? CODE_NOT_AVAILABLE : CODE_TRY_AGAIN_LATER,
				     "plexus daemon at \"%s\" not ready after %ld ms: %s", socket_path, ready_ms, why);
			}
		}
		if (res.status == 0) {
			fail(CODE_TRY_AGAIN_LATER, "failed to %s via plexus daemon at \"%s\": %s", command, socket_path, res.error);
		}
		if (res.status != 200) report_failure(&res);
		if (is_add) {
			const char *vs, *ve;
			if (res.body.len == 0 || !json_member(res.body.data, res.body.data + res.body.len, "Result", &vs, &ve) ||
			    *vs != '{') {
				fail(CODE_DECODE_FAILURE, "plexus daemon answered ADD without a result: %.*s",
				     (int)(res.body.len > 2000 ? 2000 : res.body.len), res.body.data ? res.body.data : "");
			}
			fwrite(vs, 1, (size_t)(ve - vs), stdout);
			fputc('\n', stdout);
		}
		return 0;
	}

	/*
	 * DEL: retry while the daemon cannot be reached (restarting, socket not there yet) or the
	 * connection broke before an answer (DEL is idempotent, so sending it again is safe), up to
	 * the DEL bound. Then report code 11: the runtime retries DEL, nothing is silently leaked.
	 */
	long del_ms = env_ms("PLEXUS_SHIM_DEL_TIMEOUT_MS", 10000);
	long long del_deadline = start + del_ms;
	for (;;) {
		struct response res;
		http(socket_path, "POST", "/cni", NULL, &body, now_ms() + answer_ms, &res);
		if (res.status == 200) return 0;
		if (res.status != 0) report_failure(&res);
		snprintf(why, sizeof why, "%s", res.error);
		free(res.body.data);
		if (now_ms() + POLL_INTERVAL_MS > del_deadline) break;
		sleep_ms(POLL_INTERVAL_MS);
	}
	fail(CODE_TRY_AGAIN_LATER, "failed to DEL via plexus daemon at \"%s\": unreachable for %ld ms: %s", socket_path, del_ms,
	     why);
}
