package io.github.kscu.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.github.kscu.agent.Agent;
import io.github.kscu.kube.HttpNodeApi;
import io.github.kscu.kube.NodeCondition;
import io.github.kscu.testing.ControlPlane;
import io.github.kscu.testing.ControlPlaneExtension;
import io.github.kscu.testing.Kube;
import io.github.kscu.testing.Scraped;
import java.nio.file.Path;
import java.time.Duration;
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
 * {@code components/node-readiness-controller} as an attacker sees it: {@code kubectl apply -k} of the
 * generic overlay with the component (kustomize v5.7.1 inside kubectl), NRC's CRD installed, and the
 * agent's token bound to a pod on node A. Its one new permission, {@code patch nodes/status}, may set
 * the agent's condition on node A and nothing else: each other change is its own case and must be
 * refused (403). Then the one allowed change, and the real agent with that token, reporter-only, with
 * ADMISSION_POLICY_CHECK=require (both dry runs refused), writing its condition.
 */
@ExtendWith(ControlPlaneExtension.class)
// Its own control plane: the policies refuse node writes by unbound ServiceAccount tokens.
@ControlPlaneExtension.Options
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class NodeConditionAttackIT {
    private static final MediaType MERGE = MediaType.get("application/merge-patch+json");
    private static final MediaType STRATEGIC = MediaType.get("application/strategic-merge-patch+json");
    private static final MediaType JSON_PATCH = MediaType.get("application/json-patch+json");
    private static final MediaType JSON = MediaType.get("application/json");
    private static final String TAINT = "readiness.k8s.io/kubelet-serving-certificate";
    private static final String KUBELET_STATUS = """
            {"status":{"conditions":[
              {"type":"Ready","status":"True","reason":"KubeletReady","message":"kubelet is posting ready status",
               "lastHeartbeatTime":"2026-12-03T10:00:00Z","lastTransitionTime":"2026-12-03T09:00:00Z"}],
             "addresses":[{"type":"InternalIP","address":"127.0.0.1"}],
             "capacity":{"cpu":"2","memory":"4Gi","pods":"110"},
             "allocatable":{"cpu":"2","memory":"4Gi","pods":"110"}}}""";

    record Row(String operation, int status, String answer) {
    }

    private final ControlPlane cp;
    private final Kube kube;
    private final List<Row> matrix = new CopyOnWriteArrayList<>();
    private OkHttpClient agent;
    private String token;
    private String nodeBStatus;

    NodeConditionAttackIT(ControlPlane cp) {
        this.cp = cp;
        this.kube = cp.kube();
    }

    @BeforeAll
    void installAndStealTheToken() throws Exception {
        cp.installNodeReadinessRuleCrd();
        Path k = cp.kustomization("overlays/generic", "", "node-readiness-controller");
        assertThat(cp.tool("kubectl", null, "apply", "-k", k.toString()))
                .contains("validatingadmissionpolicy.admissionregistration.k8s.io/kubelet-server-cert-untaint-condition")
                .contains("nodereadinessrule.readiness.node.x-k8s.io/kubelet-server-cert-untaint");
        for (String n : List.of("node-a", "node-b")) {
            kube.createNode(n, "keep.io/x:NoSchedule", TAINT + ":NoSchedule");
            kube.call("PATCH", "/api/v1/nodes/" + n + "/status", KUBELET_STATUS, MERGE);
        }
        nodeBStatus = status("node-b");
        token = kube.podBoundAgentToken("node-a");
        agent = cp.tokenHttp(token);
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (send("PATCH", "/api/v1/nodes/node-a/status?dryRun=All", STRATEGIC, condition("Ready", "False")) != 403
                && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
    }

    @AfterAll
    void printMatrix() throws Exception {
        StringBuilder b = new StringBuilder("attack matrix, kubectl apply -k overlays/generic"
                + " + components/node-readiness-controller, apiserver " + cp.serverVersion()
                + ", token bound to a pod on node-a:\n");
        for (Row r : matrix) {
            b.append(String.format(Locale.ROOT, "  %-62s %d %s%n", r.operation(), r.status(), r.answer()));
        }
        System.out.println(b);
        assertThat(status("node-b")).as("nothing the refused requests tried took effect").isEqualTo(nodeBStatus);
        assertThat(kube.taints("node-b")).containsExactly("keep.io/x:NoSchedule", TAINT + ":NoSchedule");
    }

    /**
     * What the attacks above ran on, rendered by every kustomize users have (kubectl 1.31 to 1.36, Argo
     * CD, Flux): the same objects, also under a namePrefix, where v5.4.2 once left a binding naming its
     * policy by the old name.
     */
    @Test
    void everyKustomizeUsersHaveRendersTheSameObjects() throws Exception {
        Path plain = cp.kustomization("overlays/generic", "", "node-readiness-controller");
        Path prefixed = cp.kustomization("overlays/generic", "namePrefix: acme-\n", "node-readiness-controller");
        String pinned = cp.tool("kustomize", null, "build", plain.toString());
        for (String[] k : ClientMatrixIT.KUSTOMIZES) {
            assertThat(cp.tool("kustomize-" + k[0], null, "build", plain.toString())).as(k[0] + ", " + k[1])
                    .isEqualTo(pinned);
            assertThat(cp.tool("kustomize-" + k[0], null, "build", prefixed.toString())).as(k[0] + " with a namePrefix")
                    .contains("  policyName: acme-kubelet-server-cert-untaint-condition\n")
                    .contains("  name: acme-kubelet-server-cert-untaint-condition\n");
        }
    }

    /** A strategic merge of one condition into nodes/status, as the agent sends its own. */
    private static String condition(String type, String status) {
        return "{\"status\":{\"conditions\":[{\"type\":\"" + type + "\",\"status\":\"" + status + "\",\"reason\":\"X\","
                + "\"message\":\"x\",\"lastHeartbeatTime\":\"2026-12-03T11:00:00Z\","
                + "\"lastTransitionTime\":\"2026-12-03T11:00:00Z\"}]}}";
    }

    static Stream<Arguments> forbidden() {
        String a = "/api/v1/nodes/node-a/status";
        String b = "/api/v1/nodes/node-b/status";
        return Stream.of(
                Arguments.of("node B: our condition (the allowed change, wrong node)", "PATCH", b, STRATEGIC,
                        condition(NodeCondition.CERT_TYPE, "True")),
                Arguments.of("node B: Ready", "PATCH", b, STRATEGIC, condition("Ready", "False")),
                Arguments.of("node A: Ready (another condition)", "PATCH", a, STRATEGIC, condition("Ready", "False")),
                Arguments.of("node A: a condition of another type (the start-up check's)", "PATCH", a, STRATEGIC,
                        condition(HttpNodeApi.CHECK_CONDITION, "True")),
                Arguments.of("node A: remove the Ready condition", "PATCH", a, JSON_PATCH,
                        "[{\"op\":\"remove\",\"path\":\"/status/conditions/0\"}]"),
                Arguments.of("node A: our condition as Unknown", "PATCH", a, STRATEGIC,
                        condition(NodeCondition.CERT_TYPE, "Unknown")),
                Arguments.of("node A: our condition twice", "PATCH", a, JSON_PATCH,
                        "[{\"op\":\"add\",\"path\":\"/status/conditions/-\",\"value\":{\"type\":\"" + NodeCondition.CERT_TYPE
                                + "\",\"status\":\"True\"}},{\"op\":\"add\",\"path\":\"/status/conditions/-\",\"value\":"
                                + "{\"type\":\"" + NodeCondition.CERT_TYPE + "\",\"status\":\"False\"}}]"),
                Arguments.of("node A: addresses", "PATCH", a, MERGE,
                        "{\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"10.6.6.6\"}]}}"),
                Arguments.of("node A: capacity", "PATCH", a, MERGE, "{\"status\":{\"capacity\":{\"pods\":\"500\"}}}"),
                Arguments.of("node A: allocatable", "PATCH", a, MERGE, "{\"status\":{\"allocatable\":{\"cpu\":\"64\"}}}"),
                Arguments.of("node A: nodeInfo", "PATCH", a, MERGE,
                        "{\"status\":{\"nodeInfo\":{\"kubeletVersion\":\"v9.9.9\"}}}"),
                Arguments.of("node A: labels through nodes/status", "PATCH", a, MERGE,
                        "{\"metadata\":{\"labels\":{\"x\":\"y\"}}}"),
                Arguments.of("node A: our condition and capacity in one patch", "PATCH", a, STRATEGIC,
                        "{\"status\":{\"capacity\":{\"pods\":\"500\"},\"conditions\":[{\"type\":\""
                                + NodeCondition.CERT_TYPE + "\",\"status\":\"True\"}]}}"),
                Arguments.of("node A: update (PUT) the whole status", "PUT", a, JSON,
                        "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"node-a\"},\"status\":{}}"),
                Arguments.of("node A: remove the startup taint (NRC's; no patch nodes in reporter-only)", "PATCH",
                        "/api/v1/nodes/node-a", JSON_PATCH,
                        "[{\"op\":\"replace\",\"path\":\"/spec/taints\",\"value\":[{\"key\":\"keep.io/x\",\"effect\":\"NoSchedule\"}]}]"),
                Arguments.of("change the NodeReadinessRule", "PATCH",
                        "/apis/readiness.node.x-k8s.io/v1alpha1/nodereadinessrules/kubelet-server-cert-untaint", MERGE,
                        "{\"spec\":{\"dryRun\":true}}"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("forbidden")
    void isRefused(String operation, String method, String path, MediaType type, String body) throws Exception {
        int status = send(method, path, type, body);
        String why;
        try {
            why = JsonParser.parseString(lastAnswer).getAsJsonObject().get("message").getAsString()
                    .replaceAll("^.*? failed expression: |^.*?denied request: |^.*?is forbidden: ", "");
        } catch (RuntimeException e) {
            why = lastAnswer;
        }
        matrix.add(new Row(operation, status, why.length() > 90 ? why.substring(0, 90) + "…" : why));
        assertThat(status).as("%s: %s", operation, lastAnswer).isEqualTo(403);
    }

    @Test
    @Order(Integer.MAX_VALUE - 1)
    void allowed_ourConditionOnNodeA() throws Exception {
        int status = send("PATCH", "/api/v1/nodes/node-a/status?fieldManager=kubelet-server-cert-untaint", STRATEGIC,
                condition(NodeCondition.CERT_TYPE, "False"));
        matrix.add(new Row("ALLOWED node A: our condition, as the agent writes it", status, ""));
        assertThat(status).as("%s", lastAnswer).isEqualTo(200);
    }

    @Test
    @Order(Integer.MAX_VALUE)
    void theAgentWithThisTokenReportsItsConditionAndTouchesNoTaint(@org.junit.jupiter.api.io.TempDir Path dir)
            throws Exception {
        try (Agents agents = new Agents(dir)) {
            agents.issueCert("node-a");
            Agent a = agents.start(agents.settings("node-a", cp.tokenKubeconfig("node-a-agent", token),
                    "NODE_CONDITION", "reporter-only", "TAINT_KEY", TAINT, "ADMISSION_POLICY_CHECK", "require"));
            assertThat(a.awaitFinished(Duration.ofSeconds(60))).isTrue();
            JsonObject ours = null;
            for (var e : JsonParser.parseString(status("node-a")).getAsJsonObject().getAsJsonArray("conditions")) {
                if (NodeCondition.CERT_TYPE.equals(e.getAsJsonObject().get("type").getAsString())) {
                    ours = e.getAsJsonObject();
                }
            }
            assertThat(ours).isNotNull();
            assertThat(ours.get("status").getAsString()).isEqualTo("True");
            assertThat(ours.get("reason").getAsString()).isEqualTo("ServingCertificateReady");
            // require: it would still be waiting had either dry run (a label, a foreign condition) been allowed.
            assertThat(Scraped.outcomes(a.metrics(), io.github.kscu.report.Reason.ADMISSION_POLICY_NOT_ENFORCED)).isZero();
            assertThat(kube.taints("node-a")).containsExactly("keep.io/x:NoSchedule", TAINT + ":NoSchedule");
            matrix.add(new Row("ALLOWED the agent (reporter-only, policy check require) on node A", 200, ""));
        }
    }

    private String status(String node) throws Exception {
        return JsonParser.parseString(kube.call("GET", "/api/v1/nodes/" + node, null, null)).getAsJsonObject()
                .getAsJsonObject("status").toString();
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
