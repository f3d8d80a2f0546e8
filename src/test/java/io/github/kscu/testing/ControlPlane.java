package io.github.kscu.testing;

import io.github.kscu.kube.KubeClients;
import io.kubernetes.client.openapi.ApiClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;

/**
 * A real etcd and kube-apiserver on loopback, built by {@code make tools}: secure serving, RBAC, an admin
 * client certificate (system:masters) and ServiceAccount token issuing. Every process runs under a
 * guard that kills it when this JVM dies, so not even {@code kill -9} of the test JVM leaves strays.
 */
public final class ControlPlane implements AutoCloseable {
    /**
     * Flags for special cases; the defaults are a plain single-node control plane.
     *
     * @param apiserverFlags more kube-apiserver flags, e.g. a feature gate a tier needs
     * @param apiserver      the kube-apiserver binary in the tools directory: {@link #APISERVER}, or
     *                       {@link #OLDEST_APISERVER} (the oldest Kubernetes the admission policy supports)
     */
    public record Options(int maxRequestsInflight, int maxMutatingRequestsInflight, List<String> apiserverFlags,
            String apiserver) {
        public static final String APISERVER = "kube-apiserver";
        public static final String OLDEST_APISERVER = "kube-apiserver-oldest";
        public static final Options DEFAULT = new Options(0, 0, List.of(), APISERVER);

        public Options {
            apiserverFlags = List.copyOf(apiserverFlags);
        }

        /** Inflight limits, so that excess requests get 429. */
        public static Options inflight(int max, int maxMutating) {
            return new Options(max, maxMutating, List.of(), APISERVER);
        }

        /** The defaults on another kube-apiserver binary of {@code make tools}. */
        public static Options apiserver(String binary) {
            return new Options(0, 0, List.of(), binary);
        }
    }

    /** Starts the servers with the flags every caller shares (also the local-node e2e provider's). */
    private static final Path CONTROL_PLANE = Path.of("scaffolding/control-plane.sh").toAbsolutePath();
    /** Kills a child when this JVM dies, even by kill -9 (the JDK cannot set PR_SET_PDEATHSIG). */
    private static final Path GUARD = Path.of("scaffolding/guard.sh").toAbsolutePath();
    private static final Path KUBECONFIG = Path.of("scaffolding/kubeconfig.sh").toAbsolutePath();
    private static final Path KUSTOMIZATION = Path.of("scaffolding/kustomization.sh").toAbsolutePath();

    private final Path dir;
    private final Path bin;
    private final Options options;
    private final int etcdPort;
    private final int etcdPeerPort;
    private final int apiPort;
    private final Path adminKubeconfig;
    private final List<Process> processes = new ArrayList<>();
    private Process etcd;
    private Process apiserver;
    private ApiClient admin;
    private Duration startTime;

    private ControlPlane(Path dir, Options options) throws IOException {
        this.dir = dir;
        this.bin = options.apiserver().equals(Options.APISERVER) ? toolsBin()
                : requireTools("a control plane on " + options.apiserver(), options.apiserver());
        this.options = options;
        this.etcdPort = freePort();
        this.etcdPeerPort = freePort();
        this.apiPort = freePort();
        this.adminKubeconfig = dir.resolve("admin.kubeconfig");
    }

    /** Starts etcd and kube-apiserver and waits until the apiserver is ready. */
    public static ControlPlane start(Options options) throws IOException, InterruptedException {
        Path target = Path.of(System.getProperty("kscu.build.dir", "target")).toAbsolutePath();
        Files.createDirectories(target);
        ControlPlane cp = new ControlPlane(Files.createTempDirectory(target, "control-plane-"), options);
        try {
            cp.boot();
            return cp;
        } catch (IOException | InterruptedException | RuntimeException e) {
            cp.close();
            throw e;
        }
    }

    /** Where {@code make tools} linked the binaries; a missing one fails loudly rather than skipping. */
    public static Path toolsBin() {
        return requireTools("integration tests", "etcd", "kube-apiserver", "kubectl", "kustomize");
    }

    /**
     * The directory of {@code make tools}, once it holds every one of {@code names} (binaries, or the
     * CRD directory and stage file it links too); otherwise {@code tier} fails loudly with the command that
     * builds them, rather than being skipped.
     */
    public static Path requireTools(String tier, String... names) {
        String configured = System.getProperty("kscu.tools.bin", System.getenv("KSCU_TOOLS_BIN"));
        Path p = Path.of(configured != null ? configured : "bin/tools").toAbsolutePath();
        for (String b : names) {
            if (!Files.exists(p.resolve(b))) {
                throw new IllegalStateException(tier + " need " + p.resolve(b) + ": run `make tools` (builds the test"
                        + " tools from their Go modules, cached per version)");
            }
        }
        return p;
    }

    private void boot() throws IOException, InterruptedException {
        long start = System.nanoTime();
        writePki();
        startEtcd();
        startApiserver();
        startTime = Duration.ofNanos(System.nanoTime() - start);
    }

    private void writePki() throws IOException {
        Pki.write(dir, List.of(), List.of(new Pki.Client("admin", "kscu-admin", "system:masters")));
        Path pki = dir.resolve("pki");
        writeKubeconfig(adminKubeconfig, url(), caFile().toString(), "admin", "cert=" + pki.resolve("admin.crt"),
                "key=" + pki.resolve("admin.key"));
    }

    /**
     * Writes a kubeconfig with {@code scaffolding/kubeconfig.sh}, the one writer of kubeconfigs here.
     *
     * @param ca          a CA bundle file, or "insecure"
     * @param credentials {@code token=T}, or {@code cert=FILE} and {@code key=FILE}
     */
    public static Path writeKubeconfig(Path file, String server, String ca, String user, String... credentials)
            throws IOException {
        List<String> cmd = new ArrayList<>(List.of("bash", KUBECONFIG.toString(), server, ca, user));
        cmd.addAll(List.of(credentials));
        Process p = new ProcessBuilder(cmd).redirectOutput(file.toFile())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try {
            if (p.waitFor() != 0) {
                throw new IOException("scaffolding/kubeconfig.sh exited " + p.exitValue() + " for " + file);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted writing " + file, e);
        }
        return file;
    }

    /** Writes a kubeconfig that authenticates with a bearer token. */
    public Path tokenKubeconfig(String name, String token) throws IOException {
        return writeKubeconfig(dir.resolve(name + ".kubeconfig"), url(), caFile().toString(), name, "token=" + token);
    }

    /**
     * Applies {@code kustomize/base} as rendered by the pinned kustomize (its ServiceAccount and RBAC are
     * what the agent gets in a cluster) and returns a kubeconfig with a TokenRequest token of that
     * ServiceAccount. Idempotent.
     */
    public Path agentKubeconfig() throws IOException, InterruptedException {
        return tokenKubeconfig("agent", agentToken());
    }

    /** Renders {@code kustomize/base} with one of {@code kustomize/components} added, as a user's kustomization would. */
    public String renderBaseWith(String component) throws IOException, InterruptedException {
        return render("base", "", component);
    }

    /**
     * Renders a user's kustomization: {@code kustomize/<resource>} (e.g. {@code overlays/generic}), the
     * given {@code kustomize/components}, and {@code extra} kustomization fields (YAML, may be empty).
     */
    public String render(String resource, String extra, String... components) throws IOException, InterruptedException {
        return tool("kustomize", null, "build", kustomization(resource, extra, components).toString());
    }

    /**
     * Writes a user's kustomization as {@link #render} does and returns its directory, for another
     * kustomize (the client matrix) or {@code kubectl apply -k}.
     */
    public Path kustomization(String resource, String extra, String... components)
            throws IOException, InterruptedException {
        Path wrapper = Files.createTempDirectory(dir, "kustomization-");
        List<String> cmd = new ArrayList<>(List.of("bash", KUSTOMIZATION.toString()));
        if (!extra.isEmpty()) {
            cmd.addAll(List.of("--fields", Files.writeString(wrapper.resolve("fields.yaml"), extra).toString()));
        }
        cmd.addAll(List.of(wrapper.resolve("k").toString(), "kustomize/" + resource));
        for (String c : components) {
            cmd.add("kustomize/components/" + c);
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IOException("scaffolding/kustomization.sh failed: " + out);
        }
        return wrapper.resolve("k");
    }

    /** The apiserver's version, as {@code kubectl version} reports it (e.g. {@code v1.35.8}). */
    public String serverVersion() throws IOException, InterruptedException {
        return tool("kubectl", null, "version", "-o", "json")
                .replaceAll("(?s).*\"serverVersion\".*?\"gitVersion\": \"([^\"]+)\".*", "$1");
    }

    /**
     * Installs the NodeReadinessRule CRD as the Node Readiness Controller defines it (written from its
     * API, src/test/resources/nrc), so that the rule we ship is validated by the apiserver. Idempotent.
     */
    public void installNodeReadinessRuleCrd() throws IOException, InterruptedException {
        tool("kubectl", null, "apply", "--server-side", "--field-manager=kscu-test", "-f",
                Path.of("src/test/resources/nrc/nodereadinessrules-crd.yaml").toAbsolutePath().toString());
        tool("kubectl", null, "wait", "--for=condition=Established", "--timeout=30s",
                "crd/nodereadinessrules.readiness.node.x-k8s.io");
    }

    /** Applies {@code kustomize/base} (see {@link #agentKubeconfig()}) and returns a token of its ServiceAccount. */
    public String agentToken() throws IOException, InterruptedException {
        String rendered = tool("kustomize", null, "build", Path.of("kustomize/base").toAbsolutePath().toString());
        tool("kubectl", rendered, "apply", "-f", "-", "--server-side", "--field-manager=kscu-test");
        return kube().serviceAccountToken("kube-system", "kubelet-server-cert-untaint");
    }

    /**
     * An HTTP client that authenticates with {@code token} only. (A kubeconfig's token is applied by
     * ApiClient when it builds a request, not by its OkHttpClient, so a raw client needs this.)
     */
    public OkHttpClient tokenHttp(String token) throws IOException {
        return KubeClients.create(tokenKubeconfig("raw-" + Integer.toHexString(token.hashCode()), token))
                .getHttpClient().newBuilder()
                .addInterceptor(chain -> chain.proceed(chain.request().newBuilder()
                        .header("Authorization", "Bearer " + token).build()))
                .build();
    }

    /** Who the server says the client is (a SelfSubjectReview), as JSON. */
    public String whoAmI(OkHttpClient http) throws IOException {
        try (Response r = http.newCall(new Request.Builder().url(url() + "/apis/authentication.k8s.io/v1/selfsubjectreviews")
                .post(okhttp3.RequestBody.create("{\"apiVersion\":\"authentication.k8s.io/v1\","
                        + "\"kind\":\"SelfSubjectReview\"}", okhttp3.MediaType.get("application/json"))).build())
                .execute()) {
            return r.code() + " " + r.body().string();
        }
    }

    private void startEtcd() throws IOException, InterruptedException {
        etcd = launch("etcd", "bash", CONTROL_PLANE.toString(), "etcd", dir.toString(), Integer.toString(etcdPort),
                Integer.toString(etcdPeerPort));
        OkHttpClient http = new OkHttpClient.Builder().callTimeout(Duration.ofSeconds(1)).build();
        waitFor("etcd", Duration.ofSeconds(30), etcd, () -> {
            try (Response r = http.newCall(new Request.Builder().url("http://127.0.0.1:" + etcdPort + "/health")
                    .build()).execute()) {
                return r.isSuccessful();
            }
        });
    }

    /** Starts (or restarts, on the same port) the apiserver and waits until /readyz is ok. */
    public synchronized void startApiserver() throws IOException, InterruptedException {
        List<String> args = new ArrayList<>(List.of("bash", CONTROL_PLANE.toString(), "kube-apiserver", dir.toString(),
                Integer.toString(etcdPort), "127.0.0.1", Integer.toString(apiPort),
                "--endpoint-reconciler-type=none", "--v=" + Integer.getInteger("kscu.apiserver.v", 0)));
        if (options.maxRequestsInflight() > 0) {
            // Inflight limits apply only with priority and fairness off; then excess requests get 429.
            args.add("--enable-priority-and-fairness=false");
            args.add("--max-requests-inflight=" + options.maxRequestsInflight());
            args.add("--max-mutating-requests-inflight=" + options.maxMutatingRequestsInflight());
        }
        args.addAll(options.apiserverFlags());
        apiserver = launch("kube-apiserver", args.toArray(String[]::new));
        OkHttpClient http = admin().getHttpClient().newBuilder().callTimeout(Duration.ofSeconds(2)).build();
        waitFor("kube-apiserver", Duration.ofSeconds(90), apiserver, () -> {
            try (Response r = http.newCall(new Request.Builder().url(url() + "/readyz").build()).execute()) {
                return r.isSuccessful();
            }
        });
    }

    /** Stops the apiserver (etcd keeps the data), as an outage would. */
    public synchronized void stopApiserver() throws InterruptedException {
        stop(apiserver);
        processes.remove(apiserver);
        apiserver = null;
    }

    public String url() {
        return "https://" + apiAddress();
    }

    /** The apiserver's {@code host:port}, for a proxy's upstream. */
    public String apiAddress() {
        return "127.0.0.1:" + apiPort;
    }

    public Path adminKubeconfig() {
        return adminKubeconfig;
    }

    public Path caFile() {
        return dir.resolve("pki/ca.crt");
    }

    public Path dir() {
        return dir;
    }

    /** A client-certificate (system:masters) client, built by the agent's own kubeconfig loader. */
    public synchronized ApiClient admin() {
        if (admin == null) {
            try {
                admin = KubeClients.create(adminKubeconfig);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return admin;
    }

    public Kube kube() {
        return new Kube(admin(), this);
    }

    /** How long {@link #start} took: PKI, etcd and apiserver until ready. */
    public Duration startTime() {
        return startTime;
    }

    /** Runs a tool from {@code make tools} with the admin kubeconfig; returns stdout, fails with stderr. */
    public String tool(String tool, String stdin, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(bin.resolve(tool).toString());
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("KUBECONFIG", adminKubeconfig.toString());
        Path err = Files.createTempFile(dir, tool, ".err");
        pb.redirectError(err.toFile());
        Process p = pb.start();
        if (stdin != null) {
            p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
        }
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(tool + " " + String.join(" ", args) + " failed: " + Files.readString(err));
        }
        return out;
    }

    /**
     * Starts a helper process (a proxy, a fake) under the same guard as the control plane, stopped with
     * it, and waits until {@code ready} says so; its output goes to {@code <name>.log} in {@link #dir()}.
     */
    public Process startProcess(String name, Duration max, Probe ready, String... command)
            throws IOException, InterruptedException {
        Process p = launch(name, command);
        waitFor(name, max, p, ready);
        return p;
    }

    /** Stops a process started by {@link #startProcess}. */
    public synchronized void stopProcess(Process p) throws InterruptedException {
        stop(p);
        processes.remove(p);
    }

    /** A kubeconfig with the admin's credentials for another address of this apiserver (a proxy in front). */
    public Path adminKubeconfigVia(String server) throws IOException {
        Path pki = dir.resolve("pki");
        return writeKubeconfig(dir.resolve("admin-via-" + Integer.toHexString(server.hashCode()) + ".kubeconfig"),
                server, caFile().toString(), "admin", "cert=" + pki.resolve("admin.crt"), "key=" + pki.resolve("admin.key"));
    }

    private Process launch(String name, String... command) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("bash", GUARD.toString(),
                Long.toString(ProcessHandle.current().pid())));
        cmd.addAll(List.of(command));
        Path log = dir.resolve(name + ".log");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().put("TOOLS_BIN", bin.toString());
        pb.environment().put("KUBE_APISERVER", options.apiserver());
        Process p = pb.start();
        processes.add(p);
        return p;
    }

    /** Readiness of a started process; an IOException counts as "not yet". */
    public interface Probe {
        boolean ok() throws IOException;
    }

    private void waitFor(String name, Duration max, Process process, Probe probe)
            throws IOException, InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException(name + " exited with " + process.exitValue() + "; last log lines:\n"
                        + tail(dir.resolve(name + ".log")));
            }
            try {
                if (probe.ok()) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException(name + " not ready after " + max.toSeconds() + " s; last log lines:\n"
                + tail(dir.resolve(name + ".log")));
    }

    /** The last lines of a process log, for failure messages. */
    public String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    private static void stop(Process p) throws InterruptedException {
        if (p == null) {
            return;
        }
        p.destroy();
        if (!p.waitFor(15, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            p.waitFor(5, TimeUnit.SECONDS);
        }
    }

    @Override
    public synchronized void close() {
        try {
            for (Process p : processes.reversed()) {
                stop(p);
            }
        } catch (InterruptedException e) {
            processes.forEach(Process::destroyForcibly);
            Thread.currentThread().interrupt();
        }
        processes.clear();
        if (!Boolean.getBoolean("kscu.keep.control.plane")) {
            deleteTree(dir);
        }
    }

    private static void deleteTree(Path root) {
        try (var paths = Files.walk(root)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // best effort: target/ is cleaned by the build anyway
        }
    }

    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
