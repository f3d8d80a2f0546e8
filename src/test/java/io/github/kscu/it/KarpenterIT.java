package io.github.kscu.it;

import static io.github.kscu.it.Agents.OURS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.github.kscu.agent.Agent;
import io.github.kscu.report.State;
import io.github.kscu.testing.ControlPlane;
import io.github.kscu.testing.ControlPlaneExtension;
import io.github.kscu.testing.KarpenterStack;
import io.github.kscu.testing.Kube;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import okhttp3.MediaType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.tinylog.Logger;

/**
 * The Karpenter path against Karpenter itself (its kwok provider) and kwok, on the real apiserver: a
 * NodePool derived from the {@code karpenter-startup-taints} overlay, a pending pod, the NodeClaim Karpenter
 * launches, the Node it registers, and our agent (in-process, its certificate written by the test)
 * removing our taint. Each case prints its timeline, from watches on the Node, the NodeClaim and the Pod.
 *
 * <p>A kwok Node has no kubelet. At creation it gets what a kubelet started by Karpenter's AWS provider
 * registers with (our startup taint) and a hold on registration that each case releases when it chooses
 * (see {@code src/test/resources/karpenter/node-registration.yaml}).
 */
@ExtendWith(ControlPlaneExtension.class)
@ControlPlaneExtension.Options(apiserverFlags = {KarpenterStack.FEATURE_GATE, KarpenterStack.RUNTIME_CONFIG})
class KarpenterIT {
    private static final String UNREGISTERED = "karpenter.sh/unregistered:NoExecute";
    private static final String TAINT = OURS + ":NoSchedule";
    private static final String READINESS_KEY = "readiness.k8s.io/kubelet-serving-certificate";
    private static final String READINESS_TAINT = READINESS_KEY + ":NoSchedule";
    private static final Duration LAUNCH = Duration.ofSeconds(60);
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final MediaType JSON = MediaType.get("application/json");
    private static final Path OVERLAYS = Path.of("kustomize/overlays").toAbsolutePath();

    private static KarpenterStack karpenter;
    private static Path agentKubeconfig;

    private final ControlPlane cp;
    private final Kube kube;
    private Agents agents;
    private Timeline timeline;
    private String pool;
    private String testName;

    KarpenterIT(ControlPlane cp) {
        this.cp = cp;
        this.kube = cp.kube();
    }

    @BeforeAll
    static void startKarpenter(ControlPlane cp) throws Exception {
        karpenter = KarpenterStack.start(cp);
        agentKubeconfig = cp.agentKubeconfig();
        Logger.tag("test").info("karpenter tier up version={}", karpenter.version());
    }

    @BeforeEach
    void setUp(TestInfo info) throws IOException {
        agents = new Agents(Files.createTempDirectory(cp.dir(), "agents-"));
        testName = info.getTestMethod().orElseThrow().getName();
    }

    @AfterEach
    void tearDown() throws Exception {
        agents.close();
        if (timeline != null) {
            timeline.close();
            System.out.printf("%n== %s (%s): timeline%n%s", testName, karpenter.version(), timeline);
        }
        if (pool != null) {
            // Karpenter terminates the NodeClaim and its Node; nothing waits for that.
            kube.call("DELETE", "/api/v1/namespaces/" + KarpenterStack.NAMESPACE + "/pods/" + pool, null, null);
            kube.call("DELETE", "/apis/karpenter.sh/v1/nodepools/" + pool, null, null);
        }
    }

    @Test
    void certificateBeforeRegistration_oursStaysWhileUnregisteredAndGoesAfter() throws Exception {
        String node = launch("a", false);
        issueCert(node);
        Agent agent = startAgent(node);
        await().atMost(WAIT).until(() -> agent.state() == State.WAITING_FOR_KARPENTER);
        Thread.sleep(2_000);
        assertThat(startupTaints(node)).containsExactly(UNREGISTERED, TAINT);

        release(node);
        awaitInitializedAndBound(node);
        assertOursNeverGoneWhileUnregistered();
        assertOursRemovedOnceAndNeverBack();
    }

    @Test
    void certificateLongAfterRegistration_oursStaysUntilTheCertificate() throws Exception {
        String node = launch("b", false);
        Agent agent = startAgent(node);
        await().atMost(WAIT).until(() -> agent.state() == State.WAITING_FOR_CERT);
        release(node);
        await().atMost(WAIT).until(() -> registered().isPresent());
        Thread.sleep(5_000);
        assertThat(startupTaints(node)).containsExactly(TAINT);
        assertThat(initialized()).isEmpty();
        assertThat(timeline.first("pod", e -> e.summary().startsWith("node=kwok"))).isEmpty();

        issueCert(node);
        awaitInitializedAndBound(node);
        long removed = removal().orElseThrow().millis();
        assertThat(removed - registered().orElseThrow().millis()).as("registration to removal, ms").isGreaterThan(5_000);
        assertOursRemovedOnceAndNeverBack();
    }

    @Test
    void doNotSyncTaints_karpenterLeavesTheTaintsAlone() throws Exception {
        String node = launch("c", true);
        assertThat(Timeline.label(nodeJson(node), "karpenter.sh/do-not-sync-taints")).hasValue("true");
        issueCert(node);
        Agent agent = startAgent(node);
        await().atMost(WAIT).until(() -> agent.state() == State.WAITING_FOR_KARPENTER);
        release(node);
        awaitInitializedAndBound(node);
        assertOursNeverGoneWhileUnregistered();
        assertOursRemovedOnceAndNeverBack();
    }

    @Test
    void agentRestartedAcrossRegistration_theNewOneRemovesOurs() throws Exception {
        String node = launch("d", false);
        issueCert(node);
        Agent first = startAgent(node);
        await().atMost(WAIT).until(() -> first.state() == State.WAITING_FOR_KARPENTER);
        first.close();
        timeline.note("agent stopped");
        release(node);
        await().atMost(WAIT).until(() -> registered().isPresent());
        Thread.sleep(2_000);
        assertThat(startupTaints(node)).as("no agent runs").containsExactly(TAINT);

        Agent second = startAgent(node);
        awaitInitializedAndBound(node);
        assertThat(second.state()).isIn(State.SETTLING, State.DONE);
        assertOursNeverGoneWhileUnregistered();
        assertOursRemovedOnceAndNeverBack();
    }

    /**
     * Without the gate (ours removed while karpenter.sh/unregistered is on, as the test does here),
     * Karpenter writes the startup taint back when it registers the node, and the node is not Initialized
     * until something removes it again. This is what the gate is for; the docs quote it.
     */
    @Test
    void withoutTheGate_karpenterWritesOursBackAtRegistration() throws Exception {
        String node = launch("e", false);
        bypassTheGate(node);
        release(node);
        await().atMost(WAIT).until(() -> registered().isPresent());
        Thread.sleep(3_000);
        assertThat(startupTaints(node)).as("written back by Karpenter's registration").containsExactly(TAINT);
        assertThat(registeredBy().summary()).as("the patch that registered the node").contains(TAINT);
        assertThat(initialized()).isEmpty();
        assertThat(timeline.of("nodeclaim").getLast().summary()).contains("Initialized=Unknown (StartupTaintsExist)");

        // An agent with the certificate puts it right.
        issueCert(node);
        startAgent(node);
        awaitInitializedAndBound(node);
    }

    /** The same bypass on a node with karpenter.sh/do-not-sync-taints: Karpenter leaves the taints alone. */
    @Test
    void withoutTheGateOnDoNotSyncTaints_karpenterLeavesOursRemoved() throws Exception {
        String node = launch("f", true);
        bypassTheGate(node);
        release(node);
        awaitInitializedAndBound(node);
        assertThat(startupTaints(node)).isEmpty();
        assertThat(registeredBy().summary()).as("the patch that registered the node").doesNotContain(TAINT);
        assertOursRemovedOnceAndNeverBack();
    }

    /**
     * A readiness.k8s.io/ key in the NodePool's startupTaints (the node-readiness-controller component's
     * NodePool), removed by the agent: the NodeClaim is Initialized only after the removal, and the pod
     * that does not tolerate it waits for this node (one NodeClaim).
     */
    @Test
    void readinessKeyInStartupTaints_initializedOnlyAfterTheAgentRemovesIt() throws Exception {
        String node = launch("g", "", "", READINESS_TAINT);
        Agent agent = startAgent(node, "TAINT_KEY", READINESS_KEY);
        release(node);
        await().atMost(WAIT).until(() -> registered().isPresent());
        Thread.sleep(5_000);
        assertThat(startupTaints(node, READINESS_TAINT)).containsExactly(READINESS_TAINT);
        assertThat(initialized()).as("Initialized with the readiness taint on").isEmpty();

        issueCert(node);
        awaitInitializedAndBound(node);
        assertThat(initialized().orElseThrow().millis()).isGreaterThanOrEqualTo(removal(READINESS_TAINT).orElseThrow().millis());
        assertThat(nodeClaims()).as("NodeClaims launched for the one pod").hasSize(1);
        assertThat(agent.state()).isIn(State.SETTLING, State.DONE);
    }

    /**
     * The taint Karpenter is not told about (no startupTaints: NRC adds it, or the kubelet registers with
     * it), with a pod that does not tolerate it pending. A readiness.k8s.io/ key (kubernetes-sigs/karpenter
     * #3025, v1.13): no second node, and not Initialized until it is removed. Another key: what Karpenter
     * does with that is measured by the next case.
     */
    @Test
    void readinessKeyNotInStartupTaints_noSecondNodeAndInitializedOnlyAfterRemoval() throws Exception {
        String node = launch("h", "", "    - {op: remove, path: /spec/template/spec/startupTaints}\n", READINESS_TAINT);
        startAgent(node, "TAINT_KEY", READINESS_KEY);
        release(node);
        await().atMost(WAIT).until(() -> registered().isPresent());
        Thread.sleep(15_000);
        assertThat(startupTaints(node, READINESS_TAINT)).containsExactly(READINESS_TAINT);
        assertThat(initialized()).as("Initialized with the readiness taint on").isEmpty();
        assertThat(nodeClaims()).as("NodeClaims after 15 s with the pod pending").hasSize(1);

        issueCert(node);
        awaitInitializedAndBound(node);
        assertThat(nodeClaims()).hasSize(1);
    }

    /**
     * The same with our default key, not in startupTaints: Karpenter knows nothing of it, so it counts the
     * node as Initialized at registration and, the pod not tolerating the taint, launches another node for
     * it. The reason a taint put on outside startupTaints belongs under readiness.k8s.io/ (docs/install.md).
     */
    @Test
    void ownKeyNotInStartupTaints_initializedAtOnceAndASecondNodeLaunched() throws Exception {
        String node = launch("i", "", "    - {op: remove, path: /spec/template/spec/startupTaints}\n", TAINT);
        release(node);
        await().atMost(WAIT).until(() -> registered().isPresent());
        await().atMost(WAIT).until(() -> initialized().isPresent());
        assertThat(startupTaints(node, TAINT)).as("Initialized with our taint still on").containsExactly(TAINT);
        await().atMost(LAUNCH).until(() -> nodeClaims().size() >= 2);
        timeline.note("a second NodeClaim for the pending pod");
    }

    /** Every NodePool the overlays ship is valid against Karpenter's real v1 CRDs. */
    @ParameterizedTest
    @MethodSource("overlays")
    void overlayNodePoolsPassServerSideDryRun(String overlay) throws Exception {
        String rendered = cp.tool("kustomize", null, "build", OVERLAYS.resolve(overlay).toString());
        List<String> pools = new ArrayList<>();
        for (String doc : rendered.split("(?m)^---\\n")) {
            if (doc.contains("\nkind: NodePool\n")) {
                pools.add(doc);
            }
        }
        assertThat(pools).as("NodePools in %s", overlay).isNotEmpty();
        String out = cp.tool("kubectl", String.join("---\n", pools), "apply", "-f", "-", "--server-side",
                "--dry-run=server", "--field-manager=kscu-test");
        assertThat(out).contains("nodepool.karpenter.sh/").contains("(server dry run)");
    }

    static Stream<String> overlays() throws IOException {
        try (Stream<Path> dirs = Files.list(OVERLAYS)) {
            return dirs.filter(d -> {
                try (Stream<Path> files = Files.list(d)) {
                    return files.anyMatch(f -> read(f).contains("kind: NodePool"));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }).map(d -> d.getFileName().toString()).sorted().toList().stream();
        }
    }

    private static String read(Path f) {
        try {
            return Files.readString(f);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // The steps of a case.

    /**
     * Applies NodePool {@code untaint-<c>}, the {@code karpenter-startup-taints} overlay's with the kwok
     * NodeClass and without the AWS-only requirements, and a pod that only a node of it can take; waits for
     * the Node that Karpenter launches for it and returns its name.
     */
    private String launch(String c, boolean doNotSyncTaints) throws Exception {
        return launch(c, doNotSyncTaints ? ", kscu.test/do-not-sync-taints: \"true\"" : "", "", TAINT);
    }

    /**
     * {@link #launch(String, boolean)} with more template labels, more patches of the NodePool (YAML list
     * entries) and the startup taint the node's kubelet registers with; with READINESS_TAINT the NodePool
     * is rendered with components/node-readiness-controller, which moves its startupTaints to that key.
     */
    private String launch(String c, String moreLabels, String morePatches, String registeredTaint) throws Exception {
        pool = "general-purpose-untaint-" + c;
        timeline = new Timeline(cp)
                .watch("node", "/api/v1/nodes?labelSelector=karpenter.sh%2Fnodepool%3D" + pool, Timeline::node)
                .watch("nodeclaim", "/apis/karpenter.sh/v1/nodeclaims?labelSelector=karpenter.sh%2Fnodepool%3D" + pool,
                        Timeline::nodeClaim)
                .watch("pod", "/api/v1/namespaces/" + KarpenterStack.NAMESPACE + "/pods?fieldSelector=metadata.name%3D"
                        + pool, Timeline::pod);
        boolean readiness = registeredTaint.equals(READINESS_TAINT);
        String labels = "kscu.test/case: " + c + moreLabels + (readiness ? ", kscu.test/readiness-taint: \"true\"" : "");
        String nodePool = cp.render("overlays/karpenter-startup-taints", """
                nameSuffix: -%s
                patches:
                - target: {group: karpenter.sh, kind: NodePool}
                  patch: |-
                    - {op: replace, path: /spec/template/spec/nodeClassRef,
                       value: {group: karpenter.kwok.sh, kind: KWOKNodeClass, name: default}}
                    - {op: test, path: /spec/template/spec/requirements/1/key, value: karpenter.k8s.aws/instance-category}
                    - {op: remove, path: /spec/template/spec/requirements/1}
                    - {op: test, path: /spec/template/spec/requirements/1/key, value: karpenter.k8s.aws/instance-generation}
                    - {op: remove, path: /spec/template/spec/requirements/1}
                    - {op: add, path: /spec/template/metadata, value: {labels: {%s}}}
                %s""".formatted(c, labels, morePatches), readiness ? new String[] {"node-readiness-controller"}
                : new String[0]);
        String doc = Stream.of(nodePool.split("(?m)^---\\n")).filter(d -> d.contains("\nkind: NodePool\n")).findFirst()
                .orElseThrow(() -> new AssertionError("no NodePool in the karpenter-startup-taints overlay"));
        assertThat(doc).contains("name: " + pool);
        if (morePatches.isEmpty()) {
            assertThat(doc).contains("key: " + registeredTaint.substring(0, registeredTaint.indexOf(':')));
        }
        cp.tool("kubectl", doc, "apply", "-f", "-", "--server-side", "--field-manager=kscu-test");
        kube.call("POST", "/api/v1/namespaces/" + KarpenterStack.NAMESPACE + "/pods", """
                {"apiVersion":"v1","kind":"Pod","metadata":{"name":"%s"},
                 "spec":{"nodeSelector":{"kscu.test/case":"%s"},"automountServiceAccountToken":false,
                         "containers":[{"name":"app","image":"registry.k8s.io/pause:3.10",
                                        "resources":{"requests":{"cpu":"100m","memory":"64Mi"}}}]}}"""
                .formatted(pool, c), JSON);
        Timeline.Entry created = await().atMost(LAUNCH).until(() -> timeline.first("node", e -> true).orElse(null),
                e -> e != null);
        String node = created.object().substring("node/".length());
        assertThat(withoutConditionTaints(Timeline.taints(created.json())))
                .as("the Node as created, with what its kubelet would register")
                .containsExactly(UNREGISTERED, registeredTaint);
        return node;
    }

    /**
     * The node's taints without the node lifecycle controller's condition taints
     * ({@code node.kubernetes.io/not-ready} and the like), which come and go on their own.
     */
    private List<String> startupTaints(String node) throws IOException {
        return withoutConditionTaints(kube.taints(node));
    }

    private static List<String> withoutConditionTaints(List<String> taints) {
        return taints.stream().filter(t -> !t.startsWith("node.kubernetes.io/")).toList();
    }

    /** Lets Karpenter register the node. */
    private void release(String node) throws IOException {
        timeline.note("hold on registration released");
        kube.label(node, KarpenterStack.HOLD_LABEL, null);
    }

    /** Writes the node's serving certificate, as the kubelet would once its CSR is signed. */
    private void issueCert(String node) throws IOException {
        timeline.note("serving certificate written");
        agents.issueCert(node);
    }

    private Agent startAgent(String node, String... kv) throws Exception {
        timeline.note("agent started");
        String[] all = new String[kv.length + 2];
        all[0] = "SETTLE_DURATION";
        all[1] = "20s";
        System.arraycopy(kv, 0, all, 2, kv.length);
        return agents.start(agents.settings(node, agentKubeconfig, all));
    }

    /** The distinct NodeClaims of this case's NodePool seen so far. */
    private List<String> nodeClaims() {
        return timeline.of("nodeclaim").stream().map(Timeline.Entry::object).distinct().toList();
    }

    private List<String> startupTaints(String node, String taint) throws IOException {
        return startupTaints(node).stream().filter(t -> t.equals(taint)).toList();
    }

    private Optional<Timeline.Entry> removal(String taint) {
        return timeline.first("node", e -> !e.summary().equals("deleted") && !Timeline.taints(e.json()).contains(taint));
    }

    private void awaitInitializedAndBound(String node) {
        await().atMost(WAIT).until(() -> initialized().isPresent());
        await().atMost(WAIT).until(() -> timeline.first("pod", e -> e.summary().startsWith("node=" + node)).isPresent());
    }

    private Optional<Timeline.Entry> registered() {
        return timeline.first("nodeclaim", e -> e.summary().contains("Registered=True"));
    }

    private Optional<Timeline.Entry> initialized() {
        return timeline.first("nodeclaim", e -> e.summary().contains("Initialized=True"));
    }

    /** Removes ours while karpenter.sh/unregistered is on, as an agent without the gate would. */
    private void bypassTheGate(String node) throws Exception {
        timeline.note("ours removed by the test, before registration");
        List<String> taints = new ArrayList<>(kube.taints(node));
        taints.remove(TAINT);
        kube.setTaints(node, taints.toArray(String[]::new));
        await().atMost(WAIT).until(() -> !kube.taints(node).contains(TAINT));
    }

    /** The first Node state with karpenter.sh/registered: the result of Karpenter's registration patch. */
    private Timeline.Entry registeredBy() {
        return timeline.first("node", e -> e.summary().contains("registered=true")).orElseThrow();
    }

    /** The first Node state without our taint. */
    private Optional<Timeline.Entry> removal() {
        return timeline.first("node", e -> !e.summary().equals("deleted") && !Timeline.taints(e.json()).contains(TAINT));
    }

    private void assertOursNeverGoneWhileUnregistered() {
        for (Timeline.Entry e : timeline.of("node")) {
            List<String> taints = Timeline.taints(e.json());
            assertThat(taints.contains(UNREGISTERED) && !taints.contains(TAINT))
                    .as("ours gone while karpenter.sh/unregistered is on, at %s", e).isFalse();
        }
    }

    private void assertOursRemovedOnceAndNeverBack() {
        List<Timeline.Entry> states = timeline.of("node").stream().filter(e -> !e.summary().equals("deleted")).toList();
        int removed = states.indexOf(removal().orElseThrow());
        for (Timeline.Entry e : states.subList(removed, states.size())) {
            assertThat(Timeline.taints(e.json())).as("after the removal, at %s", e).doesNotContain(TAINT);
        }
    }

    private JsonObject nodeJson(String node) throws IOException {
        return JsonParser.parseString(kube.call("GET", "/api/v1/nodes/" + node, null, null))
                .getAsJsonObject();
    }
}
