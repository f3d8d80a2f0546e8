package io.github.kscu.it;

import static io.github.kscu.it.Agents.OURS;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.kscu.agent.Agent;
import io.github.kscu.report.Reason;
import io.github.kscu.testing.ControlPlane;
import io.github.kscu.testing.ControlPlaneExtension;
import io.github.kscu.testing.Kube;
import io.github.kscu.testing.Scraped;
import java.util.List;
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
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The default install as an attacker sees it: the README's first install command, {@code kubectl apply -k
 * kustomize/overlays/generic} with the kubectl {@code make tools} builds (its embedded kustomize is v5.7.1,
 * as in every kubectl 1.34 and 1.35), on a real apiserver, and the agent's ServiceAccount token is minted
 * bound to a Pod on node A, as the kubelet mints it for the agent's pod. Each forbidden operation is its own test case and must be refused (403, by RBAC
 * or by the admission policy); the one allowed change, removing our taint from node A the way the agent
 * does, is the last but one case, and putting it back is the last; before them the real agent with that
 * token removes it too (and it is put back). The matrix is printed at the end.
 */
@ExtendWith(ControlPlaneExtension.class)
// Its own control plane: the policy refuses node patches by unbound ServiceAccount tokens, which the
// other tests use.
@ControlPlaneExtension.Options
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DefaultInstallAttackIT {

    private static final MediaType JSON = MediaType.get("application/json");
    private static final MediaType JSON_PATCH = MediaType.get("application/json-patch+json");
    private static final MediaType MERGE = MediaType.get("application/merge-patch+json");
    private static final MediaType STRATEGIC = MediaType.get("application/strategic-merge-patch+json");
    private static final MediaType APPLY = MediaType.get("application/apply-patch+yaml");
    private static final String KEEP = "{\"key\":\"keep.io/x\",\"effect\":\"NoSchedule\"}";
    private static final String OUR = "{\"key\":\"" + OURS + "\",\"effect\":\"NoSchedule\"}";
    private static final String NEW = "{\"key\":\"new.io/y\",\"effect\":\"NoSchedule\"}";

    record Row(String operation, int status, String answer) {
    }

    private final ControlPlane cp;
    private final Kube kube;
    private final List<Row> matrix = new CopyOnWriteArrayList<>();
    private OkHttpClient agent;
    private String token;

    DefaultInstallAttackIT(ControlPlane cp) {
        this.cp = cp;
        this.kube = cp.kube();
    }

    @BeforeAll
    void installAndStealTheToken() throws Exception {
        assertThat(cp.tool("kubectl", null, "apply", "-k", "kustomize/overlays/generic"))
                .contains("validatingadmissionpolicybinding.admissionregistration.k8s.io/kubelet-server-cert-untaint");
        kube.createNode("node-a", "keep.io/x:NoSchedule", OURS + ":NoSchedule");
        kube.createNode("node-b", "keep.io/x:NoSchedule", OURS + ":NoSchedule");
        token = kube.podBoundAgentToken("node-a");
        agent = cp.tokenHttp(token);
        assertThat(cp.whoAmI(agent)).contains("system:serviceaccount:kube-system:kubelet-server-cert-untaint")
                .contains("authentication.kubernetes.io/node-name").contains("node-a");
        // Policies take effect a moment after they are created (the apiserver loads them through an
        // informer, the parameter too): wait until a dry run of a forbidden change is refused.
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (send("PATCH", "/api/v1/nodes/node-b?dryRun=All", JSON_PATCH, replaceTaints(KEEP)) != 403
                && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
        while (send("POST", OWN_EVENTS + "?dryRun=All", JSON, Kube.agentEvent("Node", "node-b", "")) != 403
                && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
    }

    @AfterAll
    void printMatrix() throws Exception {
        StringBuilder b = new StringBuilder("attack matrix, kubectl apply -k overlays/generic, "
                + "apiserver " + cp.serverVersion()
                + ", token bound to a pod on node-a:\n");
        for (Row r : matrix) {
            b.append(String.format(Locale.ROOT, "  %-62s %d %s%n", r.operation(), r.status(), r.answer()));
        }
        System.out.println(b);
        // Nothing the refused requests tried took effect.
        assertThat(kube.taints("node-b")).containsExactly("keep.io/x:NoSchedule", OURS + ":NoSchedule");
    }

    /** Every forbidden operation: what it tries, and the request; each is a test case of its own. */
    static Stream<Arguments> forbidden() {
        return Stream.of(
                Arguments.of("node B: remove our taint (the allowed change, wrong node)", "PATCH", "/api/v1/nodes/node-b",
                        JSON_PATCH, replaceTaints(KEEP)),
                Arguments.of("node B: labels", "PATCH", "/api/v1/nodes/node-b",
                        MERGE, "{\"metadata\":{\"labels\":{\"x\":\"y\"}}}"),
                Arguments.of("node B: annotations", "PATCH", "/api/v1/nodes/node-b",
                        MERGE, "{\"metadata\":{\"annotations\":{\"x\":\"y\"}}}"),
                Arguments.of("node B: unschedulable (cordon)", "PATCH", "/api/v1/nodes/node-b",
                        MERGE, "{\"spec\":{\"unschedulable\":true}}"),
                Arguments.of("node A: labels", "PATCH", "/api/v1/nodes/node-a",
                        MERGE, "{\"metadata\":{\"labels\":{\"x\":\"y\"}}}"),
                Arguments.of("node A: annotations", "PATCH", "/api/v1/nodes/node-a",
                        MERGE, "{\"metadata\":{\"annotations\":{\"x\":\"y\"}}}"),
                Arguments.of("node A: unschedulable (cordon)", "PATCH", "/api/v1/nodes/node-a",
                        MERGE, "{\"spec\":{\"unschedulable\":true}}"),
                Arguments.of("node A: podCIDR", "PATCH", "/api/v1/nodes/node-a",
                        MERGE, "{\"spec\":{\"podCIDR\":\"10.9.0.0/24\"}}"),
                Arguments.of("node A: providerID", "PATCH", "/api/v1/nodes/node-a",
                        MERGE, "{\"spec\":{\"providerID\":\"aws:///x\"}}"),
                Arguments.of("node A: add a taint (JSON patch)", "PATCH", "/api/v1/nodes/node-a",
                        JSON_PATCH, replaceTaints(KEEP + "," + OUR + "," + NEW)),
                Arguments.of("node A: remove a foreign taint (JSON patch)", "PATCH", "/api/v1/nodes/node-a",
                        JSON_PATCH, replaceTaints(OUR)),
                Arguments.of("node A: change our taint's effect", "PATCH", "/api/v1/nodes/node-a",
                        JSON_PATCH, replaceTaints(KEEP + "," + OUR.replace("NoSchedule", "NoExecute"))),
                Arguments.of("node A: change our taint's value", "PATCH", "/api/v1/nodes/node-a",
                        JSON_PATCH, replaceTaints(KEEP + "," + OUR.replace("\"effect\"", "\"value\":\"v\",\"effect\""))),
                Arguments.of("node A: add a taint (strategic merge patch)", "PATCH", "/api/v1/nodes/node-a",
                        STRATEGIC, "{\"spec\":{\"taints\":[" + KEEP + "," + OUR + "," + NEW + "]}}"),
                Arguments.of("node A: remove a foreign taint (JSON merge patch)", "PATCH", "/api/v1/nodes/node-a",
                        MERGE, "{\"spec\":{\"taints\":[" + OUR + "]}}"),
                Arguments.of("node A: add a taint (server-side apply)", "PATCH", "/api/v1/nodes/node-a?fieldManager=attacker&force=true",
                        APPLY, "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"node-a\"},\"spec\":{\"taints\":[" + KEEP + "," + OUR + "," + NEW + "]}}"),
                Arguments.of("node A: labels (server-side apply)", "PATCH", "/api/v1/nodes/node-a?fieldManager=attacker&force=true",
                        APPLY, "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"node-a\",\"labels\":{\"x\":\"y\"}}}"),
                Arguments.of("node A: nodes/status", "PATCH", "/api/v1/nodes/node-a/status",
                        MERGE, "{\"status\":{\"capacity\":{\"pods\":\"500\"}}}"),
                Arguments.of("node A: update (PUT) the whole object", "PUT", "/api/v1/nodes/node-a",
                        JSON, "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"node-a\"}}"),
                Arguments.of("create a node", "POST", "/api/v1/nodes",
                        JSON, "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"node-evil\"}}"),
                Arguments.of("delete a node", "DELETE", "/api/v1/nodes/node-b", null, null),
                Arguments.of("list nodes", "GET", "/api/v1/nodes", null, null),
                Arguments.of("read secrets", "GET", "/api/v1/namespaces/kube-system/secrets", null, null),
                Arguments.of("patch a pod", "PATCH", "/api/v1/namespaces/kube-system/pods/agent-node-a",
                        MERGE, "{\"metadata\":{\"labels\":{\"x\":\"y\"}}}"),
                Arguments.of("create a core/v1 Event (the agent posts events.k8s.io)", "POST", "/api/v1/namespaces/default/events",
                        JSON, "{\"apiVersion\":\"v1\",\"kind\":\"Event\",\"metadata\":{\"name\":\"x\"},"
                        + "\"involvedObject\":{\"kind\":\"Node\",\"name\":\"node-b\"}}"),
                Arguments.of("create an Event outside its own namespace", "POST", "/apis/events.k8s.io/v1/namespaces/default/events",
                        JSON, "{\"apiVersion\":\"events.k8s.io/v1\",\"kind\":\"Event\",\"metadata\":{\"name\":\"x.1\"},"
                        + "\"eventTime\":\"2026-12-01T00:00:00.000000Z\",\"reportingController\":\"x\","
                        + "\"reportingInstance\":\"x\",\"action\":\"x\",\"reason\":\"x\",\"type\":\"Normal\","
                        + "\"regarding\":{\"kind\":\"Node\",\"name\":\"node-b\"}}"),
                Arguments.of("delete Events, even in its own namespace", "DELETE", "/apis/events.k8s.io/v1/namespaces/kube-system/events",
                        null, null),
                Arguments.of("an Event about node B, in its own namespace", "POST", OWN_EVENTS, JSON,
                        Kube.agentEvent("Node", "node-b", "")),
                Arguments.of("an Event about a Pod, in its own namespace", "POST", OWN_EVENTS, JSON,
                        Kube.agentEvent("Pod", "agent-node-a", ",\"namespace\":\"kube-system\"")),
                Arguments.of("an Event about node A naming node B as related", "POST", OWN_EVENTS, JSON,
                        Kube.agentEvent("Node", "node-a", "").replace(",\"regarding\"",
                                ",\"related\":{\"kind\":\"Node\",\"name\":\"node-b\"},\"regarding\"")));
    }

    private static final String OWN_EVENTS = "/apis/events.k8s.io/v1/namespaces/kube-system/events";


    @ParameterizedTest(name = "{0}")
    @MethodSource("forbidden")
    void isRefused(String operation, String method, String path, MediaType type, String body) throws Exception {
        denied(operation, method, path, type, body);
    }

    /**
     * The real agent with the stolen token, as the default install runs it: the admission policy check
     * (require) finds the policy in force, the node watch works, and its PATCH removes exactly our taint.
     * The taint is put back afterwards for the cases that follow.
     */
    @Test
    @Order(Integer.MAX_VALUE - 4)
    void theAgentWithThisTokenRemovesOurTaintFromNodeA(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        try (Agents agents = new Agents(dir)) {
            agents.issueCert("node-a");
            Agent a = agents.start(agents.settings("node-a", cp.tokenKubeconfig("node-a-agent", token),
                    "ADMISSION_POLICY_CHECK", "require"));
            assertThat(a.awaitFinished(java.time.Duration.ofSeconds(60))).isTrue();
            assertThat(kube.taints("node-a")).containsExactly("keep.io/x:NoSchedule");
            assertThat(Scraped.outcomes(a.metrics(), Reason.STARTUP_TAINT_REMOVED)).isEqualTo(1);
            assertThat(Scraped.outcomes(a.metrics(), Reason.ADMISSION_POLICY_NOT_ENFORCED)).isZero();
            matrix.add(new Row("ALLOWED the agent (policy check require) on node A", 200, ""));
        }
        kube.setTaints("node-a", "keep.io/x:NoSchedule", OURS + ":NoSchedule");
    }

    /**
     * A policy with a parameter refuses everyone's Node updates while the apiserver's parameter informer
     * is not synced (failurePolicy Fail); ours has none, so right after a restart a node is updated by
     * anyone else at once, and the agent is held as before.
     */
    @Test
    @Order(Integer.MAX_VALUE - 3)
    void rightAfterAnApiserverRestartOthersUpdateNodesAndTheAgentIsStillHeld() throws Exception {
        cp.stopApiserver();
        cp.startApiserver();
        kube.label("node-b", "restart.example.com/seen", "1"); // throws unless 2xx
        kube.label("node-b", "restart.example.com/seen", null);
        denied("node B: labels, right after an apiserver restart", "PATCH", "/api/v1/nodes/node-b", MERGE,
                "{\"metadata\":{\"labels\":{\"x\":\"y\"}}}");
    }

    @Test
    @Order(Integer.MAX_VALUE - 2)
    void allowed_anEventAboutNodeA() throws Exception {
        int status = send("POST", OWN_EVENTS, JSON, Kube.agentEvent("Node", "node-a", ""));
        matrix.add(new Row("ALLOWED an Event about node A, as the agent posts it", status, ""));
        assertThat(status).as("%s", lastAnswer).isEqualTo(201);
    }

    @Test
    @Order(Integer.MAX_VALUE - 1)
    void allowed_removeOurTaintFromNodeA() throws Exception {
        int status = send("PATCH", "/api/v1/nodes/node-a?fieldManager=kubelet-server-cert-untaint", JSON_PATCH,
                "[{\"op\":\"test\",\"path\":\"/spec/taints\",\"value\":[" + KEEP + "," + OUR + "]},"
                        + "{\"op\":\"replace\",\"path\":\"/spec/taints\",\"value\":[" + KEEP + "]}]");
        matrix.add(new Row("ALLOWED node A: remove our taint, as the agent does", status, ""));
        assertThat(status).as("%s", lastAnswer).isEqualTo(200);
        assertThat(kube.taints("node-a")).containsExactly("keep.io/x:NoSchedule");
    }

    @Test
    @Order(Integer.MAX_VALUE)
    void nodeA_reAddOurTaint() throws Exception {
        denied("node A: re-add our taint after it was removed", "PATCH", "/api/v1/nodes/node-a", JSON_PATCH,
                replaceTaints(KEEP + "," + OUR));
        assertThat(kube.taints("node-a")).containsExactly("keep.io/x:NoSchedule");
    }

    private void denied(String operation, String method, String path, MediaType type, String body) throws Exception {
        int status = send(method, path, type, body);
        String why;
        try {
            why = com.google.gson.JsonParser.parseString(lastAnswer).getAsJsonObject().get("message").getAsString()
                    .replaceAll("^.*? failed expression: |^.*?denied request: |^.*?is forbidden: ", "");
        } catch (RuntimeException e) {
            why = lastAnswer;
        }
        matrix.add(new Row(operation, status, why.length() > 90 ? why.substring(0, 90) + "…" : why));
        assertThat(status).as("%s: %s", operation, lastAnswer).isEqualTo(403);
    }

    private static String replaceTaints(String taints) {
        return "[{\"op\":\"replace\",\"path\":\"/spec/taints\",\"value\":[" + taints + "]}]";
    }

    private String lastAnswer = "";

    private int send(String method, String path, MediaType type, String body) throws Exception {
        Request.Builder b = new Request.Builder().url(cp.url() + path)
                .method(method, body == null ? null : RequestBody.create(body, type));
        try (Response r = agent.newCall(b.build()).execute()) {
            lastAnswer = r.body().string();
            return r.code();
        }
    }
}
