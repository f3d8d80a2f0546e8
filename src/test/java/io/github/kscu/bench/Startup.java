package io.github.kscu.bench;

import static io.github.kscu.bench.Bench.CA;
import static io.github.kscu.bench.Bench.OUT;
import static io.github.kscu.bench.Bench.RUNTIME;
import static io.github.kscu.bench.Bench.awaitLine;
import static io.github.kscu.bench.Bench.idleFloor;
import static io.github.kscu.bench.Bench.median;
import static io.github.kscu.bench.Bench.say;

import com.google.gson.JsonParser;
import io.github.kscu.testing.ControlPlane;
import io.github.kscu.testing.ImageCommand;
import io.github.kscu.testing.Kube;
import io.github.kscu.testing.TestCerts;
import io.github.kscu.testing.TestSettings;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Cold start to the first API answer, with and without the AOT cache, beside the bare JVM's. */
final class Startup {
    private Startup() {
    }

    /** Medians of ten starts each. */
    static void run(ControlPlane cp, Path kubeconfig, Map<String, Object> summary) throws Exception {
        double noAot = coldStart(cp, kubeconfig, false, 10);
        double aot = coldStart(cp, kubeconfig, true, 10);
        double startFloor = coldStartFloor(10);
        summary.put("cold_start_aot_ms", aot);
        summary.put("cold_start_floor_ms", startFloor);
        summary.put("cold_start_no_aot_ms", noAot);
        say("cold start to first API answer (median of 10): %.0f ms with AOT cache, %.0f ms without; floor (bare"
                + " JVM to main) %.0f ms", aot, noAot, startFloor);
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

    /** Process start → {@link IdleFloor}'s first line, median in ms: the JVM's own start-up. */
    private static double coldStartFloor(int runs) throws Exception {
        double[] ms = new double[runs];
        for (int i = 0; i < runs; i++) {
            ms[i] = spawnToLine(idleFloor(), OUT.resolve("cold-floor.log"), "idle floor started");
        }
        return median(ms);
    }
}
