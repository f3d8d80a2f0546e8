package io.github.kscu.bench;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.github.kscu.agent.Agent;
import io.github.kscu.agent.Wiring;
import io.github.kscu.cert.KubeletCertSource;
import io.github.kscu.config.Settings;
import io.github.kscu.kube.KubeClients;
import io.github.kscu.report.Reason;
import io.github.kscu.report.State;
import io.github.kscu.testing.ControlPlane;
import io.github.kscu.testing.Counts;
import io.github.kscu.testing.ImageCommand;
import io.github.kscu.testing.Kube;
import io.github.kscu.testing.LimitedAgent;
import io.github.kscu.testing.MemoryCgroup;
import io.github.kscu.testing.TestCerts;
import io.github.kscu.testing.TestSettings;
import io.kubernetes.client.openapi.ApiClient;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import okio.BufferedSource;

/**
 * {@code make bench}: latency, cold start, memory (each beside its floor, a bare JVM from the same runtime
 * with the same options), the memory limit a cold start needs (root: a memory cgroup), image layers, and
 * 1000 and 5000 nodes, on the real control plane of the test suite. Reports figures
 * (target/bench/*.json); never fails on a missed target.
 */
public final class Bench {
    private static final String TAINT = "example.com/kubelet-no-server-cert";
    private static final Path RUNTIME = Path.of("target/runtime").toAbsolutePath();
    private static final Path OUT = Path.of("target/bench").toAbsolutePath();
    private static final TestCerts.Issued CA = TestCerts.ca("bench-ca");
    /** A memory limit works when the taint goes within this of the certificate, as MemoryLimitIT demands. */
    private static final java.time.Duration LIMIT_WORKS = java.time.Duration.ofSeconds(10);
    /** ... and works well when it goes within this: no seconds of reclaiming and re-reading pages. */
    private static final java.time.Duration LIMIT_WORKS_PROMPTLY = java.time.Duration.ofSeconds(1);

    private Bench() {
    }

    static void say(String format, Object... args) {
        System.out.printf("bench | " + format + "%n", args);
        System.out.flush();
    }

    public static void main(String[] args) throws Exception {
        if (!Files.isRegularFile(RUNTIME.resolve("app/app.aot"))) {
            throw new IllegalStateException("run `make runtime` first: " + RUNTIME + " has no AOT cache");
        }
        Files.createDirectories(OUT);
        int scaleNodes = Integer.getInteger("bench.nodes", 5000);
        int smallScale = Integer.getInteger("bench.small-nodes", 1000);
        // -Dbench.only=latency,kubelet,start,memory,limits,layers,scale,scale-floor runs those parts only and merges
        // their figures into the summary of an earlier run.
        Set<String> only = new HashSet<>(Arrays.asList(System.getProperty("bench.only", "").split(",")));
        only.remove("");
        Map<String, Object> summary = only.isEmpty() ? new LinkedHashMap<>() : earlier("summary.json");
        Map<String, Object> details = only.isEmpty() ? new LinkedHashMap<>() : earlier("details.json");
        try (ControlPlane cp = ControlPlane.start(ControlPlane.Options.DEFAULT)) {
            Path kubeconfig = cp.agentKubeconfig();
            if (only.isEmpty() || only.contains("latency")) {
                double[] latency = latency(cp, kubeconfig, 50, "latency-", 0, node -> fileStage(cp, node));
                summary.put("latency_p50_ms", pct(latency, 50));
                summary.put("latency_p99_ms", pct(latency, 99));
                details.put("latency_ms", Map.of("p50", pct(latency, 50), "p90", pct(latency, 90), "p99", pct(latency, 99),
                        "max", latency[latency.length - 1], "trials", latency.length));
                say("latency file source: p50 %.1f ms, p90 %.1f, p99 %.1f, max %.1f", pct(latency, 50), pct(latency, 90),
                        pct(latency, 99), latency[latency.length - 1]);

                double[] floor = latencyFloor(cp, 50);
                summary.put("latency_floor_p50_ms", pct(floor, 50));
                summary.put("latency_floor_p99_ms", pct(floor, 99));
                say("latency floor (the benchmark's own PATCH, seen on the same watch): p50 %.1f ms, p99 %.1f",
                        pct(floor, 50), pct(floor, 99));

            }

            if (only.isEmpty() || only.contains("kubelet")) {
                Path probeCa = Files.writeString(cp.dir().resolve("bench-ca.crt"), CA.certificatePem());
                double[] probe = latency(cp, kubeconfig, 50, "probe-latency-", (int) KubeletCertSource.PROBE_INTERVAL.toMillis(), node -> kubeletStage(probeCa, node));
                summary.put("kubelet_latency_p50_ms", pct(probe, 50));
                summary.put("kubelet_latency_p99_ms", pct(probe, 99));
                details.put("latency_kubelet_ms", Map.of("p50", pct(probe, 50), "p90", pct(probe, 90), "p99",
                        pct(probe, 99), "max", probe[probe.length - 1], "trials", probe.length));
                say("latency kubelet source: p50 %.1f ms, p90 %.1f, p99 %.1f, max %.1f", pct(probe, 50), pct(probe, 90),
                        pct(probe, 99), probe[probe.length - 1]);
                double[] cpu = probeCpu(cp, kubeconfig);
                summary.put("kubelet_probe_cpu_percent", cpu[0]);
                summary.put("kubelet_probe_cpu_floor_percent", cpu[1]);
                say("kubelet source while waiting (a probe every %d ms): %.2f %% of one core; floor (bare JVM, same"
                        + " connections) %.2f %%", KubeletCertSource.PROBE_INTERVAL.toMillis(), cpu[0],
                        cpu[1]);
            }

            if (only.isEmpty() || only.contains("start")) {
                double noAot = coldStart(cp, kubeconfig, false, 10);
                double aot = coldStart(cp, kubeconfig, true, 10);
                double startFloor = coldStartFloor(10);
                summary.put("cold_start_aot_ms", aot);
                summary.put("cold_start_floor_ms", startFloor);
                summary.put("cold_start_no_aot_ms", noAot);
                say("cold start to first API answer (median of 10): %.0f ms with AOT cache, %.0f ms without; floor (bare"
                        + " JVM to main) %.0f ms", aot, noAot, startFloor);
            }

            if (only.isEmpty() || only.contains("memory")) {
                Map<String, Double> mem = memory(cp, kubeconfig);
                Map<String, Double> memFloor = memoryFloor();
                summary.put("rss_mib", mem.get("rss"));
                summary.put("rss_floor_mib", memFloor.get("rss"));
                summary.put("anon_mib", mem.get("anon"));
                summary.put("anon_floor_mib", memFloor.get("anon"));
                summary.put("pss_mib", mem.get("pss"));
                summary.put("pss_floor_mib", memFloor.get("pss"));
                summary.put("heap_used_mib", mem.get("heap"));
                details.put("memory_mib", mem);
                details.put("memory_floor_mib", memFloor);
                say("steady state: RSS %.1f MiB (anonymous %.1f), PSS %.1f MiB, heap used %.1f MiB; floor (bare JVM):"
                        + " RSS %.1f (anonymous %.1f), PSS %.1f", mem.get("rss"), mem.get("anon"), mem.get("pss"),
                        mem.get("heap"), memFloor.get("rss"), memFloor.get("anon"), memFloor.get("pss"));
            }

            if (only.isEmpty() || only.contains("limits")) {
                Map<String, Object> limits = memoryLimits(cp);
                summary.put("memory_limit_mib", limits.get("shipped_mib"));
                summary.put("memory_limit_lowest_mib", limits.get("lowest_mib"));
                summary.put("memory_limit_lowest_prompt_mib", limits.get("lowest_prompt_mib"));
                details.put("memory_limit", limits);
                say("memory limit: shipped %s Mi; lowest that works from a cold page cache %s Mi, promptly %s Mi"
                        + " (readahead %s KiB); at this host's readahead (%s KiB) %s Mi", limits.get("shipped_mib"),
                        limits.get("lowest_mib"), limits.get("lowest_prompt_mib"), limits.get("readahead_kb"),
                        limits.get("host_readahead_kb"), limits.get("lowest_host_readahead_mib"));
            }

            if (only.isEmpty() || only.contains("layers")) {
                Map<String, Object> layers = imageLayers();
                summary.put("image_app_layers_mb", layers.get("app_layers_mb"));
                details.put("image", layers);
                say("image layers (gzip): %s", layers);
            }
        }
        // Each scale run on a control plane of its own: the nodes of one run would otherwise slow the
        // next one's LISTs and watches.
        for (int n : only.isEmpty() || only.contains("scale") ? new int[] {smallScale, scaleNodes} : new int[0]) {
            try (ControlPlane cp = ControlPlane.start(ControlPlane.Options.DEFAULT)) {
                Map<String, Object> scale = scale(cp, cp.agentKubeconfig(), n, "scale");
                String key = n == scaleNodes ? "scale" : "scale_" + n;
                summary.put("scale_" + n + "_seconds", scale.get("seconds"));
                summary.put(key + "_node_requests_per_node", scale.get("node_requests_per_node"));
                summary.put(key + "_total_requests_per_node", scale.get("total_requests_per_node"));
                summary.put(key + "_left_tainted", scale.get("left_tainted"));
                details.put("scale_" + n, scale);
                say("scale, %d nodes: %s", n, scale);
            }
            try (ControlPlane throttled = ControlPlane.start(ControlPlane.Options.inflight(20, 10))) {
                Map<String, Object> scale = scale(throttled, throttled.agentKubeconfig(), n, "throttled");
                String key = n == scaleNodes ? "scale_throttled" : "scale_" + n + "_throttled";
                summary.put(key + "_seconds", scale.get("seconds"));
                summary.put(key + "_left_tainted", scale.get("left_tainted"));
                summary.put(key + "_429s", scale.get("retries_429"));
                details.put("scale_" + n + "_throttled", scale);
                say("scale, %d nodes, throttled apiserver (--max-requests-inflight=20, mutating 10): %s", n, scale);
            }
        }
        if (only.isEmpty() || only.contains("scale") || only.contains("scale-floor")) {
            try (ControlPlane cp = ControlPlane.start(ControlPlane.Options.DEFAULT)) {
                Map<String, Object> floor = scaleFloor(cp, scaleNodes);
                summary.put("scale_" + scaleNodes + "_floor_seconds", floor.get("seconds"));
                details.put("scale_" + scaleNodes + "_floor", floor);
                say("scale floor, %d nodes (the same writes, made by the benchmark itself): %s", scaleNodes, floor);
            }
        }
        details.put("machine", machine());
        var gson = new GsonBuilder().setPrettyPrinting().create();
        Files.writeString(OUT.resolve("summary.json"), gson.toJson(summary) + "\n");
        Files.writeString(OUT.resolve("details.json"), gson.toJson(details) + "\n");
        say("wrote %s and %s", OUT.resolve("summary.json"), OUT.resolve("details.json"));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> earlier(String file) throws IOException {
        Path f = OUT.resolve(file);
        return Files.exists(f) ? new GsonBuilder().create().fromJson(Files.readString(f), LinkedHashMap.class)
                : new LinkedHashMap<>();
    }

    /**
     * How a trial's certificate reaches its agent: the settings that point the agent at it, when the agent
     * is waiting for it, and the switch that makes it valid (the clock starts just before it).
     */
    private interface Stage extends AutoCloseable {
        String[] settings();

        boolean waiting(Agent agent);

        void publish() throws Exception;

        @Override
        default void close() throws Exception {
        }
    }

    /** The file source: the certificate installed with the kubelet's symlink rename. */
    private static Stage fileStage(ControlPlane cp, String node) {
        Path cert = cp.dir().resolve("latency/" + node + "/pki/kubelet-server-current.pem");
        return new Stage() {
            @Override
            public String[] settings() {
                return new String[] {"CERT_FILE", cert.toString()};
            }

            @Override
            public boolean waiting(Agent agent) {
                return agent.state() == State.WAITING_FOR_CERT;
            }

            @Override
            public void publish() throws Exception {
                TestCerts.serving(CA, node).installLikeKubelet(cert);
            }
        };
    }

    /** The kubelet source: a loopback kubelet that starts presenting a certificate. */
    private static Stage kubeletStage(Path ca, String node) throws Exception {
        TestCerts.Issued cert = TestCerts.serving(CA, node);
        io.github.kscu.testing.FakeKubeletTls kubelet = new io.github.kscu.testing.FakeKubeletTls();
        return new Stage() {
            @Override
            public String[] settings() {
                return new String[] {"CERT_SOURCE", "kubelet", "KUBELET_ADDRESS", kubelet.address(), "KUBELET_CA_FILE",
                    ca.toString()};
            }

            @Override
            public boolean waiting(Agent agent) {
                return kubelet.handshakes() >= 3;
            }

            @Override
            public void publish() {
                kubelet.serve(cert);
            }

            @Override
            public void close() throws Exception {
                kubelet.close();
            }
        };
    }

    /**
     * Certificate published → the taint's removal seen on a watch of the node, in ms ({@code System.nanoTime},
     * one JVM), over {@code trials} nodes each with its own in-process agent. The switch comes 50 ms after
     * the watch is open plus {@code spread} ms spread over the trials (a probe interval, for a polling source).
     */
    private static double[] latency(ControlPlane cp, Path kubeconfig, int trials, String prefix, int spread,
            StageFactory stages) throws Exception {
        Kube kube = cp.kube();
        OkHttpClient http = cp.admin().getHttpClient().newBuilder().readTimeout(java.time.Duration.ofSeconds(30))
                .build();
        double[] out = new double[trials];
        ApiClient client = KubeClients.create(kubeconfig);
        for (int i = 0; i < trials; i++) {
            String node = prefix + i;
            kube.createNode(node, TAINT + ":NoSchedule");
            try (Stage stage = stages.stage(node)) {
                Map<String, String> env = TestSettings.of(TestSettings.agent(node, kubeconfig, "SETTLE_DURATION", "0",
                        "LOG_LEVEL", "warn"), stage.settings());
                try (Agent agent = Wiring.agent(Settings.fromMap(env), client)) {
                    agent.start();
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                    while ((!stage.waiting(agent) || Counts.requests(agent.metrics(), "watch") == 0)
                            && System.nanoTime() < deadline) {
                        Thread.sleep(5);
                    }
                    Thread.sleep(200); // the watch request is on the wire
                    String rv = JsonParser.parseString(kube.call("GET", "/api/v1/nodes/" + node, null, null))
                            .getAsJsonObject().getAsJsonObject("metadata").get("resourceVersion").getAsString();
                    Call watch = new Call(http, cp.url() + "/api/v1/nodes?watch=true&fieldSelector=metadata.name%3D"
                            + node + "&resourceVersion=" + rv);
                    Thread.sleep(50 + (spread == 0 ? 0 : (i * 37L) % spread));
                    long t0 = System.nanoTime();
                    stage.publish();
                    out[i] = (watch.awaitUntainted() - t0) / 1e6;
                    agent.awaitFinished(java.time.Duration.ofSeconds(10));
                }
            }
        }
        Arrays.sort(out);
        return out;
    }

    /**
     * The floor under the latency: the benchmark removes the taint itself (one PATCH from an admin
     * client with a warm connection) and the clock stops on the same kind of watch. What the agent adds
     * to this is noticing the certificate, validating it and building its PATCH.
     */
    private static double[] latencyFloor(ControlPlane cp, int trials) throws Exception {
        Kube kube = cp.kube();
        OkHttpClient http = cp.admin().getHttpClient().newBuilder().readTimeout(java.time.Duration.ofSeconds(30))
                .build();
        double[] out = new double[trials];
        for (int i = 0; i < trials; i++) {
            String node = "latency-floor-" + i;
            kube.createNode(node, TAINT + ":NoSchedule");
            String rv = JsonParser.parseString(kube.call("GET", "/api/v1/nodes/" + node, null, null))
                    .getAsJsonObject().getAsJsonObject("metadata").get("resourceVersion").getAsString();
            Call watch = new Call(http, cp.url() + "/api/v1/nodes?watch=true&fieldSelector=metadata.name%3D" + node
                    + "&resourceVersion=" + rv);
            Thread.sleep(50);
            long t0 = System.nanoTime();
            kube.setTaints(node);
            out[i] = (watch.awaitUntainted() - t0) / 1e6;
        }
        Arrays.sort(out);
        return out;
    }

    @FunctionalInterface
    private interface StageFactory {
        Stage stage(String node) throws Exception;
    }

    /**
     * CPU while probing a kubelet without a certificate, in % of one core over 30 s: the image's command
     * line, then its floor ({@link ProbeFloor}: the same runtime and options making the same connections).
     */
    private static double[] probeCpu(ControlPlane cp, Path kubeconfig) throws Exception {
        String node = "probe-cpu";
        cp.kube().createNode(node, TAINT + ":NoSchedule");
        Path ca = Files.writeString(cp.dir().resolve("probe-ca.crt"), CA.certificatePem());
        try (io.github.kscu.testing.FakeKubeletTls kubelet = new io.github.kscu.testing.FakeKubeletTls()) {
            double agent = cpuWhileProbing(ImageCommand.agent(RUNTIME, TestSettings.agent(node, kubeconfig,
                    "CERT_SOURCE", "kubelet", "KUBELET_ADDRESS", kubelet.address(), "KUBELET_CA_FILE", ca.toString(),
                    "LOG_FORMAT", "json"),
                    "-XX:AOTCache=" + RUNTIME.resolve("app/app.aot")), kubelet, cp.dir().resolve("probe-agent.log"));
            if (kubelet.helloBytes() < 5) {
                throw new IllegalStateException("the agent sent the test kubelet no ClientHello; see probe-agent.log");
            }
            double floor = cpuWhileProbing(new ProcessBuilder(RUNTIME.resolve("jre/bin/java").toString(),
                    "@" + RUNTIME.resolve("app/jvm.options"), "-cp", Path.of("target/test-classes").toAbsolutePath()
                            .toString(), ProbeFloor.class.getName(), "127.0.0.1", Integer.toString(kubelet.port()),
                    Long.toString(KubeletCertSource.PROBE_INTERVAL.toMillis()),
                    Integer.toString(kubelet.helloBytes())), kubelet, cp.dir().resolve("probe-floor.log"));
            return new double[] {agent, floor};
        }
    }

    private static double cpuWhileProbing(ProcessBuilder command, io.github.kscu.testing.FakeKubeletTls kubelet,
            Path log) throws Exception {
        Process p = command.redirectErrorStream(true).redirectOutput(log.toFile()).start();
        String name = log.getFileName().toString().replace(".log", "");
        try {
            Thread.sleep(10_000); // past start-up
            long before = cpuTicks(p.pid());
            int handshakes = kubelet.handshakes();
            Thread.sleep(30_000);
            long ticks = cpuTicks(p.pid()) - before;
            say("%s: %d connections in 30 s", name, kubelet.handshakes() - handshakes);
            return ticks / 100.0 / 30.0 * 100.0; // USER_HZ = 100
        } finally {
            p.destroy();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    private static long cpuTicks(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime, stime
    }

    /** A watch of one node that notes when an event shows it without our taint. */
    private static final class Call {
        private final Thread reader;
        private volatile long untaintedAt;

        Call(OkHttpClient http, String url) {
            reader = Thread.ofPlatform().daemon().start(() -> {
                try (Response r = http.newCall(new Request.Builder().url(url).build()).execute()) {
                    BufferedSource source = r.body().source();
                    String line;
                    while ((line = source.readUtf8Line()) != null) {
                        JsonObject node = JsonParser.parseString(line).getAsJsonObject().getAsJsonObject("object");
                        if (!hasTaint(node)) {
                            untaintedAt = System.nanoTime();
                            return;
                        }
                    }
                } catch (IOException e) {
                    // ends the wait below with a failure
                }
            });
        }

        long awaitUntainted() throws InterruptedException {
            reader.join(30_000);
            if (untaintedAt == 0) {
                throw new IllegalStateException("taint not removed within 30 s");
            }
            return untaintedAt;
        }
    }

    static boolean hasTaint(JsonObject node) {
        JsonObject spec = node.getAsJsonObject("spec");
        if (spec == null || !spec.has("taints")) {
            return false;
        }
        for (JsonElement t : spec.getAsJsonArray("taints")) {
            if (TAINT.equals(t.getAsJsonObject().get("key").getAsString())) {
                return true;
            }
        }
        return false;
    }

    /** Process start → the agent's "node read" log line (its first successful API request), median in ms. */
    private static double coldStart(ControlPlane cp, Path kubeconfig, boolean aot, int runs) throws Exception {
        Kube kube = cp.kube();
        String node = "cold-start-" + (aot ? "aot" : "noaot");
        kube.createNode(node);
        Path cert = cp.dir().resolve("cold/" + node + "/kubelet-server-current.pem");
        TestCerts.serving(CA, node).installLikeKubelet(cert);
        double[] ms = new double[runs];
        for (int i = 0; i < runs; i++) {
            Map<String, String> settings = TestSettings.agent(node, kubeconfig, cert, "LOG_FORMAT", "json");
            ProcessBuilder agent = aot ? ImageCommand.agent(RUNTIME, settings, "-XX:AOTCache=" + RUNTIME.resolve("app/app.aot"))
                    : ImageCommand.agent(RUNTIME, settings);
            ms[i] = spawnToLine(agent, cp.dir().resolve("cold-" + i + ".log"), "node read, watching it");
        }
        return median(ms);
    }

    /** Process spawn → the timestamp of the first JSON log line containing {@code text}, in ms; then stops it. */
    private static double spawnToLine(ProcessBuilder command, Path log, String text) throws Exception {
        long start = System.currentTimeMillis();
        Process p = command.redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            String line = awaitLine(log, text, p);
            Instant at = Instant.parse(JsonParser.parseString(line).getAsJsonObject().get("time").getAsString());
            return at.toEpochMilli() - start;
        } finally {
            p.destroy();
            p.waitFor(10, TimeUnit.SECONDS);
            p.destroyForcibly();
        }
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    /** The bare JVM of {@link IdleFloor}: the runtime's java, its options, nothing of the agent. */
    private static ProcessBuilder idleFloor() {
        return new ProcessBuilder(RUNTIME.resolve("jre/bin/java").toString(), "@" + RUNTIME.resolve("app/jvm.options"),
                "-cp", Path.of("target/test-classes").toAbsolutePath().toString(), IdleFloor.class.getName());
    }

    /** Process start → {@link IdleFloor}'s first line, median in ms: the JVM's own start-up. */
    private static double coldStartFloor(int runs) throws Exception {
        double[] ms = new double[runs];
        for (int i = 0; i < runs; i++) {
            ms[i] = spawnToLine(idleFloor(), OUT.resolve("cold-floor.log"), "idle floor started");
        }
        return median(ms);
    }

    /** RSS, anonymous and PSS of {@link IdleFloor}, as long after its start as the agent's are measured. */
    private static Map<String, Double> memoryFloor() throws Exception {
        Process p = idleFloor().redirectErrorStream(true).redirectOutput(OUT.resolve("memory-floor.log").toFile())
                .start();
        try {
            Thread.sleep(12_000);
            return memoryOf(p.pid());
        } finally {
            p.destroy();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    /**
     * The shipped limit, and the lowest limit under which a cold start works (taint removed within 10 s of
     * the certificate, no OOM kill), found by bisection in steps of 2 Mi: first with the disk's readahead at
     * Linux's default, then, if this host's is larger, at that.
     */
    private static Map<String, Object> memoryLimits(ControlPlane cp) throws Exception {
        Map<String, Object> out = new LinkedHashMap<>();
        long shipped = LimitedAgent.shippedLimitMib(cp);
        out.put("shipped_mib", shipped);
        if (!"root".equals(System.getProperty("user.name"))) {
            out.put("lowest_mib", null);
            out.put("not_measured", "a memory cgroup needs root");
            say("memory limit: not measured, a memory cgroup needs root");
            return out;
        }
        List<Map<String, Object>> trials = new ArrayList<>();
        int hostKb;
        try (MemoryCgroup.Readahead ra = MemoryCgroup.kernelDefaultReadahead(RUNTIME)) {
            hostKb = ra.beforeKb();
            out.put("readahead_kb", ra.nowKb());
            Integer lowest = lowestLimit(cp, 16, 96, ra.nowKb(), LIMIT_WORKS, trials);
            out.put("lowest_mib", lowest);
            // Working at all is not working well: near the lowest limit the kernel reclaims and re-reads
            // the same pages for seconds. The lowest limit with a prompt removal as well:
            out.put("lowest_prompt_mib", lowest == null ? null
                    : lowestLimit(cp, lowest, 96, ra.nowKb(), LIMIT_WORKS_PROMPTLY, trials));
        }
        if (hostKb > MemoryCgroup.DEFAULT_READAHEAD_KB) {
            out.put("host_readahead_kb", hostKb);
            out.put("lowest_host_readahead_mib", lowestLimit(cp, 32, 160, hostKb, LIMIT_WORKS, trials));
        }
        out.put("trials", trials);
        return out;
    }

    /** Bisection between a limit taken to fail and one that must work; null if even {@code works} fails. */
    private static Integer lowestLimit(ControlPlane cp, int fails, int works, int readaheadKb,
            java.time.Duration within, List<Map<String, Object>> trials) throws Exception {
        if (!limitWorks(cp, works, readaheadKb, within, trials)) {
            return null;
        }
        while (works - fails > 2) {
            int mid = (fails + works) / 4 * 2;
            if (limitWorks(cp, mid, readaheadKb, within, trials)) {
                works = mid;
            } else {
                fails = mid;
            }
        }
        return works;
    }

    private static boolean limitWorks(ControlPlane cp, int limitMib, int readaheadKb, java.time.Duration within,
            List<Map<String, Object>> trials) throws Exception {
        String node = "limit-" + readaheadKb + "k-" + limitMib + "mi-" + within.toMillis();
        cp.kube().createNode(node, TAINT + ":NoSchedule");
        Path dir = Files.createDirectories(OUT.resolve("limits/" + node));
        Map<String, Object> trial = new LinkedHashMap<>();
        trial.put("limit_mib", limitMib);
        trial.put("readahead_kb", readaheadKb);
        trial.put("within_ms", within.toMillis());
        try (LimitedAgent agent = LimitedAgent.start(cp, RUNTIME, node, limitMib, dir)) {
            Thread.sleep(3_000);
            TestCerts.serving(CA, node).installLikeKubelet(agent.cert());
            long t0 = System.nanoTime();
            boolean untainted = LimitedAgent.awaitUntainted(cp.kube(), node, within);
            boolean ok = untainted && agent.process().isAlive() && agent.cgroup().oomKills() == 0;
            trial.put("works", ok);
            trial.put("untaint_ms", untainted ? (System.nanoTime() - t0) / 1e6 : null);
            trial.put("limit_hits", agent.cgroup().limitHits());
            trial.put("oom_kills", agent.cgroup().oomKills());
            trials.add(trial);
            say("memory limit %d Mi, readahead %d KiB: %s", limitMib, readaheadKb, trial);
            return ok;
        }
    }

    private static String awaitLine(Path log, String text, Process p) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            if (Files.exists(log)) {
                for (String line : Files.readAllLines(log, StandardCharsets.UTF_8)) {
                    if (line.contains(text)) {
                        return line;
                    }
                }
            }
            if (!p.isAlive()) {
                break;
            }
            Thread.sleep(2);
        }
        throw new IllegalStateException("no \"" + text + "\" in " + log + ":\n" + Files.readString(log));
    }

    /** RSS, PSS and heap of the image's command line, 10 s after the taint was removed. */
    private static Map<String, Double> memory(ControlPlane cp, Path kubeconfig) throws Exception {
        Kube kube = cp.kube();
        String node = "memory";
        kube.createNode(node, TAINT + ":NoSchedule");
        Path cert = cp.dir().resolve("memory/kubelet-server-current.pem");
        TestCerts.serving(CA, node).installLikeKubelet(cert);
        Process p = ImageCommand.agent(RUNTIME, TestSettings.agent(node, kubeconfig, cert, "LOG_FORMAT", "json", "HEALTH_ADDR", "127.0.0.1:0"),
                "-XX:AOTCache=" + RUNTIME.resolve("app/app.aot"))
                .redirectErrorStream(true).redirectOutput(cp.dir().resolve("memory.log").toFile()).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (kube.taints(node).contains(TAINT + ":NoSchedule") && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            Thread.sleep(10_000);
            Map<String, Double> out = memoryOf(p.pid());
            out.put("heap", heapUsedMib(p.pid()));
            return out;
        } finally {
            p.destroy();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** VmRSS, RssAnon, RssFile ({@code /proc/PID/status}) and Pss ({@code smaps_rollup}) in MiB. */
    private static Map<String, Double> memoryOf(long pid) throws IOException {
        Map<String, Double> out = new LinkedHashMap<>();
        Map<String, Long> status = procKb(Path.of("/proc", Long.toString(pid), "status"));
        Map<String, Long> rollup = procKb(Path.of("/proc", Long.toString(pid), "smaps_rollup"));
        out.put("rss", status.get("VmRSS") / 1024.0);
        out.put("anon", status.get("RssAnon") / 1024.0);
        out.put("file", status.get("RssFile") / 1024.0);
        out.put("pss", rollup.get("Pss") / 1024.0);
        return out;
    }

    private static Map<String, Long> procKb(Path file) throws IOException {
        Map<String, Long> out = new HashMap<>();
        for (String line : Files.readAllLines(file)) {
            String[] parts = line.split(":\\s+");
            if (parts.length == 2 && parts[1].endsWith(" kB")) {
                out.put(parts[0].strip(), Long.parseLong(parts[1].replace(" kB", "").strip()));
            }
        }
        return out;
    }

    /** "used" of the heap, from jcmd GC.heap_info of the bench's JDK (the runtime has no jcmd). */
    private static double heapUsedMib(long pid) throws Exception {
        Process jcmd = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                Long.toString(pid), "GC.heap_info").redirectErrorStream(true).start();
        String out = new String(jcmd.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        jcmd.waitFor(30, TimeUnit.SECONDS);
        var m = java.util.regex.Pattern.compile("total (\\d+)K, used (\\d+)K").matcher(out);
        long used = 0;
        while (m.find()) {
            used += Long.parseLong(m.group(2));
        }
        return used / 1024.0;
    }

    private static Map<String, Object> imageLayers() throws Exception {
        Map<String, Object> out = new LinkedHashMap<>();
        long jre = gzipTarBytes("jre");
        long app = gzipTarBytes("app/kubelet-server-cert-untaint.jar app/lib app/jvm.options");
        long aot = gzipTarBytes("app/app.aot");
        out.put("runtime_mb", jre / 1e6);
        out.put("app_mb", app / 1e6);
        out.put("aot_cache_mb", aot / 1e6);
        out.put("app_layers_mb", (jre + app + aot) / 1e6);
        out.put("runtime_on_disk_mb", du(RUNTIME.resolve("jre")) / 1e6);
        out.put("base", "gcr.io/distroless/base-debian12 (not measured here: no registry access)");
        return out;
    }

    private static long gzipTarBytes(String paths) throws Exception {
        Process p = new ProcessBuilder("bash", "-c", "tar -C '" + RUNTIME + "' -cf - " + paths + " | gzip -6 | wc -c")
                .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        p.waitFor();
        return Long.parseLong(out);
    }

    private static long du(Path dir) throws IOException {
        try (var files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
        }
    }

    /** N nodes and N in-process agents; certificates appear within one second. */
    private static Map<String, Object> scale(ControlPlane cp, Path kubeconfig, int n, String prefix) throws Exception {
        Kube kube = cp.kube();
        for (int i = 0; i < n; i++) {
            kube.createNode(prefix + "-" + i, "a.io/keep:NoSchedule", TAINT + ":NoSchedule");
        }
        ApiClient client = KubeClients.create(kubeconfig);
        List<Agent> agents = new ArrayList<>(n);
        List<Path> certs = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            String node = prefix + "-" + i;
            Path cert = cp.dir().resolve(prefix + "/" + node + "/pki/kubelet-server-current.pem");
            certs.add(cert);
            // As on a node, the kubelet's pki directory exists: without it all agents would watch one
            // shared ancestor here and wake for each other's directories.
            Files.createDirectories(cert.getParent());
            // The admission policy check on, as the manifests ship it: its dry run is one request per node.
            agents.add(Wiring.agent(Settings.fromMap(TestSettings.agent(node, kubeconfig, cert, "SETTLE_DURATION", "0",
                    "LOG_LEVEL", "warn", "ADMISSION_POLICY_CHECK", "warn")), client).start());
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (agents.stream().anyMatch(a -> a.state() != State.WAITING_FOR_CERT) && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        // Certificates are made and written before the clock starts (key generation is the test's cost,
        // not the agents'); the clock starts with the kubelet-style renames that publish them. A staged
        // PEM sits beside the missing current one, which the agents see as a directory event: harmless.
        List<TestCerts.Staged> staged = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            staged.add(TestCerts.serving(CA, prefix + "-" + i).stageLikeKubelet(certs.get(i)));
        }
        long t0 = System.nanoTime();
        for (TestCerts.Staged s : staged) {
            s.swapIn();
        }
        double issueSeconds = (System.nanoTime() - t0) / 1e9;
        int left = n;
        long end = t0 + TimeUnit.SECONDS.toNanos(180);
        while (System.nanoTime() < end) {
            left = tainted(kube, prefix);
            if (left == 0) {
                break;
            }
            Thread.sleep(100);
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        for (Agent a : agents) {
            a.awaitFinished(java.time.Duration.ofSeconds(30));
        }
        // The admission policy check comes up to a minute after each removal (AdmissionCheck.WARN_SPREAD),
        // after the figure above: wait for it, so that the request counts include it.
        long checked = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (agents.stream().anyMatch(a -> Counts.requests(a.metrics(), "check-policy") == 0) && System.nanoTime() < checked) {
            Thread.sleep(200);
        }
        long get = 0;
        long patch = 0;
        long watch = 0;
        long events = 0;
        long checks = 0;
        long conflicts = 0;
        long throttled = 0;
        for (Agent a : agents) {
            var m = a.metrics();
            get += Counts.requests(m, "get");
            patch += Counts.requests(m, "patch");
            watch += Counts.requests(m, "watch");
            // This control plane has no admission policy (the agents' tokens are not bound to pods): the
            // check's Warning Event would not be posted where the policy is in force.
            events += Counts.requests(m, "create-event") - Counts.outcomes(m, Reason.ADMISSION_POLICY_NOT_ENFORCED);
            checks += Counts.requests(m, "check-policy");
            conflicts += Counts.requests(m, "patch", "409") + Counts.requests(m, "patch", "422");
            for (String verb : List.of("get", "watch", "patch", "create-event", "check-policy")) {
                throttled += Counts.requests(m, verb, "429");
            }
            a.close();
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("nodes", n);
        out.put("certs_issued_seconds", issueSeconds);
        out.put("seconds", seconds);
        out.put("left_tainted", left);
        // Every request on `nodes`, the watch included: since the watch replaced the GET, GET + PATCH alone
        // would flatter the figure.
        out.put("node_requests_per_node", (get + watch + patch + checks) / (double) n);
        out.put("total_requests_per_node", (get + patch + watch + checks + events) / (double) n);
        out.put("get", get);
        out.put("patch", patch);
        out.put("watch", watch);
        out.put("events", events);
        out.put("policy_checks", checks);
        out.put("retries_409_422", conflicts);
        out.put("retries_429", throttled);
        return out;
    }

    /**
     * The floor under the scale figure: the writes of n bootstraps (per node one PATCH removing the taint
     * and one Event), made by the benchmark itself, all at once, on a control plane of its own, with a
     * 429 retried after its Retry-After. What the apiserver and etcd of this machine take for the writes
     * alone; the agents' figure adds their watches, their own start and certificate checks, and what they
     * retry.
     */
    private static Map<String, Object> scaleFloor(ControlPlane cp, int n) throws Exception {
        Kube kube = cp.kube();
        for (int i = 0; i < n; i++) {
            kube.createNode("floor-" + i, "a.io/keep:NoSchedule", TAINT + ":NoSchedule");
        }
        String keep = "{\"key\":\"a.io/keep\",\"effect\":\"NoSchedule\"}";
        String ours = "{\"key\":\"" + TAINT + "\",\"effect\":\"NoSchedule\"}";
        String patch = "[{\"op\":\"test\",\"path\":\"/spec/taints\",\"value\":[" + keep + "," + ours + "]},"
                + "{\"op\":\"replace\",\"path\":\"/spec/taints\",\"value\":[" + keep + "]}]";
        java.util.concurrent.atomic.AtomicLong requests = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.atomic.AtomicLong throttled = new java.util.concurrent.atomic.AtomicLong();
        long t0 = System.nanoTime();
        try (var pool = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < n; i++) {
                String node = "floor-" + i;
                pool.submit(() -> {
                    int code;
                    while ((code = kube.jsonPatch(node, patch)) == 429 || code >= 500) {
                        requests.incrementAndGet();
                        throttled.incrementAndGet();
                        Thread.sleep(1_000);
                    }
                    requests.incrementAndGet();
                    String event = "{\"apiVersion\":\"events.k8s.io/v1\",\"kind\":\"Event\",\"metadata\":{\"name\":\""
                            + node + ".floor\",\"namespace\":\"kube-system\"},\"eventTime\":\""
                            + java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSSX")
                                    .format(java.time.ZonedDateTime.now(java.time.ZoneOffset.UTC))
                            + "\",\"reportingController\":\"bench\",\"reportingInstance\":\"bench-" + node
                            + "\",\"action\":\"RemoveTaint\",\"reason\":\"StartupTaintRemoved\",\"type\":\"Normal\","
                            + "\"note\":\"floor\",\"regarding\":{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"name\":\""
                            + node + "\"}}";
                    for (int attempt = 0; attempt < 3; attempt++) {
                        requests.incrementAndGet();
                        try {
                            kube.call("POST", "/apis/events.k8s.io/v1/namespaces/kube-system/events", event,
                                    okhttp3.MediaType.get("application/json"));
                            break;
                        } catch (IOException e) {
                            throttled.incrementAndGet();
                            Thread.sleep(1_000);
                        }
                    }
                    return null;
                });
            }
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("nodes", n);
        out.put("seconds", seconds);
        out.put("left_tainted", tainted(kube, "floor"));
        out.put("requests", requests.get());
        out.put("retried_429_5xx", throttled.get());
        return out;
    }

    private static int tainted(Kube kube, String prefix) throws IOException {
        JsonArray items = JsonParser.parseString(kube.call("GET", "/api/v1/nodes", null, null)).getAsJsonObject()
                .getAsJsonArray("items");
        int count = 0;
        for (JsonElement e : items) {
            JsonObject node = e.getAsJsonObject();
            if (node.getAsJsonObject("metadata").get("name").getAsString().startsWith(prefix + "-") && hasTaint(node)) {
                count++;
            }
        }
        return count;
    }

    private static double pct(double[] sorted, int p) {
        int i = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }

    private static Map<String, Object> machine() throws IOException {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cpus", Runtime.getRuntime().availableProcessors());
        m.put("java", System.getProperty("java.version"));
        m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"));
        for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
            if (line.startsWith("model name")) {
                m.put("cpu", line.substring(line.indexOf(':') + 1).strip());
                break;
            }
        }
        return m;
    }
}
