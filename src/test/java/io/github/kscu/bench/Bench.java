package io.github.kscu.bench;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.github.kscu.testing.ControlPlane;
import io.github.kscu.testing.TestCerts;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * {@code make bench}: latency, cold start, memory (each beside its floor, a bare JVM from the same runtime
 * with the same options), the memory limit a cold start needs (root: a memory cgroup), image layers, and
 * 1000 and 5000 nodes, on the real control plane of the test suite. Reports figures
 * (target/bench/*.json); never fails on a missed target. Each family is a class of its own; this one runs
 * them and holds what they share.
 */
public final class Bench {
    static final String TAINT = "example.com/kubelet-no-server-cert";

    static final Path RUNTIME = Path.of("target/runtime").toAbsolutePath();

    static final Path OUT = Path.of("target/bench").toAbsolutePath();

    static final TestCerts.Issued CA = TestCerts.ca("bench-ca");

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
                Latency.fileSource(cp, kubeconfig, summary, details);
            }
            if (only.isEmpty() || only.contains("kubelet")) {
                Latency.kubeletSource(cp, kubeconfig, summary, details);
            }
            if (only.isEmpty() || only.contains("start")) {
                Startup.run(cp, kubeconfig, summary);
            }
            if (only.isEmpty() || only.contains("memory")) {
                Memory.run(cp, kubeconfig, summary, details);
            }
            if (only.isEmpty() || only.contains("limits")) {
                MemoryLimits.run(cp, summary, details);
            }
            if (only.isEmpty() || only.contains("layers")) {
                Layers.run(summary, details);
            }
        }
        if (only.isEmpty() || only.contains("scale")) {
            Scale.run(smallScale, scaleNodes, summary, details);
        }
        if (only.isEmpty() || only.contains("scale") || only.contains("scale-floor")) {
            Scale.floor(scaleNodes, summary, details);
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

    /** The bare JVM of {@link IdleFloor}: the runtime's java, its options, nothing of the agent. */
    static ProcessBuilder idleFloor() {
        return new ProcessBuilder(RUNTIME.resolve("jre/bin/java").toString(), "@" + RUNTIME.resolve("app/jvm.options"),
                "-cp", Path.of("target/test-classes").toAbsolutePath().toString(), IdleFloor.class.getName());
    }

    static String awaitLine(Path log, String text, Process p) throws Exception {
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

    static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    static double pct(double[] sorted, int p) {
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
