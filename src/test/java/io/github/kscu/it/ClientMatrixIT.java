package io.github.kscu.it;

import static io.github.kscu.it.Agents.OURS;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonParser;
import io.github.kscu.testing.ControlPlane;
import io.github.kscu.testing.ControlPlaneExtension;
import io.github.kscu.testing.Kube;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The admission policy on the clients users install with, on a real apiserver: each overlay rendered by
 * the kustomize that kubectl 1.31 to 1.36 and Argo CD embed and by the newest that builds here, each
 * outer kustomization a user may put around an overlay, a real Flux kustomize-controller, and the Helm
 * chart with helm v3 and v4. Every
 * cell is installed alone (the one before it deleted, and the policy seen gone), the agent's own token is
 * minted bound to a pod on node A, and the node-A and node-B label and taint attacks must each be refused
 * while removing the cell's taint from node A is allowed. {@link DefaultInstallAttackIT} runs every attack
 * on the README's own command ({@code kubectl apply -k}); this class proves the other paths.
 */
@ExtendWith(ControlPlaneExtension.class)
@ControlPlaneExtension.Options
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClientMatrixIT {
    /**
     * kustomize as kubectl embeds it (k8s.io/kubectl's go.mod) and Argo CD bundles it, and the newest that
     * builds here (v5.8.3, Argo CD v3.6's, does not: a dependency is refused by the module proxy).
     */
    static final List<String[]> KUSTOMIZES = List.of(
            new String[] {"v5.4.2", "kubectl 1.31"},
            new String[] {"v5.5.0", "kubectl 1.32"},
            new String[] {"v5.6.0", "kubectl 1.33"},
            new String[] {"v5.7.1", "kubectl 1.34 and 1.35"},
            new String[] {"v5.8.1", "kubectl 1.36; Argo CD v3.4 and v3.5; Flux kustomize-controller v1.9"},
            new String[] {"v5.8.2", "the newest built here; the pinned one"});
    static final List<String> OVERLAYS = List.of("generic", "eks-auto-mode", "karpenter-startup-taints");
    /**
     * The kustomizes the outer-kustomization variants are rendered with: the oldest (its built-in name
     * references lack the binding's policyName), most kubectls, and the newest.
     */
    static final List<String> OUTER_KUSTOMIZES = List.of("v5.4.2", "v5.7.1", "v5.8.2");
    static final String OTHER_KEY = "other.io/boot";
    static final String PROBE_SA = "probe-kubelet-server-cert-untaint";
    /** A user's kustomization merging another TAINT_KEY into the agent's ConfigMap. */
    static final String MERGE_OTHER_KEY = """
            configMapGenerator:
            - name: kubelet-server-cert-untaint
              behavior: merge
              literals:
              - TAINT_KEY=%s
            """.formatted(OTHER_KEY);
    /** The replacement docs/install.md tells that user to repeat after the merge. */
    static final String COPY_TAINT_KEY = """
            replacements:
            - source: {kind: ConfigMap, name: kubelet-server-cert-untaint, fieldPath: data.TAINT_KEY}
              targets:
              - select: {group: admissionregistration.k8s.io, kind: ValidatingAdmissionPolicy, name: kubelet-server-cert-untaint}
                fieldPaths:
                - spec.variables.[name=taintKeySetting].expression
                options: {delimiter: "'", index: 1}
            """;

    private static final MediaType JSON_PATCH = MediaType.get("application/json-patch+json");
    private static final MediaType MERGE = MediaType.get("application/merge-patch+json");
    private static final String KEEP = taintJson("keep.io/x");

    /** How a cell gets onto the cluster, and how it is taken off again. */
    interface Install {
        void apply(ControlPlane cp) throws Exception;

        void delete(ControlPlane cp) throws Exception;
    }

    /**
     * @param key        the taint the agent of this cell removes (its TAINT_KEY)
     * @param policyKey  the taint the policy of this cell lets it remove: another one when a user merged a
     *                   TAINT_KEY without copying it into the policy, and the removal must then be refused
     *                   with a message that says what to do
     */
    record Cell(String name, Install install, String namespace, String serviceAccount, String key, String policyKey) {
    }

    record Row(String cell, String operation, int status) {
    }

    private final ControlPlane cp;
    private final Kube kube;
    private final List<Row> matrix = new CopyOnWriteArrayList<>();
    private OkHttpClient probe;
    private Cell installed;

    ClientMatrixIT(ControlPlane cp) {
        this.cp = cp;
        this.kube = cp.kube();
        List<String> tools = new ArrayList<>(List.of("helm", "helm4", "karpenter-crds", "kustomize-controller",
                "flux-crds"));
        KUSTOMIZES.forEach(k -> tools.add("kustomize-" + k[0]));
        ControlPlane.requireTools("the client matrix", tools.toArray(String[]::new));
    }

    @BeforeAll
    void nodesAndProbe() throws Exception {
        cp.tool("kubectl", null, "apply", "--server-side", "-f", ControlPlane.toolsBin().resolve("karpenter-crds")
                .toRealPath().toString());
        for (String node : List.of("node-a", "node-b")) {
            kube.createNode(node, "keep.io/x:NoSchedule", OURS + ":NoSchedule", OTHER_KEY + ":NoSchedule");
        }
        // A ServiceAccount that may patch nodes and that every kustomize-rendered policy matches (its
        // name contains ours): once a dry run of its label change is allowed, no policy is left over.
        cp.tool("kubectl", """
                apiVersion: v1
                kind: ServiceAccount
                metadata: {name: %1$s, namespace: default}
                ---
                apiVersion: rbac.authorization.k8s.io/v1
                kind: ClusterRole
                metadata: {name: %1$s}
                rules: [{apiGroups: [""], resources: [nodes], verbs: [patch]}]
                ---
                apiVersion: rbac.authorization.k8s.io/v1
                kind: ClusterRoleBinding
                metadata: {name: %1$s}
                roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: %1$s}
                subjects: [{kind: ServiceAccount, name: %1$s, namespace: default}]
                """.formatted(PROBE_SA), "apply", "--server-side", "-f", "-");
        probe = cp.tokenHttp(kube.podBoundToken("default", PROBE_SA, "node-a"));
    }

    /** One line per cell: the attacks' statuses (403 = refused), then the agent's own removal's. */
    @AfterAll
    void printMatrix() {
        StringBuilder b = new StringBuilder("client matrix: node B label, node B our taint, node A label, node A add"
                + " a taint, node A a foreign taint, an Event about node B (422 outside default and kube-system)"
                + " | node A our taint (the agent's change)\n");
        Map<String, List<String>> byCell = new LinkedHashMap<>();
        for (Row r : matrix) {
            byCell.computeIfAbsent(r.cell(), c -> new ArrayList<>()).add(Integer.toString(r.status()));
        }
        byCell.forEach((cell, statuses) -> b.append(String.format(Locale.ROOT, "  %-118s %s%n", cell,
                String.join(" ", statuses.subList(0, statuses.size() - 1)) + " | " + statuses.getLast())));
        System.out.println(b);
    }

    static Stream<Cell> cells() {
        List<Cell> cells = new ArrayList<>();
        for (String[] k : KUSTOMIZES) {
            for (String overlay : OVERLAYS) {
                cells.add(kustomize("kustomize " + k[0] + " (" + k[1] + "), overlays/" + overlay, k[0],
                        "overlays/" + overlay, "", "kube-system", "kubelet-server-cert-untaint", OURS, OURS));
            }
        }
        String merge = MERGE_OTHER_KEY;
        String copy = COPY_TAINT_KEY;
        for (String k : OUTER_KUSTOMIZES) {
            String with = "kustomize " + k + ", overlays/generic in a user's kustomization with ";
            cells.add(kustomize(with + "namespace: agents", k, "overlays/generic", "namespace: agents\n",
                    "agents", "kubelet-server-cert-untaint", OURS, OURS));
            cells.add(kustomize(with + "namePrefix: acme-", k, "overlays/generic", "namePrefix: acme-\n",
                    "kube-system", "acme-kubelet-server-cert-untaint", OURS, OURS));
            cells.add(kustomize(with + "nameSuffix: -prod", k, "overlays/generic", "nameSuffix: -prod\n",
                    "kube-system", "kubelet-server-cert-untaint-prod", OURS, OURS));
            cells.add(kustomize(with + "images and labels", k, "overlays/generic", """
                    images:
                    - name: ghcr.io/kubelet-server-cert-untaint/kubelet-server-cert-untaint
                      newName: registry.example.com/untaint
                      newTag: "1.0"
                    labels:
                    - pairs: {team: platform}
                    """, "kube-system", "kubelet-server-cert-untaint", OURS, OURS));
            cells.add(kustomize(with + "a merged TAINT_KEY copied into the policy (docs/install.md)", k,
                    "overlays/generic", merge + copy, "kube-system", "kubelet-server-cert-untaint", OTHER_KEY,
                    OTHER_KEY));
            cells.add(kustomize(with + "a merged TAINT_KEY alone: refused, saying why", k, "overlays/generic",
                    merge, "kube-system", "kubelet-server-cert-untaint", OTHER_KEY, OURS));
        }
        cells.add(flux());
        for (String helm : List.of("helm", "helm4")) {
            cells.add(helm(helm + ", default values", helm, "helm-" + helm, "kscu", List.of(),
                    "kscu-kubelet-server-cert-untaint"));
            cells.add(helm(helm + ", fullnameOverride: untaint", helm, "helm-" + helm + "-override", "kscu",
                    List.of("--set", "fullnameOverride=untaint"), "untaint"));
        }
        return cells.stream();
    }

    /** {@code -Dkscu.matrix.only=TEXT} runs only the cells whose name contains TEXT (while working on one). */
    @TestFactory
    Stream<DynamicNode> eachClientKeepsThePolicyInForce() {
        String only = System.getProperty("kscu.matrix.only", "");
        return cells().filter(cell -> cell.name().contains(only)).map(cell -> DynamicContainer.dynamicContainer(cell.name(), Stream.of(
                DynamicTest.dynamicTest("installs alone", () -> install(cell)),
                attack(cell, "node B: label", "node-b", MERGE, "{\"metadata\":{\"labels\":{\"x\":\"y\"}}}"),
                attack(cell, "node B: remove the agent's taint", "node-b", JSON_PATCH,
                        replaceTaints(without(cell.key()))),
                attack(cell, "node A: label", "node-a", MERGE, "{\"metadata\":{\"labels\":{\"x\":\"y\"}}}"),
                attack(cell, "node A: add a taint", "node-a", JSON_PATCH,
                        replaceTaints(all() + "," + taintJson("new.io/y"))),
                attack(cell, "node A: remove a foreign taint", "node-a", JSON_PATCH,
                        replaceTaints(taintJson(OURS) + "," + taintJson(OTHER_KEY))),
                eventAboutNodeB(cell),
                DynamicTest.dynamicTest("node A: remove the agent's taint", () -> removeOwnTaint(cell)))));
    }

    private void install(Cell cell) throws Exception {
        if (installed != null) {
            installed.install().delete(cp);
            installed = null;
        }
        // Nothing of the previous cell may still be in force, or it could hide a cell whose policy is not.
        cp.tool("kubectl", null, "delete", "validatingadmissionpolicies,validatingadmissionpolicybindings", "--all",
                "--wait");
        awaitStatus(probe, 200, "a leftover policy is still in force");
        // helm creates its namespace itself.
        if (!cell.namespace().equals("kube-system") && !cell.name().startsWith("helm")) {
            cp.tool("kubectl", "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"" + cell.namespace() + "\"}}", "apply", "-f", "-");
        }
        cell.install().apply(cp);
        installed = cell;
        agent = cp.tokenHttp(kube.podBoundToken(cell.namespace(), cell.serviceAccount(), "node-a"));
        // The apiserver loads a new policy through an informer: wait until it refuses.
        awaitStatus(agent, 403, "the policy of " + cell.name() + " is not in force");
    }

    private OkHttpClient agent;

    private DynamicTest attack(Cell cell, String operation, String node, MediaType type, String body) {
        return DynamicTest.dynamicTest(operation, () -> {
            int status = dryRun(agent, node, type, body);
            matrix.add(new Row(cell.name(), operation, status));
            assertThat(status).as("%s: %s", operation, lastAnswer).isEqualTo(403);
        });
    }

    /**
     * The Events policy, loaded apart from the Node one: refused within 30 s, or not in force. Outside
     * default and kube-system the apiserver refuses every Event about a Node itself (422), the agent's own
     * too, so there the policy has nothing to add and the answer is that refusal.
     */
    private DynamicTest eventAboutNodeB(Cell cell) {
        int want = io.github.kscu.config.Settings.NODE_EVENT_NAMESPACES.contains(cell.namespace()) ? 403 : 422;
        return DynamicTest.dynamicTest("an Event about node B", () -> {
            Request post = new Request.Builder().url(cp.url() + "/apis/events.k8s.io/v1/namespaces/" + cell.namespace()
                    + "/events?dryRun=All").post(RequestBody.create(Kube.agentEvent("Node", "node-b", ""),
                            MediaType.get("application/json"))).build();
            long deadline = System.nanoTime() + 30_000_000_000L;
            int status;
            while (true) {
                try (Response r = agent.newCall(post).execute()) {
                    status = r.code();
                    lastAnswer = r.body().string();
                }
                if (status == want || System.nanoTime() > deadline) {
                    break;
                }
                Thread.sleep(200);
            }
            matrix.add(new Row(cell.name(), "Event about node B", status));
            assertThat(status).as("an Event about node B: %s", lastAnswer).isEqualTo(want);
            if (want == 422) {
                assertThat(lastAnswer).contains("does not match event.namespace");
            }
        });
    }

    private void removeOwnTaint(Cell cell) throws Exception {
        String patch = "[{\"op\":\"test\",\"path\":\"/spec/taints\",\"value\":[" + all() + "]},"
                + replaceTaints(without(cell.key())).substring(1);
        int status = dryRun(agent, "node-a", JSON_PATCH, patch);
        matrix.add(new Row(cell.name(), "node A: remove " + cell.key(), status));
        if (cell.key().equals(cell.policyKey())) {
            assertThat(status).as("%s", lastAnswer).isEqualTo(200);
        } else {
            assertThat(status).as("%s", lastAnswer).isEqualTo(403);
            assertThat(lastAnswer).contains("may only remove taints matching [" + cell.policyKey() + "]")
                    .contains("render the policy with it");
        }
    }

    private static Cell kustomize(String name, String version, String resource, String extra, String namespace,
            String sa, String key, String policyKey) {
        Install install = new Install() {
            private String rendered;

            @Override
            public void apply(ControlPlane cp) throws Exception {
                Path dir = cp.kustomization(resource, extra);
                rendered = cp.tool("kustomize-" + version, null, "build", dir.toString());
                assertThat(rendered).contains("kind: ValidatingAdmissionPolicyBinding");
                cp.tool("kubectl", rendered, "apply", "--server-side", "--field-manager=kscu-matrix", "-f", "-");
            }

            @Override
            public void delete(ControlPlane cp) throws Exception {
                cp.tool("kubectl", rendered, "delete", "--ignore-not-found", "--wait", "-f", "-");
            }
        };
        return new Cell(name, install, namespace, sa, key, policyKey);
    }

    /**
     * Flux as users run it: a real kustomize-controller (with the kustomize it bundles) reconciling
     * overlays/generic from an ExternalArtifact, a tarball of this repository's kustomize/ directory
     * served on loopback, as a source-controller would serve it.
     */
    private static Cell flux() {
        String version = "v1.9.6";
        Install install = new Install() {
            private com.sun.net.httpserver.HttpServer server;

            @Override
            public void apply(ControlPlane cp) throws Exception {
                Path bin = ControlPlane.requireTools("the Flux cell", "kustomize-controller", "flux-crds");
                cp.tool("kubectl", null, "apply", "--server-side", "-f", bin.resolve("flux-crds").toRealPath().toString());
                cp.tool("kubectl", null, "create", "namespace", "flux-system");
                int health = ControlPlane.freePort();
                cp.startProcess("kustomize-controller", Duration.ofSeconds(60), () -> httpOk(health),
                        "env", "KUBECONFIG=" + cp.adminKubeconfig(), bin.resolve("kustomize-controller").toString(),
                        "--feature-gates=ExternalArtifact=true", "--metrics-addr=0",
                        "--health-addr=127.0.0.1:" + health, "--watch-all-namespaces=true");
                Path tarball = cp.dir().resolve("kustomize.tar.gz");
                Process tar = new ProcessBuilder("tar", "-czf", tarball.toString(), "-C",
                        Path.of("kustomize").toAbsolutePath().toString(), ".").inheritIO().start();
                assertThat(tar.waitFor()).as("tar of kustomize/").isZero();
                byte[] bytes = Files.readAllBytes(tarball);
                server = com.sun.net.httpserver.HttpServer.create(
                        new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0), 0);
                server.createContext("/kustomize.tar.gz", exchange -> {
                    exchange.sendResponseHeaders(200, bytes.length);
                    try (var out = exchange.getResponseBody()) {
                        out.write(bytes);
                    }
                });
                server.start();
                String digest = "sha256:" + java.util.HexFormat.of().formatHex(
                        java.security.MessageDigest.getInstance("SHA-256").digest(bytes));
                String now = java.time.Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString();
                cp.tool("kubectl", """
                        apiVersion: source.toolkit.fluxcd.io/v1
                        kind: ExternalArtifact
                        metadata: {name: kscu, namespace: flux-system}
                        spec: {}
                        """, "apply", "-f", "-");
                String status = """
                        {"status":{"artifact":{"url":"http://127.0.0.1:%d/kustomize.tar.gz","revision":"main@sha1:0",
                         "digest":"%s","path":"kustomize.tar.gz","lastUpdateTime":"%s","size":%d},
                         "conditions":[{"type":"Ready","status":"True","reason":"Succeeded","message":"served",
                          "lastTransitionTime":"%s","observedGeneration":1}]}}"""
                        .formatted(server.getAddress().getPort(), digest, now, bytes.length, now);
                cp.kube().call("PATCH", "/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/externalartifacts/kscu/status",
                        status, MERGE);
                cp.tool("kubectl", """
                        apiVersion: kustomize.toolkit.fluxcd.io/v1
                        kind: Kustomization
                        metadata: {name: kscu, namespace: flux-system}
                        spec:
                          interval: 10m
                          path: ./overlays/generic
                          prune: true
                          timeout: 2m
                          sourceRef: {kind: ExternalArtifact, name: kscu}
                        """, "apply", "-f", "-");
                try {
                    cp.tool("kubectl", null, "wait", "--for=condition=Ready", "--timeout=120s", "-n", "flux-system",
                            "kustomization/kscu");
                } catch (java.io.IOException e) {
                    throw new AssertionError("Flux did not reconcile: " + cp.tool("kubectl", null, "get", "-n",
                            "flux-system", "kustomization/kscu", "-o", "jsonpath={.status.conditions}")
                            + "\nkustomize-controller log:\n" + cp.tail(cp.dir().resolve("kustomize-controller.log")), e);
                }
            }

            @Override
            public void delete(ControlPlane cp) throws Exception {
                // prune: Flux deletes what it applied.
                cp.tool("kubectl", null, "delete", "-n", "flux-system", "kustomization/kscu", "--wait",
                        "--timeout=120s");
                server.stop(0);
            }
        };
        return new Cell("Flux kustomize-controller " + version + " (its kustomize v5.8.1), overlays/generic from an"
                + " ExternalArtifact", install, "kube-system", "kubelet-server-cert-untaint", OURS, OURS);
    }

    private static boolean httpOk(int port) throws java.io.IOException {
        var c = (java.net.HttpURLConnection) java.net.URI.create("http://127.0.0.1:" + port + "/readyz").toURL()
                .openConnection();
        c.setConnectTimeout(500);
        try {
            return c.getResponseCode() == 200;
        } finally {
            c.disconnect();
        }
    }

    private static Cell helm(String name, String helm, String namespace, String release, List<String> args,
            String sa) {
        Path chart = Path.of("charts/kubelet-server-cert-untaint").toAbsolutePath();
        Install install = new Install() {
            @Override
            public void apply(ControlPlane cp) throws Exception {
                List<String> cmd = new ArrayList<>(List.of("install", release, chart.toString(), "--namespace",
                        namespace, "--create-namespace"));
                cmd.addAll(args);
                cp.tool(helm, null, cmd.toArray(String[]::new));
            }

            @Override
            public void delete(ControlPlane cp) throws Exception {
                cp.tool(helm, null, "uninstall", release, "--namespace", namespace, "--wait");
            }
        };
        return new Cell(name, install, namespace, sa, OURS, OURS);
    }

    private void awaitStatus(OkHttpClient client, int want, String otherwise) throws Exception {
        long deadline = System.nanoTime() + 30_000_000_000L;
        int status;
        while ((status = dryRun(client, "node-a", MERGE, "{\"metadata\":{\"labels\":{\"x\":\"y\"}}}")) != want) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(otherwise + " after 30 s: " + status + " " + lastAnswer);
            }
            Thread.sleep(200);
        }
    }

    private String lastAnswer = "";

    private int dryRun(OkHttpClient client, String node, MediaType type, String body) throws Exception {
        try (Response r = client.newCall(new Request.Builder().url(cp.url() + "/api/v1/nodes/" + node + "?dryRun=All")
                .patch(RequestBody.create(body, type)).build()).execute()) {
            lastAnswer = r.body().string();
            try {
                lastAnswer = JsonParser.parseString(lastAnswer).getAsJsonObject().get("message").getAsString();
            } catch (RuntimeException e) {
                // not a Status: keep the body
            }
            return r.code();
        }
    }

    private static String taintJson(String key) {
        return "{\"key\":\"" + key + "\",\"effect\":\"NoSchedule\"}";
    }

    /** The nodes' taints as created. */
    private static String all() {
        return KEEP + "," + taintJson(OURS) + "," + taintJson(OTHER_KEY);
    }

    private static String without(String key) {
        List<String> kept = new ArrayList<>();
        for (String k : List.of("keep.io/x", OURS, OTHER_KEY)) {
            if (!k.equals(key)) {
                kept.add(taintJson(k));
            }
        }
        return String.join(",", kept);
    }

    private static String replaceTaints(String taints) {
        return "[{\"op\":\"replace\",\"path\":\"/spec/taints\",\"value\":[" + taints + "]}]";
    }
}
