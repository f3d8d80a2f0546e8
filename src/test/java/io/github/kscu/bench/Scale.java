package io.github.kscu.bench;

import static io.github.kscu.bench.Bench.CA;
import static io.github.kscu.bench.Bench.TAINT;
import static io.github.kscu.bench.Bench.hasTaint;
import static io.github.kscu.bench.Bench.say;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.github.kscu.agent.Agent;
import io.github.kscu.agent.Wiring;
import io.github.kscu.config.Settings;
import io.github.kscu.kube.KubeClients;
import io.github.kscu.report.Reason;
import io.github.kscu.report.State;
import io.github.kscu.testing.ControlPlane;
import io.github.kscu.testing.Kube;
import io.github.kscu.testing.Scraped;
import io.github.kscu.testing.TestCerts;
import io.github.kscu.testing.TestSettings;
import io.kubernetes.client.openapi.ApiClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * N nodes booting at once with N in-process agents, on a plain and a throttled apiserver, beside the floor
 * of their writes.
 */
final class Scale {
    private Scale() {
    }

    /**
     * {@code smallScale} and then {@code scaleNodes} nodes, each on a control plane of its own: the nodes of one run
     * would otherwise slow the next one's LISTs and watches. Each also on a throttled apiserver.
     */
    static void run(int smallScale, int scaleNodes, Map<String, Object> summary, Map<String, Object> details)
            throws Exception {
        for (int n : new int[] {smallScale, scaleNodes}) {
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
    }

    /** The floor of {@code scaleNodes} nodes' writes, on a control plane of its own. */
    static void floor(int scaleNodes, Map<String, Object> summary, Map<String, Object> details) throws Exception {
        try (ControlPlane cp = ControlPlane.start(ControlPlane.Options.DEFAULT)) {
            Map<String, Object> floor = floor(cp, scaleNodes);
            summary.put("scale_" + scaleNodes + "_floor_seconds", floor.get("seconds"));
            details.put("scale_" + scaleNodes + "_floor", floor);
            say("scale floor, %d nodes (the same writes, made by the benchmark itself): %s", scaleNodes, floor);
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
        while (agents.stream().anyMatch(a -> Scraped.requests(a.metrics(), "check-policy") == 0) && System.nanoTime() < checked) {
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
            get += Scraped.requests(m, "get");
            patch += Scraped.requests(m, "patch");
            watch += Scraped.requests(m, "watch");
            // This control plane has no admission policy (the agents' tokens are not bound to pods): the
            // check's Warning Event would not be posted where the policy is in force.
            events += Scraped.requests(m, "create-event") - Scraped.outcomes(m, Reason.ADMISSION_POLICY_NOT_ENFORCED);
            checks += Scraped.requests(m, "check-policy");
            conflicts += Scraped.requests(m, "patch", "409") + Scraped.requests(m, "patch", "422");
            for (String verb : List.of("get", "watch", "patch", "create-event", "check-policy")) {
                throttled += Scraped.requests(m, verb, "429");
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
    private static Map<String, Object> floor(ControlPlane cp, int n) throws Exception {
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
}
