/*
 * plexus_spawn: starts a delegate with posix_spawn(3) instead of fork(2).
 *
 * node:child_process forks the whole Node process (libuv's uv_spawn calls fork): the kernel copies
 * the page tables of every resident page and the child faults copy-on-write pages until it execs.
 * Measured on the benchmark's 2-core machine, one run of /bin/true costs 7 ms from a 56 MB Node
 * process, 10 ms from 106 MB and 13 ms from 180 MB; posix_spawn (glibc: clone with CLONE_VM |
 * CLONE_VFORK, no page-table copy) costs 2.1 ms whatever the size, as Go's os/exec does for
 * containerd. An ADD of the benchmark's pod runs five delegates.
 *
 * Exports:
 *   spawn(file: string, argv: string[], env: string[], onExit: (code, signal) => void)
 *     -> [pid, stdinFd, stdoutFd, stderrFd]
 *   The child gets three fresh pipes as fds 0-2 and no other fd, exactly `env`, an empty signal
 *   mask and every signal at its default disposition (Node ignores SIGPIPE; a plugin must not
 *   inherit that), but glibc's two internal signals, which its posix_spawn leaves ignored and
 *   which glibc and Go programs set up again as they start. The parent's ends are close-on-exec;
 *   the caller owns them. A detached thread waits for the child (waitpid on its pid only, so
 *   libuv's own children are untouched) and calls `onExit` on the JS thread with the exit status
 *   (or -1) and the signal number (or 0). Until then the pending call keeps the event loop alive,
 *   as a running ChildProcess does.
 *   Failure to start throws an Error with .errno (positive), .code ("ETXTBSY", "ENOENT", ...) and
 *   .syscall "posix_spawn"; no fd or thread is left behind.
 *
 *   exitNow(code: number) -> never
 *   Ends this process with `code` through _exit(2), without Node's teardown (its platform threads
 *   joined, the heap and environment freed: ~2 ms of a one-shot CNI call on the benchmark's
 *   machine, after the answer is written). For a process whose work is done and written: stdout,
 *   stderr and log files are written synchronously, the compile cache when each module compiles.
 */
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define WAITER_STACK_BYTES (64 * 1024)

static napi_value throw_errno(napi_env env, int err, const char *syscall, const char *file) {
	char msg[4200];
	snprintf(msg, sizeof msg, "%s %s: %s", syscall, file, strerror(err));
	napi_value text, error, value;
	if (napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text) != napi_ok) return NULL;
	if (napi_create_error(env, NULL, text, &error) != napi_ok) return NULL;
	napi_create_int32(env, err, &value);
	napi_set_named_property(env, error, "errno", value);
	const char *name = strerrorname_np(err);
	if (name != NULL) {
		napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &value);
		napi_set_named_property(env, error, "code", value);
	}
	napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &value);
	napi_set_named_property(env, error, "syscall", value);
	napi_throw(env, error);
	return NULL;
}

/* A NULL-terminated copy of a JS string array; NULL (with a TypeError thrown) on bad input. */
static char **string_array(napi_env env, napi_value array, const char *what) {
	bool is_array;
	uint32_t n;
	if (napi_is_array(env, array, &is_array) != napi_ok || !is_array ||
	    napi_get_array_length(env, array, &n) != napi_ok) {
		napi_throw_type_error(env, NULL, what);
		return NULL;
	}
	char **out = calloc((size_t)n + 1, sizeof *out);
	if (out == NULL) {
		napi_throw_error(env, NULL, "out of memory");
		return NULL;
	}
	for (uint32_t i = 0; i < n; i++) {
		napi_value item;
		size_t len;
		if (napi_get_element(env, array, i, &item) != napi_ok ||
		    napi_get_value_string_utf8(env, item, NULL, 0, &len) != napi_ok ||
		    (out[i] = malloc(len + 1)) == NULL ||
		    napi_get_value_string_utf8(env, item, out[i], len + 1, &len) != napi_ok ||
		    strlen(out[i]) != len) {
			for (uint32_t j = 0; j <= i; j++) free(out[j]);
			free(out);
			napi_throw_type_error(env, NULL, what);
			return NULL;
		}
	}
	return out;
}

static void free_array(char **array) {
	if (array == NULL) return;
	for (char **p = array; *p != NULL; p++) free(*p);
	free(array);
}

/* ---- the waiter thread ---------------------------------------------------------------------- */

struct waiter {
	pid_t pid;
	int status;
	napi_threadsafe_function tsfn;
};

static void *wait_child(void *arg) {
	struct waiter *w = arg;
	while (waitpid(w->pid, &w->status, 0) < 0 && errno == EINTR) {
	}
	/* call_on_exit frees w: keep the handle this thread still has to release. */
	napi_threadsafe_function tsfn = w->tsfn;
	if (napi_call_threadsafe_function(tsfn, w, napi_tsfn_blocking) != napi_ok) free(w); /* Node is exiting */
	napi_release_threadsafe_function(tsfn, napi_tsfn_release);
	return NULL;
}

/* On the JS thread: onExit(code, signal), then the waiter is freed. */
static void call_on_exit(napi_env env, napi_value callback, void *context, void *data) {
	(void)context;
	struct waiter *w = data;
	int code = -1, signal = 0;
	if (WIFEXITED(w->status)) code = WEXITSTATUS(w->status);
	else if (WIFSIGNALED(w->status)) signal = WTERMSIG(w->status);
	free(w);
	if (env == NULL || callback == NULL) return; /* the environment is shutting down */
	napi_value args[2], global, ignored;
	napi_create_int32(env, code, &args[0]);
	napi_create_int32(env, signal, &args[1]);
	napi_get_global(env, &global);
	napi_call_function(env, global, callback, 2, args, &ignored);
}

/* ---- spawn ---------------------------------------------------------------------------------- */

static void close_pair(int *fds) {
	if (fds[0] >= 0) close(fds[0]);
	if (fds[1] >= 0) close(fds[1]);
	fds[0] = fds[1] = -1;
}

static napi_value Spawn(napi_env env, napi_callback_info info) {
	size_t argc = 4;
	napi_value args[4];
	if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok || argc < 4) {
		napi_throw_type_error(env, NULL, "spawn(file, argv, env, onExit)");
		return NULL;
	}
	char file[4096];
	size_t file_len;
	if (napi_get_value_string_utf8(env, args[0], file, sizeof file, &file_len) != napi_ok ||
	    file_len >= sizeof file - 1 || strlen(file) != file_len) {
		napi_throw_type_error(env, NULL, "spawn: file must be a path without NUL");
		return NULL;
	}
	char **argv = string_array(env, args[1], "spawn: argv must be strings without NUL");
	if (argv == NULL) return NULL;
	char **envp = string_array(env, args[2], "spawn: env must be strings without NUL");
	if (envp == NULL) {
		free_array(argv);
		return NULL;
	}

	struct waiter *w = calloc(1, sizeof *w);
	napi_value name;
	napi_create_string_utf8(env, "plexus_spawn", NAPI_AUTO_LENGTH, &name);
	if (w == NULL || napi_create_threadsafe_function(env, args[3], NULL, name, 0, 1, NULL, NULL, NULL,
	                                                 call_on_exit, &w->tsfn) != napi_ok) {
		free(w);
		free_array(argv);
		free_array(envp);
		napi_throw_error(env, NULL, "spawn: cannot create the exit callback");
		return NULL;
	}

	int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
	int failed = 0;
	const char *syscall = "pipe2";
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) failed = errno;

	posix_spawn_file_actions_t actions;
	posix_spawnattr_t attr;
	pid_t pid = -1;
	if (!failed) {
		posix_spawn_file_actions_init(&actions);
		posix_spawn_file_actions_adddup2(&actions, in[0], 0);
		posix_spawn_file_actions_adddup2(&actions, out[1], 1);
		posix_spawn_file_actions_adddup2(&actions, err[1], 2);
		/* Only fds 0-2 reach a delegate, as with Go's os/exec (Node's own spawn passes on any fd
		 * not marked close-on-exec). */
		posix_spawn_file_actions_addclosefrom_np(&actions, 3);
		posix_spawnattr_init(&attr);
		sigset_t none, all;
		sigemptyset(&none);
		sigfillset(&all);
		sigdelset(&all, SIGKILL);
		sigdelset(&all, SIGSTOP);
		posix_spawnattr_setsigmask(&attr, &none);
		posix_spawnattr_setsigdefault(&attr, &all);
		posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
		syscall = "posix_spawn";
		failed = posix_spawn(&pid, file, &actions, &attr, argv, envp);
		posix_spawn_file_actions_destroy(&actions);
		posix_spawnattr_destroy(&attr);
	}
	free_array(argv);
	free_array(envp);
	/* The child's ends are its own now (or nobody's). */
	if (in[0] >= 0) close(in[0]);
	if (out[1] >= 0) close(out[1]);
	if (err[1] >= 0) close(err[1]);
	in[0] = out[1] = err[1] = -1;
	if (failed) {
		close_pair(in);
		close_pair(out);
		close_pair(err);
		napi_release_threadsafe_function(w->tsfn, napi_tsfn_abort);
		free(w);
		return throw_errno(env, failed, syscall, file);
	}

	w->pid = pid;
	pthread_attr_t thread_attr;
	pthread_t thread;
	pthread_attr_init(&thread_attr);
	pthread_attr_setdetachstate(&thread_attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&thread_attr, WAITER_STACK_BYTES);
	int started = pthread_create(&thread, &thread_attr, wait_child, w);
	pthread_attr_destroy(&thread_attr);
	if (started != 0) {
		/* Nobody could reap it: stop it and reap it here rather than leave a zombie. */
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
		}
		close_pair(in);
		close_pair(out);
		close_pair(err);
		napi_release_threadsafe_function(w->tsfn, napi_tsfn_abort);
		free(w);
		return throw_errno(env, started, "pthread_create", file);
	}

	napi_value result, value;
	napi_create_array_with_length(env, 4, &result);
	int values[4] = {pid, in[1], out[0], err[0]};
	for (uint32_t i = 0; i < 4; i++) {
		napi_create_int32(env, values[i], &value);
		napi_set_element(env, result, i, value);
	}
	return result;
}

static napi_value ExitNow(napi_env env, napi_callback_info info) {
	size_t argc = 1;
	napi_value args[1];
	int32_t code = 0;
	napi_get_cb_info(env, info, &argc, args, NULL, NULL);
	if (argc < 1 || napi_get_value_int32(env, args[0], &code) != napi_ok) {
		napi_throw_type_error(env, NULL, "exitNow: expects an exit code");
		return NULL;
	}
	_exit(code & 0xff);
}

static napi_value init(napi_env env, napi_value exports) {
	napi_value fn;
	napi_create_function(env, "spawn", NAPI_AUTO_LENGTH, Spawn, NULL, &fn);
	napi_set_named_property(env, exports, "spawn", fn);
	napi_create_function(env, "exitNow", NAPI_AUTO_LENGTH, ExitNow, NULL, &fn);
	napi_set_named_property(env, exports, "exitNow", fn);
	return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
