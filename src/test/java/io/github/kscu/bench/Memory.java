package io.github.kscu.bench;

import static io.github.kscu.bench.Bench.CA;
import static io.github.kscu.bench.Bench.OUT;
import static io.github.kscu.bench.Bench.RUNTIME;
import static io.github.kscu.bench.Bench.TAINT;
import static io.github.kscu.bench.Bench.idleFloor;
import static io.github.kscu.bench.Bench.say;

import io.github.kscu.testing.ControlPlane;
import io.github.kscu.testing.ImageCommand;
import io.github.kscu.testing.Kube;
import io.github.kscu.testing.TestCerts;
import io.github.kscu.testing.TestSettings;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Steady-state memory of the image's command line, beside the bare JVM's. */
final class Memory {
    private Memory() {
    }

    /** RSS, anonymous, PSS and heap, agent and floor. */
    static void run(ControlPlane cp, Path kubeconfig,
            Map<String, Object> summary, Map<String, Object> details) throws Exception {
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
}
