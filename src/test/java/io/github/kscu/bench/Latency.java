package io.github.kscu.bench;

import static io.github.kscu.bench.Bench.CA;
import static io.github.kscu.bench.Bench.RUNTIME;
import static io.github.kscu.bench.Bench.TAINT;
import static io.github.kscu.bench.Bench.hasTaint;
import static io.github.kscu.bench.Bench.pct;
import static io.github.kscu.bench.Bench.say;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.github.kscu.agent.Agent;
import io.github.kscu.agent.Wiring;
import io.github.kscu.cert.KubeletCertSource;
import io.github.kscu.config.Settings;
import io.github.kscu.kube.KubeClients;
import io.github.kscu.report.State;
import io.github.kscu.testing.ControlPlane;
import io.github.kscu.testing.ImageCommand;
import io.github.kscu.testing.Kube;
import io.github.kscu.testing.Scraped;
import io.github.kscu.testing.TestCerts;
import io.github.kscu.testing.TestSettings;
import io.kubernetes.client.openapi.ApiClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import okio.BufferedSource;

/**
 * Certificate → untaint latency for each certificate source, beside its floor; the kubelet source's CPU
 * while it waits.
 */
final class Latency {
    private Latency() {
    }

    /** The file source's latency and its floor. */
    static void fileSource(ControlPlane cp, Path kubeconfig,
            Map<String, Object> summary, Map<String, Object> details) throws Exception {
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

    /** The kubelet source's latency, and its CPU while probing. */
    static void kubeletSource(ControlPlane cp, Path kubeconfig,
            Map<String, Object> summary, Map<String, Object> details) throws Exception {
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

    @FunctionalInterface
    private interface StageFactory {
        Stage stage(String node) throws Exception;
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
                    while ((!stage.waiting(agent) || Scraped.requests(agent.metrics(), "watch") == 0)
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
}
