/*
 * The pod sandbox's process for the e2e node: it holds the pod's namespaces open, reaps any orphan
 * handed to it, and exits 0 on SIGTERM or SIGINT. The e2e image build compiles it statically, so the
 * pause image is this one file and needs no registry.
 */
#include <signal.h>
#include <stddef.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int sig) {
	(void)sig;
	_exit(0);
}

static void reap(int sig) {
	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0) {
	}
}

int main(void) {
	struct sigaction on_stop = {0};
	on_stop.sa_handler = stop;
	sigaction(SIGTERM, &on_stop, NULL);
	sigaction(SIGINT, &on_stop, NULL);

	struct sigaction on_child = {0};
	on_child.sa_handler = reap;
	on_child.sa_flags = SA_NOCLDSTOP | SA_RESTART;
	sigaction(SIGCHLD, &on_child, NULL);

	for (;;) {
		pause();
	}
}
