# shellcheck shell=bash disable=SC2034 # its variables are read by e2e/run.sh and the scenarios
# Cluster provider `local-node`, sourced by e2e/run.sh: a one-node cluster on this host, no Docker.
# etcd, kube-apiserver (Node+RBAC, NodeRestriction, verifying kubelets' serving certs against the
# cluster CA), kube-controller-manager (signs CSRs with the cluster CA, approves none of the serving
# ones), kube-scheduler, containerd (cgroupfs, its own root and socket) and a kubelet with
# serverTLSBootstrap and registerWithTaints. The node's serving CSR stays pending until a scenario
# approves it: the delayed certificate, by the real mechanism.
#
# Needs root, cgroup v1 or v2, Debian's containerd, runc and containernetworking-plugins, and the
# binaries of `make tools` in $TOOLS_BIN. The node gets a fixed address on a veth pair of its own, as
# the kubelet refuses a loopback node IP. The kubelet uses the real /var/lib/kubelet, so the DaemonSet's
# hostPath and the symlink inside it are exactly those of a real node; `up` refuses to run if that
# directory exists and is not ours.
#
# Everything the provider creates is undone by `provider_down`, which `up` also runs first, so a run
# that was killed is cleaned up by the next one: processes (by pid file and by the paths on their
# command lines), containers, mounts, cgroups, the veth pair, and the sysctls the kubelet changes.

LN_STATE=/var/lib/kscu-e2e
LN_RUN=/run/kscu-e2e
LN_KUBELET_ROOT=/var/lib/kubelet
LN_MARKER=$LN_KUBELET_ROOT/.kscu-e2e
LN_NODE=kscu-e2e-node
LN_NODE_IP=10.254.254.1
LN_VETH=kscu-e2e0
LN_API_PORT=6443
LN_ETCD_PORT=23790
LN_CGROUP_ROOT=kscu-e2e
LN_SOCK=$LN_RUN/containerd/containerd.sock
# The sysctls the kubelet sets at start (its "kernel tunables"); restored by provider_down.
LN_SYSCTLS=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys
	kernel.keys.root_maxbytes)

# What e2e/run.sh and the scenarios use.
E2E_NODE=$LN_NODE
KUBECONFIG=$LN_STATE/admin.kubeconfig
POD_LOGS_DIR=$LN_STATE/pod-logs

# What this machine must have before anything is built.
provider_preflight() {
	((EUID == 0)) || die "local-node needs root (containerd, kubelet, mounts)"
	local missing=()
	for tool in containerd containerd-shim-runc-v2 runc ctr ip jq setsid unshare buildah gcc; do
		command -v "$tool" >/dev/null || missing+=("$tool")
	done
	[[ -x /usr/lib/cni/bridge ]] || missing+=("/usr/lib/cni/bridge")
	((${#missing[@]} == 0)) ||
		die "missing: ${missing[*]} (apt-get install containerd runc containernetworking-plugins iproute2 jq util-linux buildah gcc)"
}

# The binaries of make tools, and the test classes that make the cluster's PKI.
provider_check() {
	local tool
	for tool in etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl; do
		[[ -x $TOOLS_BIN/$tool ]] || die "$TOOLS_BIN/$tool is missing: run make tools"
	done
	[[ -x ${JAVA_HOME:-}/bin/java && -f $E2E_REPO/target/test-classpath.txt ]] ||
		die "JAVA_HOME (a JDK 25) and target/test-classpath.txt are needed for the cluster's PKI: run make e2e-node"
}

ln_ctr() { ctr --address "$LN_SOCK" --namespace k8s.io "$@"; }

# Starts a long-running process in its own session, logging to $E2E_LOGS/NAME.log.
ln_start() {
	local name=$1
	shift
	setsid "$@" >>"$E2E_LOGS/$name.log" 2>&1 </dev/null &
	echo $! >"$LN_STATE/pids/$name"
}

ln_stop() {
	local name=$1 pid
	[[ -f $LN_STATE/pids/$name ]] || return 0
	pid=$(<"$LN_STATE/pids/$name")
	if kill -TERM "$pid" 2>/dev/null; then
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$LN_STATE/pids/$name"
}

# The cluster's PKI in the layout every control plane here uses (Pki.java, also behind ControlPlane.java),
# with the clients a node's cluster needs, and their kubeconfigs.
ln_pki() {
	local pki=$LN_STATE/pki user
	"$JAVA_HOME/bin/java" -cp "$E2E_REPO/target/test-classes:$(<"$E2E_REPO/target/test-classpath.txt")" \
		io.github.kscu.testing.Pki "$LN_STATE" "$LN_NODE_IP" \
		apiserver-kubelet-client=kube-apiserver-kubelet-client/system:masters admin=kscu-e2e-admin/system:masters \
		"kubelet=system:node:$LN_NODE/system:nodes"
	for user in admin kubelet; do
		bash "$E2E_REPO/scaffolding/kubeconfig.sh" "https://$LN_NODE_IP:$LN_API_PORT" "$pki/ca.crt" "$user" \
			"cert=$pki/$user.crt" "key=$pki/$user.key" >"$LN_STATE/$user.kubeconfig"
	done
}

ln_configs() {
	mkdir -p "$LN_STATE/cni" "$LN_STATE/pod-logs" "$LN_STATE/volume-plugins"
	# The kubelet asks for oom_score_adj -998 on every pod sandbox, and lowering a score needs
	# CAP_SYS_RESOURCE. Where this host withholds it (some sandboxed VMs do), runc would fail every pod
	# with "can't get final child's PID from pipe"; containerd then clamps scores at its own instead.
	local restrict_oom=false
	(((0x$(awk '/^CapEff:/ { print $2 }' /proc/self/status) >> 24) & 1)) || restrict_oom=true
	cat >"$LN_STATE/containerd.toml" <<EOF
version = 2
root = "$LN_STATE/containerd"
state = "$LN_RUN/containerd"
[grpc]
  address = "$LN_SOCK"
[ttrpc]
  address = "$LN_SOCK.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$LN_STATE/containerd-opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "localhost/pause:e2e"
  # Pod network namespaces under our state directory, so that clean-up finds them.
  netns_mounts_under_state_dir = true
  restrict_oom_score_adj = $restrict_oom
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$LN_STATE/cni"
EOF
	# A pod network only so that the runtime reports NetworkReady and the node turns Ready as a real
	# one does; the agent itself is on the host network.
	cat >"$LN_STATE/cni/10-kscu-e2e.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "kscu-e2e",
  "plugins": [
    {"type": "bridge", "bridge": "kscu-e2e-br", "isGateway": true, "ipMasq": false,
     "ipam": {"type": "host-local", "dataDir": "$LN_STATE/cni-ipam", "ranges": [[{"subnet": "10.254.128.0/24"}]]}},
    {"type": "loopback"}
  ]
}
EOF
	cat >"$LN_STATE/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# This host runs cgroup v1, which the kubelet refuses from 1.35 on unless told otherwise.
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: /$LN_CGROUP_ROOT
containerRuntimeEndpoint: unix://$LN_SOCK
address: $LN_NODE_IP
port: 10250
readOnlyPort: 0
healthzPort: 0
# What the product is for: the serving certificate comes from a CSR that someone must approve, and
# the node registers with the startup taint.
serverTLSBootstrap: true
registerWithTaints:
- key: $E2E_TAINT_KEY
  effect: NoSchedule
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $LN_STATE/pki/ca.crt}
authorization: {mode: Webhook}
failSwapOn: false
podLogsDirectory: $LN_STATE/pod-logs
resolvConf: /etc/resolv.conf
# A test host's disk or memory must not put pressure taints on the node or evict the agent.
evictionHard: {memory.available: "50Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
EOF
}

ln_save_sysctls() {
	[[ -f $LN_STATE/sysctls ]] && return 0
	local s
	for s in "${LN_SYSCTLS[@]}"; do
		printf '%s=%s\n' "$s" "$(sysctl -n "$s")"
	done >"$LN_STATE/sysctls"
}

provider_up() {
	provider_down
	[[ ! -e $LN_KUBELET_ROOT ]] ||
		die "$LN_KUBELET_ROOT exists and is not from a local-node run: is a kubelet installed here? (remove it to proceed)"
	mkdir -p "$LN_STATE/pids" "$LN_RUN" "$LN_KUBELET_ROOT" "$E2E_LOGS"
	touch "$LN_MARKER"
	ln_save_sysctls

	ip link add "$LN_VETH" type veth peer name "${LN_VETH%0}1"
	ip addr add "$LN_NODE_IP/30" dev "$LN_VETH"
	ip link set "$LN_VETH" up
	ip link set "${LN_VETH%0}1" up

	ln_pki
	ln_configs
	local pki=$LN_STATE/pki
	ln_start etcd bash "$E2E_REPO/scaffolding/control-plane.sh" etcd "$LN_STATE" "$LN_ETCD_PORT" "$((LN_ETCD_PORT + 1))"
	ln_start kube-apiserver bash "$E2E_REPO/scaffolding/control-plane.sh" kube-apiserver "$LN_STATE" "$LN_ETCD_PORT" \
		"$LN_NODE_IP" "$LN_API_PORT" --allow-privileged=true \
		--kubelet-client-certificate="$pki/apiserver-kubelet-client.crt" \
		--kubelet-client-key="$pki/apiserver-kubelet-client.key" \
		--kubelet-certificate-authority="$pki/ca.crt" --kubelet-preferred-address-types=InternalIP
	eventually 60 kctl get --raw /readyz
	ln_start kube-controller-manager "$TOOLS_BIN/kube-controller-manager" \
		--kubeconfig="$LN_STATE/admin.kubeconfig" --leader-elect=false --bind-address=127.0.0.1 --secure-port=0 \
		--cluster-signing-cert-file="$pki/ca.crt" --cluster-signing-key-file="$pki/ca.key" \
		--root-ca-file="$pki/ca.crt" --service-account-private-key-file="$pki/sa.key" \
		--use-service-account-credentials=false
	ln_start kube-scheduler "$TOOLS_BIN/kube-scheduler" --kubeconfig="$LN_STATE/admin.kubeconfig" \
		--leader-elect=false --bind-address=127.0.0.1 --secure-port=0
	ln_start containerd containerd --config "$LN_STATE/containerd.toml"
	eventually 30 ln_ctr version
	provider_load_images
	local hierarchy
	for hierarchy in /sys/fs/cgroup/*/; do
		[[ -f $hierarchy/cgroup.procs ]] && mkdir -p "$hierarchy$LN_CGROUP_ROOT"
	done
	ln_start_kubelet
}

# Starts the kubelet and waits until it has registered the node.
ln_start_kubelet() {
	ln_start kubelet "$TOOLS_BIN/kubelet" --config="$LN_STATE/kubelet.yaml" \
		--kubeconfig="$LN_STATE/kubelet.kubeconfig" --root-dir="$LN_KUBELET_ROOT" \
		--hostname-override="$LN_NODE" --node-ip="$LN_NODE_IP" --volume-plugin-dir="$LN_STATE/volume-plugins"
	eventually 60 kctl get node "$LN_NODE"
}

# The agent's image from the Dockerfile (buildah, local stand-ins for its base images), and the pause
# image the node's containerd runs.
provider_build_images() {
	bash "$E2E_REPO/e2e/image/build.sh" "$E2E_IMAGES"
}

provider_load_images() {
	local image
	for image in pause agent; do
		ln_ctr images import "$E2E_IMAGES/$image.tar" >/dev/null ||
			die "ctr could not import $E2E_IMAGES/$image.tar"
	done
}

# The node as a fresh one again, for a second pass: the kubelet restarts with no serving certificate
# and registers anew (with the startup taint), its serving CSR pending again.
provider_reset_node() {
	ln_stop kubelet
	ln_remove_pods
	kctl delete node "$LN_NODE" --wait=true >/dev/null
	kctl delete csr --all >/dev/null
	rm -f "$LN_KUBELET_ROOT"/pki/kubelet-server-*
	ln_start_kubelet
}

# Runs a shell command on the node: here, the host.
node_sh() { bash -c "$1"; }

ln_remove_pods() {
	[[ -S $LN_SOCK ]] || return 0
	local id
	for id in $(ln_ctr tasks ls -q 2>/dev/null); do
		ln_ctr tasks kill --signal SIGKILL "$id" >/dev/null 2>&1 || true
	done
	sleep 0.5
	for id in $(ln_ctr tasks ls -q 2>/dev/null); do ln_ctr tasks delete --force "$id" >/dev/null 2>&1 || true; done
	for id in $(ln_ctr containers ls -q 2>/dev/null); do ln_ctr containers delete "$id" >/dev/null 2>&1 || true; done
}

ln_unmount_under() { # PREFIX...: unmounts everything below these paths, deepest first
	local prefix target
	for prefix in "$@"; do
		while read -r target; do
			umount -l "$target" 2>/dev/null || true
		done < <(awk -v p="$prefix" '$5 == p || index($5, p "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r)
	done
}

provider_down() {
	[[ -d $LN_STATE || -e $LN_MARKER || -d $LN_RUN ]] || return 0
	ln_stop kubelet
	ln_remove_pods
	ln_stop containerd
	# Shims outlive containerd by design; ours name our socket on their command line.
	pkill -KILL -f "containerd-shim-runc-v2 .*-address $LN_SOCK" 2>/dev/null || true
	local name
	for name in kube-scheduler kube-controller-manager kube-apiserver etcd; do ln_stop "$name"; done
	# Anything still holding our paths (a pid file lost with a killed run).
	pkill -KILL -f "$LN_STATE/|$LN_SOCK" 2>/dev/null || true
	ln_unmount_under "$LN_KUBELET_ROOT" "$LN_RUN" "$LN_STATE"
	local hierarchy dir
	for hierarchy in /sys/fs/cgroup/*/; do
		[[ -d $hierarchy$LN_CGROUP_ROOT ]] || continue
		while read -r dir; do rmdir "$dir" 2>/dev/null || true; done < <(find "$hierarchy$LN_CGROUP_ROOT" -depth -type d)
	done
	ip link del "$LN_VETH" 2>/dev/null || true
	ip link del kscu-e2e-br 2>/dev/null || true
	if [[ -f $LN_STATE/sysctls ]]; then
		sysctl -q -p "$LN_STATE/sysctls" >/dev/null 2>&1 || true
	fi
	if [[ -e $LN_MARKER ]]; then rm -rf "$LN_KUBELET_ROOT"; fi
	rm -rf "$LN_STATE" "$LN_RUN"
}

# Prints what a run left behind (nothing, after provider_down): the e2e runner fails on any line.
provider_leftovers() {
	pgrep -a -f "$LN_STATE/|$LN_SOCK|$TOOLS_BIN/kubelet" 2>/dev/null | sed 's/^/process: /' || true
	awk -v a="$LN_KUBELET_ROOT" -v b="$LN_RUN" -v c="$LN_STATE" \
		'index($5, a) == 1 || index($5, b) == 1 || index($5, c) == 1 { print "mount: " $5 }' /proc/self/mountinfo
	ip -o link show 2>/dev/null | awk -F': ' '$2 ~ /^kscu-e2e/ { print "link: " $2 }'
	local hierarchy
	for hierarchy in /sys/fs/cgroup/*/; do
		[[ -d $hierarchy$LN_CGROUP_ROOT ]] && echo "cgroup: $hierarchy$LN_CGROUP_ROOT"
	done
	[[ ! -e $LN_KUBELET_ROOT ]] || echo "directory: $LN_KUBELET_ROOT"
	return 0
}

provider_logs() {
	echo "--- local-node: kubelet (last 80 lines) ---"
	tail -n 80 "$E2E_LOGS/kubelet.log" 2>/dev/null || true
	echo "--- local-node: containerd (last 20 lines) ---"
	tail -n 20 "$E2E_LOGS/containerd.log" 2>/dev/null || true
}
