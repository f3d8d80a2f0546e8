package io.github.kscu.bench;

import static io.github.kscu.bench.Bench.CA;
import static io.github.kscu.bench.Bench.OUT;
import static io.github.kscu.bench.Bench.RUNTIME;
import static io.github.kscu.bench.Bench.TAINT;
import static io.github.kscu.bench.Bench.say;

import io.github.kscu.testing.ControlPlane;
import io.github.kscu.testing.LimitedAgent;
import io.github.kscu.testing.MemoryCgroup;
import io.github.kscu.testing.TestCerts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The memory limit a cold start needs (root: a memory cgroup), beside the shipped one. */
final class MemoryLimits {
    private MemoryLimits() {
    }

    /** The lowest limits that work, and work promptly. */
    static void run(ControlPlane cp, Map<String, Object> summary, Map<String, Object> details) throws Exception {
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

    /** A memory limit works when the taint goes within this of the certificate, as MemoryLimitIT demands. */
    private static final java.time.Duration LIMIT_WORKS = java.time.Duration.ofSeconds(10);

    /** ... and works well when it goes within this: no seconds of reclaiming and re-reading pages. */
    private static final java.time.Duration LIMIT_WORKS_PROMPTLY = java.time.Duration.ofSeconds(1);

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
}
