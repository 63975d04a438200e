/*
 * plexus_netns: opens things *inside* a network namespace. A netlink socket and a /proc/sys/net
 * file stay bound to the netns they were created in, so the caller then uses the fd freely.
 * The calling thread enters the netns for the socket (or open) call alone and returns to its own
 * netns before anything else runs, as Go's netns.Do does on a locked OS thread: it is one
 * synchronous C call, no JavaScript runs in between, and a thread that cannot return aborts the
 * process rather than go on in another netns. (A pthread per call kept the main thread still,
 * but its creation cost 0.2-1 ms per socket on the bench machine, ~1.5 ms of a one-shot ADD.)
 * unshare for createNetns moves its thread for good, so that still runs on a short-lived pthread.
 *
 * Exports (all synchronous; failures throw an Error with .errno (positive) and .syscall):
 *   openNetlink(nsPath: string | null, protocol: number, rcvTimeoutMs: number, rcvBufBytes: number) -> fd
 *   openFile(nsPath: string | null, path: string, flags: number, mode: number) -> fd
 *   send(fd: number, buf: Uint8Array) -> bytes sent (to the kernel, nl_pid 0)
 *   recv(fd: number, buf: Uint8Array) -> bytes received; EAGAIN on SO_RCVTIMEO expiry, EMSGSIZE on truncation
 *   close(fd: number) -> undefined
 *   createNetns(runDir: string, name: string) -> undefined: like `ip netns add`: makes runDir a shared
 *     mount point, creates runDir/name (EEXIST if there), and a short-lived pthread unshares a new
 *     netns and bind-mounts its own ns/net onto that file
 *   deleteNetns(path: string) -> undefined: like `ip netns del`: umount2(MNT_DETACH), then unlink
 *
 * Everything rtnetlink (encoding, decoding, sequence numbers, errors) is TypeScript in src/netlink/.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <node_api.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif

#define PATH_BYTES 4096

/* ---- N-API helpers ------------------------------------------------------------------------ */

static napi_value throw_errno(napi_env env, int err, const char *syscall, const char *path) {
	char msg[PATH_BYTES + 128];
	if (path != NULL && path[0] != '\0')
		snprintf(msg, sizeof msg, "%s %s: %s", syscall, path, strerror(err));
	else
		snprintf(msg, sizeof msg, "%s: %s", syscall, strerror(err));
	napi_value text, error, errno_value, syscall_value;
	if (napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text) != napi_ok) return NULL;
	if (napi_create_error(env, NULL, text, &error) != napi_ok) return NULL;
	napi_create_int32(env, err, &errno_value);
	napi_set_named_property(env, error, "errno", errno_value);
	napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_value);
	napi_set_named_property(env, error, "syscall", syscall_value);
	napi_throw(env, error);
	return NULL;
}

static napi_value throw_type(napi_env env, const char *msg) {
	napi_throw_type_error(env, NULL, msg);
	return NULL;
}

static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
	size_t argc = want;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) return -1;
	return 0;
}

static int get_int(napi_env env, napi_value value, int32_t *out) {
	return napi_get_value_int32(env, value, out) == napi_ok ? 0 : -1;
}

/* Reads a string argument; null/undefined give an empty string (meaning "current netns"). */
static int get_path(napi_env env, napi_value value, char *out) {
	napi_valuetype type;
	if (napi_typeof(env, value, &type) != napi_ok) return -1;
	if (type == napi_null || type == napi_undefined) {
		out[0] = '\0';
		return 0;
	}
	size_t len;
	if (type != napi_string || napi_get_value_string_utf8(env, value, out, PATH_BYTES, &len) != napi_ok) return -1;
	if (len >= PATH_BYTES - 1) return -1;
	return 0;
}

static int get_buffer(napi_env env, napi_value value, void **data, size_t *len) {
	bool is_typed;
	if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) return -1;
	napi_typedarray_type type;
	napi_value array_buffer;
	size_t offset;
	if (napi_get_typedarray_info(env, value, &type, len, data, &array_buffer, &offset) != napi_ok) return -1;
	if (type != napi_uint8_array) return -1;
	return 0;
}

static napi_value make_int(napi_env env, int64_t value) {
	napi_value out;
	napi_create_int64(env, value, &out);
	return out;
}

/* ---- jobs in a netns ----------------------------------------------------------------------- */

enum job_kind { JOB_NETLINK, JOB_FILE, JOB_UNSHARE };

struct job {
	enum job_kind kind;
	int ns_fd; /* -1: stay in the current netns */
	/* netlink */
	int protocol;
	int rcv_timeout_ms;
	int rcv_buf;
	/* file; JOB_UNSHARE: the file to bind the new netns onto */
	const char *path;
	int flags;
	int mode;
	/* result */
	int fd;
	int err;
	const char *syscall;
};

static void fail(struct job *job, const char *syscall) {
	job->err = errno;
	job->syscall = syscall;
	if (job->fd >= 0) close(job->fd);
	job->fd = -1;
}

static void do_netlink(struct job *job) {
	job->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, job->protocol);
	if (job->fd < 0) return fail(job, "socket");
	int one = 1;
	/* Best effort: kernels before 4.12 / 4.20 lack these; the TS side copes without them. */
	setsockopt(job->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
	setsockopt(job->fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof one);
	if (job->rcv_buf > 0) {
		if (setsockopt(job->fd, SOL_SOCKET, SO_RCVBUFFORCE, &job->rcv_buf, sizeof job->rcv_buf) < 0 &&
		    setsockopt(job->fd, SOL_SOCKET, SO_RCVBUF, &job->rcv_buf, sizeof job->rcv_buf) < 0)
			return fail(job, "setsockopt(SO_RCVBUF)");
	}
	if (job->rcv_timeout_ms > 0) {
		struct timeval tv = {.tv_sec = job->rcv_timeout_ms / 1000, .tv_usec = (job->rcv_timeout_ms % 1000) * 1000};
		if (setsockopt(job->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0) return fail(job, "setsockopt(SO_RCVTIMEO)");
	}
	struct sockaddr_nl local = {.nl_family = AF_NETLINK};
	if (bind(job->fd, (struct sockaddr *)&local, sizeof local) < 0) return fail(job, "bind");
}

static void do_file(struct job *job) {
	job->fd = open(job->path, job->flags | O_CLOEXEC, job->mode);
	if (job->fd < 0) fail(job, "open");
}

/* Moves this thread (only) into a new netns and pins it on job->path with a bind mount. */
static void do_unshare(struct job *job) {
	char self[64];
	if (unshare(CLONE_NEWNET) < 0) return fail(job, "unshare");
	/* /proc/self/ns/net would be the main thread's netns: this thread's is under task/<tid>. */
	snprintf(self, sizeof self, "/proc/self/task/%ld/ns/net", (long)syscall(SYS_gettid));
	if (mount(self, job->path, "none", MS_BIND, NULL) < 0) fail(job, "mount --bind netns");
}

static void *run_job(void *arg) {
	struct job *job = arg;
	job->fd = -1;
	do_unshare(job);
	return NULL; /* the thread, the only user of the new netns but for the mount, ends here */
}

static void do_open(struct job *job) {
	if (job->kind == JOB_NETLINK)
		do_netlink(job);
	else
		do_file(job);
}

/*
 * Runs a netlink or file job with this thread in the netns of job->ns_fd, then puts the thread
 * back in the netns it was in (its own, under /proc/thread-self: not the main thread's).
 */
static void run_in_netns(struct job *job) {
	int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (home < 0) return fail(job, "open /proc/thread-self/ns/net");
	if (setns(job->ns_fd, CLONE_NEWNET) < 0) {
		fail(job, "setns");
	} else {
		do_open(job);
		int saved = errno;
		if (setns(home, CLONE_NEWNET) < 0) {
			fprintf(stderr, "plexus_netns: cannot return to this thread's netns: %s\n", strerror(errno));
			abort();
		}
		errno = saved;
	}
	close(home);
}

/* Runs the job on a thread of its own and waits for it: unshare moves only that thread. */
static int run_on_thread(struct job *job) {
	pthread_t thread;
	int rc = pthread_create(&thread, NULL, run_job, job);
	if (rc != 0) {
		job->err = rc;
		job->syscall = "pthread_create";
		return -1;
	}
	pthread_join(thread, NULL);
	return 0;
}

/* Runs a netlink or file job: inside the netns at ns_path when one is given, else right here. */
static int run(struct job *job, const char *ns_path) {
	job->err = 0;
	job->syscall = NULL;
	job->ns_fd = -1;
	job->fd = -1;
	if (ns_path[0] == '\0') {
		do_open(job);
		return job->fd;
	}
	job->ns_fd = open(ns_path, O_RDONLY | O_CLOEXEC);
	if (job->ns_fd < 0) {
		job->err = errno;
		job->syscall = "open netns";
		return -1;
	}
	run_in_netns(job);
	close(job->ns_fd);
	return job->fd;
}

/* ---- netns files (ip netns add / del) ---------------------------------------------------------- */

/*
 * Makes run_dir a mount point with shared propagation, so that a later unmount of a netns file
 * reaches every mount namespace. As iproute2: make-shared fails with EINVAL while run_dir is not
 * a mount point; then bind it onto itself (once) and try again.
 */
static int share_run_dir(const char *run_dir, const char **syscall_name) {
	bool bound = false;
	if (mkdir(run_dir, 0755) < 0 && errno != EEXIST) {
		*syscall_name = "mkdir";
		return -1;
	}
	while (mount("", run_dir, "none", MS_SHARED | MS_REC, NULL) < 0) {
		if (errno != EINVAL || bound) {
			*syscall_name = "mount --make-rshared";
			return -1;
		}
		if (mount(run_dir, run_dir, "none", MS_BIND | MS_REC, NULL) < 0) {
			*syscall_name = "mount --rbind";
			return -1;
		}
		bound = true;
	}
	return 0;
}

static napi_value create_netns(napi_env env, napi_callback_info info) {
	napi_value argv[2];
	char run_dir[PATH_BYTES], name[PATH_BYTES], path[2 * PATH_BYTES + 1];
	if (get_args(env, info, 2, argv) < 0 || get_path(env, argv[0], run_dir) < 0 || get_path(env, argv[1], name) < 0 ||
	    run_dir[0] == '\0' || name[0] == '\0' || strchr(name, '/') != NULL || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return throw_type(env, "createNetns(runDir: string, name: string without '/')");
	const char *syscall_name = NULL;
	if (share_run_dir(run_dir, &syscall_name) < 0) return throw_errno(env, errno, syscall_name, run_dir);
	snprintf(path, sizeof path, "%s/%s", run_dir, name);
	int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
	if (fd < 0) return throw_errno(env, errno, "open", path);
	close(fd);
	struct job job = {.kind = JOB_UNSHARE, .path = path, .err = 0};
	run_on_thread(&job);
	if (job.err != 0) {
		unlink(path);
		return throw_errno(env, job.err, job.syscall, path);
	}
	return NULL;
}

static napi_value delete_netns(napi_env env, napi_callback_info info) {
	napi_value argv[1];
	char path[PATH_BYTES];
	if (get_args(env, info, 1, argv) < 0 || get_path(env, argv[0], path) < 0 || path[0] == '\0')
		return throw_type(env, "deleteNetns(path: string)");
	/* EINVAL: not a mount point (a half-made file); ENOENT: unlink reports it. */
	if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
		return throw_errno(env, errno, "umount2", path);
	if (unlink(path) < 0) return throw_errno(env, errno, "unlink", path);
	return NULL;
}

/* ---- exports ---------------------------------------------------------------------------------- */

static napi_value open_netlink(napi_env env, napi_callback_info info) {
	napi_value argv[4];
	char ns_path[PATH_BYTES];
	struct job job = {.kind = JOB_NETLINK};
	if (get_args(env, info, 4, argv) < 0 || get_path(env, argv[0], ns_path) < 0 ||
	    get_int(env, argv[1], &job.protocol) < 0 || get_int(env, argv[2], &job.rcv_timeout_ms) < 0 ||
	    get_int(env, argv[3], &job.rcv_buf) < 0)
		return throw_type(env, "openNetlink(nsPath: string | null, protocol, rcvTimeoutMs, rcvBufBytes)");
	if (run(&job, ns_path) < 0) return throw_errno(env, job.err, job.syscall, ns_path);
	return make_int(env, job.fd);
}

static napi_value open_file(napi_env env, napi_callback_info info) {
	napi_value argv[4];
	char ns_path[PATH_BYTES], path[PATH_BYTES];
	struct job job = {.kind = JOB_FILE, .path = path};
	if (get_args(env, info, 4, argv) < 0 || get_path(env, argv[0], ns_path) < 0 || get_path(env, argv[1], path) < 0 ||
	    path[0] == '\0' || get_int(env, argv[2], &job.flags) < 0 || get_int(env, argv[3], &job.mode) < 0)
		return throw_type(env, "openFile(nsPath: string | null, path: string, flags, mode)");
	if (run(&job, ns_path) < 0)
		return throw_errno(env, job.err, job.syscall, strcmp(job.syscall, "open") == 0 ? path : ns_path);
	return make_int(env, job.fd);
}

static napi_value send_message(napi_env env, napi_callback_info info) {
	napi_value argv[2];
	int32_t fd;
	void *data;
	size_t len;
	if (get_args(env, info, 2, argv) < 0 || get_int(env, argv[0], &fd) < 0 || get_buffer(env, argv[1], &data, &len) < 0)
		return throw_type(env, "send(fd, buf: Uint8Array)");
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	ssize_t n;
	do n = sendto(fd, data, len, 0, (struct sockaddr *)&kernel, sizeof kernel);
	while (n < 0 && errno == EINTR);
	if (n < 0) return throw_errno(env, errno, "sendto", NULL);
	return make_int(env, n);
}

static napi_value recv_message(napi_env env, napi_callback_info info) {
	napi_value argv[2];
	int32_t fd;
	void *data;
	size_t len;
	if (get_args(env, info, 2, argv) < 0 || get_int(env, argv[0], &fd) < 0 || get_buffer(env, argv[1], &data, &len) < 0)
		return throw_type(env, "recv(fd, buf: Uint8Array)");
	struct sockaddr_nl from;
	struct iovec iov = {.iov_base = data, .iov_len = len};
	struct msghdr msg = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;
	do n = recvmsg(fd, &msg, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0) return throw_errno(env, errno, "recvmsg", NULL);
	if (msg.msg_flags & MSG_TRUNC) return throw_errno(env, EMSGSIZE, "recvmsg (datagram truncated)", NULL);
	return make_int(env, n);
}

static napi_value close_fd(napi_env env, napi_callback_info info) {
	napi_value argv[1];
	int32_t fd;
	if (get_args(env, info, 1, argv) < 0 || get_int(env, argv[0], &fd) < 0) return throw_type(env, "close(fd)");
	if (close(fd) < 0 && errno != EINTR) return throw_errno(env, errno, "close", NULL);
	return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
	napi_property_descriptor props[] = {
		{"openNetlink", NULL, open_netlink, NULL, NULL, NULL, napi_enumerable, NULL},
		{"openFile", NULL, open_file, NULL, NULL, NULL, napi_enumerable, NULL},
		{"send", NULL, send_message, NULL, NULL, NULL, napi_enumerable, NULL},
		{"recv", NULL, recv_message, NULL, NULL, NULL, napi_enumerable, NULL},
		{"close", NULL, close_fd, NULL, NULL, NULL, napi_enumerable, NULL},
		{"createNetns", NULL, create_netns, NULL, NULL, NULL, napi_enumerable, NULL},
		{"deleteNetns", NULL, delete_netns, NULL, NULL, NULL, napi_enumerable, NULL},
	};
	if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
	return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
