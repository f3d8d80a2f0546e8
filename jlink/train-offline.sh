#!/usr/bin/env bash
# Trains an AOT cache for a runtime where no API server is reachable (the Dockerfile's builder stage):
# the agent starts with the production options, validates a real certificate, builds its TLS client
# and retries against a closed port until it is stopped. That covers start-up, configuration, logging,
# certificate parsing and the HTTP stack; `make runtime` (AotTraining) trains on a full run against a
# real apiserver instead, and is what the benchmarks measure.
#
# Usage: jlink/train-offline.sh RUNTIME_DIR [ROOT]   (writes RUNTIME_DIR/app/app.aot)
#   ROOT  an image root file system: RUNTIME_DIR is then a path inside it (/opt/kscu), and the agent
#         runs chrooted there, so the cache records the paths the container will use. The e2e image
#         build (e2e/image/build-oci.sh) trains this way; it needs root.
set -euo pipefail
root=${2:-}
if [[ -n $root ]]; then
	root=$(cd "$root" && pwd)
	runtime=${1:?usage: train-offline.sh RUNTIME_DIR [ROOT]}
	[[ $runtime == /* && -x $root$runtime/jre/bin/java ]] || {
		echo "train-offline.sh: $root$runtime/jre/bin/java is missing (RUNTIME_DIR is a path inside ROOT)" >&2
		exit 1
	}
	mkdir -p "$root/tmp" "$root/dev" "$root/proc"
	inside=$(mktemp -d "$root/tmp/training.XXXXXX")
	work=$inside
	inside=${inside#"$root"}
	# Runs in the background (exec keeps $! the JVM's pid, for the SIGTERM below). A private mount
	# namespace: the /dev and /proc mounts vanish with the process, even if it is killed.
	# shellcheck disable=SC2016 # expanded by the inner sh
	exec_agent() { exec unshare --mount --propagation private -- sh -c 'r=$1; shift; mount --rbind /dev "$r/dev" &&
		mount -t proc proc "$r/proc" && exec chroot "$r" "$@"' sh "$root" "$@"; }
else
	runtime=$(cd "${1:?usage: train-offline.sh RUNTIME_DIR [ROOT]}" && pwd)
	work=$(mktemp -d)
	inside=$work
	exec_agent() { exec "$@"; }
fi
java=$runtime/jre/bin/java
trap 'rm -rf "$work"' EXIT

# A certificate for the node, made with the runtime's own tools: keytool is not in the stripped runtime,
# so use the JDK that built it (JAVA_HOME) when present.
keytool=${JAVA_HOME:+$JAVA_HOME/bin/}keytool
"$keytool" -genkeypair -keyalg EC -groupname secp256r1 -alias node -dname "CN=system:node:training" \
	-validity 2 -keystore "$work/ks.p12" -storepass training -storetype PKCS12 >/dev/null 2>&1
"$keytool" -exportcert -rfc -alias node -keystore "$work/ks.p12" -storepass training >"$work/node.pem" 2>/dev/null
cat >"$work/kubeconfig" <<'KUBECONFIG'
apiVersion: v1
kind: Config
clusters:
- name: closed
  cluster:
    server: https://127.0.0.1:9
    insecure-skip-tls-verify: true
users:
- name: training
  user:
    token: training
contexts:
- name: training
  context: {cluster: closed, user: training}
current-context: training
KUBECONFIG

# Settings in the environment and no arguments, as the DaemonSet runs it: that path skips picocli.
NODE_NAME=training KUBECONFIG=$inside/kubeconfig CERT_FILE=$inside/node.pem STARTUP_JITTER=0 \
	HEALTH_ADDR=127.0.0.1:0 LOG_FORMAT=json exec_agent "$java" "@$runtime/app/jvm.options" \
	"-XX:AOTCacheOutput=$runtime/app/app.aot" -jar "$runtime/app/kubelet-server-cert-untaint.jar" \
	>"$work/agent.log" 2>&1 &
pid=$!
sleep 4
kill -TERM "$pid"
if ! wait "$pid"; then
	cat "$work/agent.log" >&2
	echo "train-offline.sh: the training run did not exit 0" >&2
	exit 1
fi
cache=$root$runtime/app/app.aot
[[ -s $cache ]] || { echo "train-offline.sh: no AOT cache written" >&2; exit 1; }
echo "train-offline.sh: $cache ($(du -h "$cache" | cut -f1))" >&2
