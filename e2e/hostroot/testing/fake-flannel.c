/*
 * fake-flannel: a test CNI plugin that needs the host's root the way flannel does. It reads the
 * subnet file a node agent wrote under the host's /run (config key "subnetFile", as flannel reads
 * /run/flannel/subnet.env), then delegates ADD/DEL/CHECK to "bridge" (found on CNI_PATH) with
 * host-local IPAM on that file's FLANNEL_SUBNET, and passes the delegate's answer through.
 *
 * Static, so it runs in any root: inside a container that lacks the host's /run it fails with
 * flannel's message naming the file. Config keys: "subnetFile" (required), "bridge" (bridge
 * name), "dataDir" (host-local's), "holdFile" (ADD waits while that file exists, after creating
 * "<holdFile>.started": tests use it to keep a request in flight). Keys are found by a plain scan
 * of the top-level JSON: the tests write these configs, nothing else does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char input[1 << 20];

/* Prints a CNI error and exits 1. */
static void fail(int code, const char *msg) {
	printf("{\"cniVersion\":\"1.0.0\",\"code\":%d,\"msg\":\"%s\"}\n", code, msg);
	exit(1);
}

/* The string value of "key" in `json` (first occurrence), or `fallback`. */
static const char *field(const char *json, const char *key, const char *fallback) {
	static char values[4][512];
	static int next;
	char quoted[128];
	snprintf(quoted, sizeof quoted, "\"%s\"", key);
	const char *at = strstr(json, quoted);
	if (at == NULL) return fallback;
	at += strlen(quoted);
	while (*at == ' ' || *at == ':' || *at == '\t' || *at == '\n') at++;
	if (*at != '"') return fallback;
	char *out = values[next++ % 4];
	size_t n = 0;
	for (at++; *at != '\0' && *at != '"' && n < 511; at++) out[n++] = *at;
	out[n] = '\0';
	return out;
}

/* FLANNEL_SUBNET from the subnet file, or fail as flannel does when the file is not there. */
static void read_subnet(const char *file, char *subnet, size_t size) {
	char msg[1024];
	FILE *f = fopen(file, "r");
	if (f == NULL) {
		snprintf(msg, sizeof msg, "failed to load flannel 'subnet.env' file: open %s: %s", file, strerror(errno));
		fail(11, msg);
	}
	char line[512];
	subnet[0] = '\0';
	while (fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, "FLANNEL_SUBNET=", 15) == 0) {
			snprintf(subnet, size, "%s", line + 15);
			subnet[strcspn(subnet, "\r\n")] = '\0';
		}
	}
	fclose(f);
	if (subnet[0] == '\0') {
		snprintf(msg, sizeof msg, "%s has no FLANNEL_SUBNET", file);
		fail(11, msg);
	}
}

/* Runs `plugin` from CNI_PATH with `conf` on stdin; copies its stdout and exits with its status. */
static void delegate(const char *plugin, const char *conf) {
	char path[4096] = "", candidate[4096], msg[1024];
	const char *cni_path = getenv("CNI_PATH");
	char dirs[4096];
	snprintf(dirs, sizeof dirs, "%s", cni_path == NULL ? "" : cni_path);
	for (char *dir = strtok(dirs, ":"); dir != NULL; dir = strtok(NULL, ":")) {
		snprintf(candidate, sizeof candidate, "%s/%s", dir, plugin);
		if (access(candidate, X_OK) == 0) {
			snprintf(path, sizeof path, "%s", candidate);
			break;
		}
	}
	if (path[0] == '\0') {
		snprintf(msg, sizeof msg, "failed to find plugin %s in path %s", plugin, cni_path == NULL ? "" : cni_path);
		fail(7, msg);
	}
	int in[2], out[2];
	if (pipe(in) != 0 || pipe(out) != 0) fail(999, "pipe failed");
	pid_t pid = fork();
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		char *args[] = {path, NULL};
		execv(path, args);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	if (write(in[1], conf, strlen(conf)) < 0) fail(999, "write to delegate failed");
	close(in[1]);
	char buf[65536];
	ssize_t n;
	while ((n = read(out[0], buf, sizeof buf)) > 0) fwrite(buf, 1, (size_t)n, stdout);
	int status = 0;
	waitpid(pid, &status, 0);
	fflush(stdout);
	exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}

int main(void) {
	const char *command = getenv("CNI_COMMAND");
	if (command == NULL) fail(4, "CNI_COMMAND is not set");
	if (strcmp(command, "VERSION") == 0) {
		puts("{\"cniVersion\":\"1.0.0\",\"supportedVersions\":[\"0.3.1\",\"0.4.0\",\"1.0.0\"]}");
		return 0;
	}
	size_t len = fread(input, 1, sizeof input - 1, stdin);
	input[len] = '\0';
	if (strcmp(command, "ADD") != 0 && strcmp(command, "DEL") != 0 && strcmp(command, "CHECK") != 0) return 0;
	char subnet[256];
	read_subnet(field(input, "subnetFile", ""), subnet, sizeof subnet);
	const char *hold = field(input, "holdFile", "");
	struct stat st;
	if (strcmp(command, "ADD") == 0 && hold[0] != '\0' && stat(hold, &st) == 0) {
		char started[600];
		snprintf(started, sizeof started, "%s.started", hold);
		FILE *f = fopen(started, "w");
		if (f != NULL) fclose(f);
		while (stat(hold, &st) == 0) usleep(20000);
	}
	static char conf[8192];
	snprintf(conf, sizeof conf,
	         "{\"cniVersion\":\"%s\",\"name\":\"%s\",\"type\":\"bridge\",\"bridge\":\"%s\","
	         "\"ipam\":{\"type\":\"host-local\",\"subnet\":\"%s\",\"dataDir\":\"%s\"}}",
	         field(input, "cniVersion", "1.0.0"), field(input, "name", "fake-flannel"),
	         field(input, "bridge", "cni0"), subnet, field(input, "dataDir", "/var/lib/cni/networks"));
	delegate("bridge", conf);
	return 0;
}
