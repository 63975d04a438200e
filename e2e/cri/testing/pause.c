/*
 * The sandbox ("pause") container of the CRI e2e tests: holds the pod's namespaces open and sleeps
 * until SIGTERM or SIGINT, then exits 0. Built with `gcc -static` by pause-image.ts (no registry here).
 */
#include <signal.h>
#include <unistd.h>

static void on_signal(int sig) {
	(void)sig;
	_exit(0);
}

int main(void) {
	struct sigaction action = {0};
	action.sa_handler = on_signal;
	sigaction(SIGTERM, &action, NULL);
	sigaction(SIGINT, &action, NULL);
	for (;;) pause();
}
